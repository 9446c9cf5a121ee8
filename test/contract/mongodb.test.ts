import { mongodbInitializer } from '../support/initializers/mongodb.js';
import { describeContract } from './suite.js';

describeContract(mongodbInitializer);
