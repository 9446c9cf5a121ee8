import { memoryInitializer } from '../support/initializers/memory.js';
import { mariadbInitializer, postgresInitializer, sqliteInitializer } from '../support/initializers/typeorm.js';
import { describeTransferPairs } from './spec.js';

describeTransferPairs([memoryInitializer, sqliteInitializer, postgresInitializer, mariadbInitializer]);
