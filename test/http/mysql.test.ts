import { describeHttp } from './suite.js';

describeHttp('mysql');
