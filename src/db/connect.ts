/**
 * One way to reach Postgres for the whole service: a `pg` Pool, either to the server named
 * by a URL, or to an embedded PGlite served on a random loopback port through
 * pglite-socket, so that exactly the same pg code runs on both.
 *
 * PGlite is one backend: through pglite-socket it serves one connection at a time, so the
 * embedded pool has max 1 and no caller may hold a connection while waiting on another.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from '../runtime/logger.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { redactUrl } from '../runtime/redact.js';

export { redactUrl };

export interface Database {
  readonly pool: pg.Pool;
  /** True when this is an embedded PGlite (pool of one connection). */
  readonly embedded: boolean;
  /** The connection URL with any password replaced by `***`: safe to log. */
  readonly url: string;
  /** The embedded data directory's exclusive lock; null on a server (which needs none). */
  readonly lock: DataDirLock | null;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** A `postgres://` URL; without it, an embedded PGlite under `<dataDir>/pgdata`. */
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
  readonly logger: Logger;
  /** Pool size on a real server (default 10); embedded is always 1. */
  readonly poolMax?: number;
  /** `application_name` the connections report (default `pkgstream`). */
  readonly applicationName?: string;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openServer(options, options.databaseUrl) : openEmbedded(options);
}

function watchPool(pool: pg.Pool, logger: Logger): void {
  // An idle client whose backend goes away (restart, pg_terminate_backend) emits 'error'
  // on the pool; without a listener that would crash the process. The pool drops it.
  pool.on('error', (error) => {
    logger.warn({ err: error }, 'idle database connection lost');
  });
}

async function openServer(options: OpenDatabaseOptions, databaseUrl: string): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolMax ?? 10,
    application_name: options.applicationName ?? 'pkgstream',
  });
  watchPool(pool, options.logger);
  return databaseOver(pool, null, redactUrl(databaseUrl));
}

async function openEmbedded(options: OpenDatabaseOptions): Promise<Database> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  const dataDir = join(options.dataDir, 'pgdata');
  mkdirSync(dataDir, { recursive: true });
  // Before PGlite opens a file: a second process on the same files would lose its writes.
  const lock = acquireDataDirLock(options.dataDir);
  const db = await PGlite.create(dataDir).catch((error: unknown) => {
    lock.release();
    throw error;
  });
  // A few sockets are accepted so that a reconnect racing the close of the previous socket
  // is not refused; the pool itself never opens more than one.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    lock.release();
    throw error;
  }
  const conn = server.getServerConn();
  const url = `postgres://postgres@${conn}/postgres`;
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    // Keep the one connection: closing and reopening it on PGlite gains nothing.
    idleTimeoutMillis: 0,
    application_name: options.applicationName ?? 'pkgstream',
  });
  watchPool(pool, options.logger);
  options.logger.debug({ dataDir, url }, 'embedded PGlite listening');
  return databaseOver(pool, lock, url, async () => {
    try {
      await server.stop();
    } finally {
      await db.close();
      lock.release();
    }
  });
}

/** The Database over a pool: `close` (once, however often called) ends the pool, then `closeRest`. */
function databaseOver(pool: pg.Pool, lock: DataDirLock | null, url: string, closeRest: () => Promise<void> = async () => {}): Database {
  let closed = false;
  return {
    pool,
    embedded: lock !== null,
    url,
    lock,
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await pool.end();
      } finally {
        await closeRest();
      }
    },
  };
}
