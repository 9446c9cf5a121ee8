import { memoryInitializer } from '../support/initializers/memory.js';
import { describeTransferRules } from './spec.js';

describeTransferRules(memoryInitializer);
