import { memoryInitializer } from '../support/initializers/memory.js';
import { mongodbInitializer } from '../support/initializers/mongodb.js';
import { mariadbInitializer, postgresInitializer, sqliteInitializer } from '../support/initializers/typeorm.js';
import { describeTransferPairs } from './spec.js';

describeTransferPairs([memoryInitializer, sqliteInitializer, postgresInitializer, mariadbInitializer, mongodbInitializer]);
