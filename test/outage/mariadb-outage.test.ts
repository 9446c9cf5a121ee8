import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { describeOutage } from './outage.js';

/**
 * The outage on MariaDB: a database and a user of the test's own; the cut locks that account
 * (ALTER USER … ACCOUNT LOCK refuses its new connections) and kills its open connections. No other
 * user or database on the server is touched.
 */
describeOutage({
  kind: 'mariadb',
  databaseType: 'mariadb',
  async create(serverUrl, name) {
    const admin = await mysql.createConnection(serverUrl);
    admin.on('error', () => undefined); // a failure shows up on the next query
    const account = `'${name}'@'%'`;
    const password = randomBytes(12).toString('hex');
    const killAll = async () => {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        'SELECT id FROM information_schema.PROCESSLIST WHERE user = ?',
        [name],
      );
      for (const { id } of rows) {
        // 1094: the connection ended on its own meanwhile.
        await admin.query(`KILL CONNECTION ${Number(id)}`).catch((error: { errno?: number }) => {
          if (error.errno !== 1094) throw error;
        });
      }
    };
    const drop = async () => {
      await admin.query(`DROP USER IF EXISTS ${account}`);
      await killAll();
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    };
    try {
      await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      await admin.query(`CREATE USER ${account} IDENTIFIED BY '${password}'`);
      await admin.query(`GRANT ALL PRIVILEGES ON ${name}.* TO ${account}`);
    } catch (error) {
      await drop().finally(() => admin.end());
      throw error;
    }
    const url = new URL(serverUrl);
    url.username = name;
    url.password = password;
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async cut() {
        await admin.query(`ALTER USER ${account} ACCOUNT LOCK`);
        await killAll();
      },
      async restore() {
        await admin.query(`ALTER USER ${account} ACCOUNT UNLOCK`);
      },
      async drop() {
        await drop().finally(() => admin.end());
      },
    };
  },
});
