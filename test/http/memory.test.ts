import { memoryInitializer } from '../support/initializers/memory.js';
import { describeHttp } from './suite.js';

describeHttp(memoryInitializer);
