import { describeHttp } from './suite.js';

describeHttp('mariadb');
