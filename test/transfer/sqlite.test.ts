import { sqliteInitializer } from '../support/initializers/typeorm.js';
import { describeTransferRules } from './spec.js';

describeTransferRules(sqliteInitializer);
