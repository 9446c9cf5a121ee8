import { describeOpenAi } from './suite.js';

describeOpenAi('sqlite');
