/**
 * An isolated, migrated database per test file. With TEST_DATABASE_URL (CI, the server on
 * 127.0.0.1:5432): a fresh schema `t_<random>` on that server, reached through a URL whose
 * `options=-c search_path=...` puts every connection made with it (this process's pool, a
 * child process) into that schema; dropped on close. Without: a fresh embedded PGlite in a
 * temporary directory, removed on close.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrate.js';
import { silentLogger } from '../../src/runtime/logger.js';

export interface TestDatabase {
  /** Connection URL of the isolated database (embedded: valid while it is open). */
  readonly url: string;
  readonly pool: pg.Pool;
  readonly database: Database;
  /** The schema on the real server; null when embedded. */
  readonly schema: string | null;
  readonly embedded: boolean;
  close(): Promise<void>;
}

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

/** `url` with `options=-c search_path=<schema>` (percent-encoded, so libpq reads it too). */
export function withSearchPath(url: string, schema: string): string {
  const [base, query] = url.split('?', 2) as [string, string | undefined];
  const params = (query ?? '').split('&').filter((part) => part !== '' && !part.startsWith('options='));
  params.push(`options=${encodeURIComponent(`-c search_path=${schema}`)}`);
  return `${base}?${params.join('&')}`;
}

export async function createTestDatabase(
  options: { migrate?: boolean; poolMax?: number } = {},
): Promise<TestDatabase> {
  const logger = silentLogger();
  if (TEST_DATABASE_URL) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.end();
    }
    const url = withSearchPath(TEST_DATABASE_URL, schema);
    const database = await openDatabase({
      databaseUrl: url,
      dataDir: tmpdir(),
      logger,
      ...(options.poolMax === undefined ? {} : { poolMax: options.poolMax }),
    });
    try {
      if (options.migrate ?? true) await migrate(database.pool, logger);
    } catch (error) {
      await database.close();
      throw error;
    }
    return {
      url,
      pool: database.pool,
      database,
      schema,
      embedded: false,
      async close() {
        await database.close();
        const drop = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await drop.connect();
        try {
          await drop.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await drop.end();
        }
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'pkgstream-test-db-'));
  const database = await openDatabase({ dataDir, logger });
  try {
    if (options.migrate ?? true) await migrate(database.pool, logger);
  } catch (error) {
    await database.close();
    throw error;
  }
  return {
    url: database.url,
    pool: database.pool,
    database,
    schema: null,
    embedded: true,
    async close() {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
