import { describeContract } from './suite.js';

describeContract('mongodb');
