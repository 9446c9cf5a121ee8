import { describeHostile } from './spec.js';

describeHostile('mongodb');
