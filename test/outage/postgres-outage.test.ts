import pg from 'pg';
import { describeOutage } from './outage.js';

/**
 * The outage on PostgreSQL: a database of the test's own that stops accepting connections
 * (ALTER DATABASE … ALLOW_CONNECTIONS false) and whose sessions are terminated, from an admin
 * connection to the server's maintenance database. The server keeps running for everyone else.
 */
describeOutage({
  kind: 'postgres',
  databaseType: 'postgres',
  idleErrorLog: /idle PostgreSQL connection failed/,
  async create(serverUrl, name) {
    const admin = new pg.Client({ connectionString: serverUrl });
    admin.on('error', () => undefined); // a failure shows up on the next query
    await admin.connect();
    const terminate = () =>
      admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } catch (error) {
      await admin.end();
      throw error;
    }
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async cut() {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
        await terminate();
      },
      async restore() {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      },
      async drop() {
        try {
          await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
          await terminate();
          await admin.query(`DROP DATABASE IF EXISTS ${name}`);
        } finally {
          await admin.end();
        }
      },
    };
  },
});
