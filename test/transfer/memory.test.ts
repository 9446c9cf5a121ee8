import { describeTransferRules } from './spec.js';

describeTransferRules('memory');
