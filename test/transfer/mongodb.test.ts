import { describeTransferRules } from './spec.js';

describeTransferRules('mongodb');
