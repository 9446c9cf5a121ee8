import { describeHostile } from './spec.js';

describeHostile('mysql');
