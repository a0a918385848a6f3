/**
 * A fresh, migrated database per case: a schema of its own on the Postgres server of
 * TEST_DATABASE_URL or DATABASE_URL (dropped on close), else an embedded PGlite in a
 * temporary folder, served on loopback so that a child process can reach it by `url`.
 * The seeded https://pypi.org/simple is disabled: the bench talks to local peers only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/connect.js';
import { setIndexEnabled } from '../../src/db/indexes.js';
import { migrate } from '../../src/db/migrate.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { withSearchPath } from '../../test/support/database.js';

export interface BenchDatabase {
  /** Connection URL (embedded: valid while open; the pool there is one connection). */
  readonly url: string;
  readonly pool: pg.Pool;
  readonly database: Database;
  readonly embedded: boolean;
  close(): Promise<void>;
}

export const SERVER_URL = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;

/** 'postgres' or 'pglite', for the results. */
export function databaseKind(): 'postgres' | 'pglite' {
  return SERVER_URL ? 'postgres' : 'pglite';
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const logger = silentLogger();
  if (SERVER_URL) {
    const schema = `bench_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.end();
    }
    const url = withSearchPath(SERVER_URL, schema);
    const database = await openDatabase({ databaseUrl: url, dataDir: tmpdir(), logger, applicationName: 'pkgstream-bench' });
    await migrate(database.pool, logger);
    await setIndexEnabled(database.pool, 'https://pypi.org/simple', false);
    return {
      url,
      pool: database.pool,
      database,
      embedded: false,
      async close() {
        await database.close();
        const drop = new pg.Client({ connectionString: SERVER_URL });
        await drop.connect();
        try {
          await drop.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await drop.end();
        }
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'pkgstream-bench-'));
  const database = await openDatabase({ dataDir, logger, applicationName: 'pkgstream-bench' });
  await migrate(database.pool, logger);
  await setIndexEnabled(database.pool, 'https://pypi.org/simple', false);
  return {
    url: database.url,
    pool: database.pool,
    database,
    embedded: true,
    async close() {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
