import { mongodbInitializer } from '../support/initializers/mongodb.js';
import { describeHttp } from './suite.js';

describeHttp(mongodbInitializer);
