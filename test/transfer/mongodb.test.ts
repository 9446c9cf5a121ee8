import { mongodbInitializer } from '../support/initializers/mongodb.js';
import { describeTransferRules } from './spec.js';

describeTransferRules(mongodbInitializer);
