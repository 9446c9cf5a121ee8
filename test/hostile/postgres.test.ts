import { describeHostile } from './spec.js';

describeHostile('postgres');
