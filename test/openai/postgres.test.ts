import { describeOpenAi } from './suite.js';

describeOpenAi('postgres');
