import { describeHttp } from './suite.js';

describeHttp('sqlite');
