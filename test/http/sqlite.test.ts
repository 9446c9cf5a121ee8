import { sqliteInitializer } from '../support/initializers/typeorm.js';
import { describeHttp } from './suite.js';

describeHttp(sqliteInitializer);
