import { describeContract } from './suite.js';

describeContract('memory');
