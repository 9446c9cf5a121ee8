import mysql from 'mysql2/promise';
import { sqlL1, type SqlConn, type SqlDriver } from './sql.js';
import type { L1Db } from './types.js';

/** Rows per multi-row INSERT: well under MariaDB's default 16 MB max_allowed_packet. */
const ROWS_PER_INSERT = 2000;

function conn(target: mysql.Pool | mysql.PoolConnection): SqlConn {
  return {
    rows: async (text, params) => (await target.query(text, params))[0] as Record<string, unknown>[],
    exec: async (text, params) => ((await target.query(text, params))[0] as mysql.ResultSetHeader).affectedRows,
  };
}

/**
 * L1 on mysql2 for MySQL and MariaDB, connected as the adapter is (UTC, utf8mb4_bin), with the
 * same text-protocol queries TypeORM sends.
 */
export async function openMysql(kind: 'mysql' | 'mariadb', url: string, poolSize: number): Promise<L1Db> {
  const u = new URL(url);
  const pool = mysql.createPool({
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    connectionLimit: poolSize,
    connectTimeout: 5000,
    timezone: 'Z',
    charset: 'UTF8MB4_BIN',
    dateStrings: false,
  });
  await pool.query('SELECT 1');
  const driver: SqlDriver = {
    kind,
    placeholders: (text) => text,
    time: (d) => d,
    timeParam: 'CAST(? AS DATETIME(3))',
    greatest: (a, b) => `GREATEST(${a}, ${b})`,
    read: conn(pool),
    async tx(work) {
      const c = await pool.getConnection();
      try {
        await c.query('START TRANSACTION');
        const result = await work(conn(c));
        await c.query('COMMIT');
        return result;
      } catch (error) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        c.release();
      }
    },
    async insertMany(table, columns, rows) {
      const c = await pool.getConnection();
      try {
        // Our own freshly migrated database, filled in key order: skip the per-row checks.
        await c.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          await c.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ?`, [rows.slice(i, i + ROWS_PER_INSERT)]);
        }
      } finally {
        await c.query('SET SESSION foreign_key_checks = 1, unique_checks = 1').catch(() => undefined);
        c.release();
      }
    },
    close: () => pool.end(),
  };
  return sqlL1(driver);
}
