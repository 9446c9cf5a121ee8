import { describeContract } from '../contract/suite.js';
import { mongoInitializer } from '../support/initializers/mongodb.js';
import { startMongoEmulator } from '../support/mongo-emulator/server.js';

/**
 * The contract again, with the emulator presenting itself as a single-node replica set: the
 * adapter then takes its transaction path (withTransaction, retried on write conflicts), which
 * the shared run exercises only when it has a real replica set (TEST_MONGODB_URL or Testcontainers).
 */
describeContract(
  mongoInitializer(
    'mongodb (wire-protocol emulator as replica set rs0, transactions path; not a real MongoDB)',
    async () => {
      const emulator = await startMongoEmulator({ replicaSet: 'rs0' });
      return { url: emulator.url, stop: () => emulator.stop() };
    },
  ),
);
