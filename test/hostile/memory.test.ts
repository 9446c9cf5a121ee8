import { describeHostile } from './spec.js';

describeHostile('memory');
