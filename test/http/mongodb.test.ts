import { describeHttp } from './suite.js';

describeHttp('mongodb');
