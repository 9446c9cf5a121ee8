import { describeHostile } from './spec.js';

describeHostile('mariadb');
