import { describeTransferRules } from './spec.js';

describeTransferRules('sqlite');
