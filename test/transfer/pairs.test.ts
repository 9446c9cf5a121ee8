import { registeredTypes } from '../../database/registry.js';
import { describeTransferPairs } from './spec.js';

// Every registered backend with every other, itself included; one without a server is skipped
// with its reason (or fails the run when TEST_REQUIRE names it).
describeTransferPairs(registeredTypes());
