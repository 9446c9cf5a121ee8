import { describeHostile } from './spec.js';

describeHostile('sqlite');
