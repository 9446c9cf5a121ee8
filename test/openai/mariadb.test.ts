import { describeOpenAi } from './suite.js';

describeOpenAi('mariadb');
