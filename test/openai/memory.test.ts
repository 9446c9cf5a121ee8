import { describeOpenAi } from './suite.js';

describeOpenAi('memory');
