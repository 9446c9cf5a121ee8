import { describeOpenAi } from './suite.js';

describeOpenAi('mongodb');
