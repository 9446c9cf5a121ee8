import { memoryInitializer } from '../support/initializers/memory.js';
import { describeContract } from './suite.js';

describeContract(memoryInitializer);
