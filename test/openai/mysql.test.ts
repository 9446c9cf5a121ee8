import { describeOpenAi } from './suite.js';

describeOpenAi('mysql');
