import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrate.js';
import { addProject, isKnownProject } from '../../src/db/projects.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { TEST_DATABASE_URL } from '../support/database.js';

const logger = silentLogger();

describe('openDatabase', () => {
  it.runIf(TEST_DATABASE_URL)('opens a pool on a server URL and redacts its password', async () => {
    const url = new URL(TEST_DATABASE_URL ?? '');
    url.password = 'not-needed-with-trust-auth';
    const database = await openDatabase({ databaseUrl: url.toString(), dataDir: tmpdir(), logger, poolMax: 3 });
    try {
      expect(database.embedded).toBe(false);
      expect(database.url).toContain(':***@');
      expect(database.url).not.toContain('not-needed');
      expect(database.pool.options.max).toBe(3);
      await database.ping();
    } finally {
      await database.close();
      await database.close();
    }
  });

  it.runIf(!TEST_DATABASE_URL)(
    'serves an embedded PGlite under <dataDir>/pgdata on loopback, one connection, and keeps its data',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'pkgstream-connect-'));
      try {
        const first = await openDatabase({ dataDir, logger });
        try {
          expect(first.embedded).toBe(true);
          expect(first.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
          expect(first.pool.options.max).toBe(1);
          await first.ping();
          await migrate(first.pool);
          expect(await addProject(first.pool, { indexUrl: 'https://pypi.org/simple', project: 'Kept' })).toBe('added');
        } finally {
          await first.close();
        }
        const second = await openDatabase({ dataDir, logger });
        try {
          expect(await migrate(second.pool)).toEqual({ applied: [] });
          expect(await isKnownProject(second.pool, 'kept')).toBe(true);
        } finally {
          await second.close();
          await second.close();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});
