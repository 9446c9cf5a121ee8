import pg from 'pg';
import { sqlL1, type SqlConn, type SqlDriver } from './sql.js';
import type { L1Db } from './types.js';

const numbered = (text: string) => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};

function conn(client: pg.Pool | pg.PoolClient): SqlConn {
  return {
    rows: async (text, params) => (await client.query(text, params)).rows,
    exec: async (text, params) => (await client.query(text, params)).rowCount ?? 0,
  };
}

/** L1 on node-postgres: a pool of `poolSize` like the adapter's, unnamed parameterized statements. */
export async function openPostgres(url: string, poolSize: number): Promise<L1Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    application_name: 'polystore-bench-l1',
  });
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  const columnTypes = new Map<string, Map<string, string>>();
  const driver: SqlDriver = {
    kind: 'postgres',
    placeholders: numbered,
    time: (d) => d,
    timeParam: 'CAST(? AS timestamptz)',
    greatest: (a, b) => `GREATEST(${a}, ${b})`,
    read: conn(pool),
    async tx(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(conn(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async insertMany(table, columns, rows) {
      // One array parameter per column, spread back into rows by unnest(): a single statement of
      // any size, far cheaper to bind than one parameter per value.
      let types = columnTypes.get(table);
      if (!types) {
        const found = await pool.query<{ column_name: string; udt_name: string }>(
          'SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
          [table],
        );
        types = new Map(found.rows.map((r) => [r.column_name, r.udt_name]));
        columnTypes.set(table, types);
      }
      const arrays = columns.map((_, c) => rows.map((r) => r[c]));
      const unnest = columns.map((name, c) => `$${c + 1}::${types!.get(name)}[]`).join(', ');
      await pool.query(`INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM unnest(${unnest})`, arrays);
    },
    close: () => pool.end(),
  };
  return sqlL1(driver);
}
