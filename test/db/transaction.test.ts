/**
 * A transaction whose connection the server drops (a restart, a failover) must fail that
 * transaction, not the process: a checked-out pg client has no pool listener for its 'error'
 * event, and an 'error' nobody listens to is an uncaught exception (before the fix, `run`
 * exited with "uncaught error: Connection terminated unexpectedly" when its database went
 * away, seen in test/cli/health-startup). The real server: only it can drop a connection.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/sql.js';
import { TEST_DATABASE_URL } from '../support/database.js';

describe.skipIf(!TEST_DATABASE_URL)('withTransaction on a connection the server drops', () => {
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  pool.on('error', () => undefined); // idle clients: the pool's own concern
  afterAll(() => pool.end());

  it('rejects the transaction, drops the client, and the pool serves the next query', async () => {
    const killer = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await killer.connect();
    try {
      const transaction = withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        // Between two statements, as a transaction waiting on other work is.
        const ended = new Promise((resolve) => client.once('end', resolve));
        await killer.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
        await ended;
        await client.query('SELECT 1');
      });
      await expect(transaction).rejects.toThrow(/connection error|terminated/i);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await killer.end();
    }
  });
});
