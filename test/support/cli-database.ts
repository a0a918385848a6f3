/**
 * A database for CLI child processes: the isolated schema on the real server when
 * TEST_DATABASE_URL is set, else an embedded data dir. `use` opens it from the test (for
 * the embedded one only between CLI runs, since PGlite serves one process at a time).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { migrate, openDatabase } from '../../src/db/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface CliDatabase {
  /** DATABASE_URL or PKGSTREAM_DATA_DIR for the child. */
  readonly env: NodeJS.ProcessEnv;
  use<T>(work: (pool: pg.Pool) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function createCliDatabase(): Promise<CliDatabase> {
  let server: TestDatabase | undefined;
  if (process.env.TEST_DATABASE_URL) server = await createTestDatabase();
  const dataDir = server ? undefined : mkdtempSync(join(tmpdir(), 'pkgstream-cli-data-'));
  return {
    env: server ? { DATABASE_URL: server.url } : { PKGSTREAM_DATA_DIR: dataDir },
    async use(work) {
      if (server) return work(server.pool);
      const database = await openDatabase({ dataDir: dataDir ?? '', logger: silentLogger() });
      try {
        await migrate(database.pool);
        return await work(database.pool);
      } finally {
        await database.close();
      }
    },
    close: async () => server?.close(),
  };
}
