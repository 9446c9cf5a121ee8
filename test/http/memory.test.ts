import { describeHttp } from './suite.js';

describeHttp('memory');
