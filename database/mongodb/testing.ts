import { MongoClient } from 'mongodb';
import type { ServerOptions, TestKit } from '../../src/repositories/backend.js';

/**
 * What the test harness needs from the MongoDB backend: a database per store on a server, and a
 * single-node replica set in a container (so transactions are exercised). Loaded only by tests.
 */

let counter = 0;

/** A fresh database name per store: process id, a counter and a random suffix. */
export function uniqueDatabaseName(): string {
  return `polystore_test_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
}

/** The connection string with its database (path) replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error('not a mongodb:// connection string');
  return `${match[1]}/${encodeURIComponent(database)}${match[3] ?? ''}`;
}

export const mongoTestConfig = (url: string): { type: 'mongodb' } & ServerOptions => ({
  type: 'mongodb',
  url,
  poolSize: 10,
  connectTimeoutMs: 5000,
  statementTimeoutMs: 15_000,
  tls: 'disable',
  tlsCaFile: undefined,
});

export const mongoTestKit: TestKit<{ type: 'mongodb' } & ServerOptions> = {
  async startContainer(image) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(image)
      .withCommand(['--replSet', 'rs0', '--bind_ip_all'])
      .withExposedPorts(27017)
      .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
      .start();
    const initiate =
      "rs.initiate({_id:'rs0',members:[{_id:0,host:'127.0.0.1:27017'}]}); while (!db.hello().isWritablePrimary) sleep(100);";
    const init = await container.exec(['mongosh', '--quiet', '--eval', initiate]);
    if (init.exitCode !== 0) {
      await container.stop();
      throw new Error(`replica-set initiation failed: ${init.output}`);
    }
    const url = `mongodb://${container.getHost()}:${container.getMappedPort(27017)}/?directConnection=true`;
    return { url, stop: () => container.stop() };
  },
  async connect(serverUrl) {
    const admin = new MongoClient(serverUrl!, { serverSelectionTimeoutMS: 5000 });
    await admin.connect();
    return {
      async create() {
        const database = uniqueDatabaseName();
        const drop = async () => void (await admin.db(database).dropDatabase());
        return { config: mongoTestConfig(withDatabase(serverUrl!, database)), drop };
      },
      close: () => admin.close(),
    };
  },
};
