import { describeHttp } from './suite.js';

describeHttp('postgres');
