/** Small helpers every query module shares. */
import type pg from 'pg';
import { isConnectionError } from './retry.js';

/** Something to run a query on: the pool, or a client checked out for a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

/**
 * Runs `fn` in a transaction on one client checked out of the pool. `fn` must use only the
 * client it is given: on an embedded pool of one, a `pool.query` inside would wait forever.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  const release = holdClient(client);
  try {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    }
  } catch (error) {
    if (isConnectionError(error)) broken = true;
    throw error;
  } finally {
    release(broken);
  }
}

/**
 * A checked-out client has no pool listener for its 'error' event, and pg emits one when the
 * server drops the connection (a restart, a failover), even while a query is in flight: unheard,
 * it is an uncaught exception that ends the process. Heard here, the query in flight (or the
 * next) rejects and the client is released broken. The returned function releases it
 * (broken also when the caller says so).
 */
export function holdClient(client: pg.PoolClient): (broken: boolean) => void {
  let lost = false;
  const listener = () => {
    lost = true;
  };
  client.on('error', listener);
  return (broken) => {
    client.off('error', listener);
    client.release(broken || lost);
  };
}

/** bigint / bigserial columns arrive as strings; ids stay far below 2^53. */
export function toId(value: string | number): number {
  return typeof value === 'number' ? value : Number(value);
}
