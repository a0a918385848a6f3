import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadMigrations, migrate } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => db?.close());

describe('migrate', () => {
  it('reads the numbered SQL files next to the module, in order', async () => {
    const migrations = await loadMigrations();
    const names = migrations.map((migration) => migration.name);
    expect(names[0]).toMatch(/^0001_/);
    expect(names).toEqual([...names].sort());
    expect(names.length).toBeGreaterThanOrEqual(2);
  });

  it('applies every migration once, even when two runs race', async () => {
    const all = (await loadMigrations()).map((migration) => migration.name);
    // Two pools (two "processes") against the same database at once; on embedded PGlite
    // the second shares the one connection and simply waits.
    const other = db.embedded ? db.pool : new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      const [first, second] = await Promise.all([migrate(db.pool), migrate(other)]);
      expect([...first.applied, ...second.applied].sort()).toEqual(all);
      expect(first.applied.length === 0 || second.applied.length === 0).toBe(true);
    } finally {
      if (other !== db.pool) await other.end();
    }
    const { rows } = await db.pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    expect(rows.map((row) => row.name)).toEqual(all);
  });

  it('is a no-op the second time', async () => {
    expect(await migrate(db.pool)).toEqual({ applied: [] });
  });

  it('seeds pypi.org as a warehouse index watching seen projects', async () => {
    const { rows } = await db.pool.query(
      'SELECT simple_url, json_api_url, rss_url, verify_tls, enabled, watch_mode FROM package_index',
    );
    expect(rows).toEqual([
      {
        simple_url: 'https://pypi.org/simple',
        json_api_url: 'https://pypi.org/pypi',
        rss_url: 'https://pypi.org/rss',
        verify_tls: true,
        enabled: true,
        watch_mode: 'seen',
      },
    ]);
  });

  it('rolls a failing migration back whole and records nothing of it', async () => {
    const bad = [{ name: '9001_bad', sql: 'CREATE TABLE half_done (a int); SELECT no_such_function();' }];
    await expect(migrate(db.pool, undefined, { migrations: bad })).rejects.toThrow(/9001_bad/);
    const { rows } = await db.pool.query(
      "SELECT (SELECT count(*)::int FROM schema_migrations WHERE name = '9001_bad') AS recorded, to_regclass('half_done') IS NULL AS gone",
    );
    expect(rows[0]).toEqual({ recorded: 0, gone: true });
    // The pool (one connection when embedded) is still usable: the lock was released.
    expect(await migrate(db.pool, undefined, { migrations: [{ name: '9002_ok', sql: 'SELECT 1' }] })).toEqual({
      applied: ['9002_ok'],
    });
  });

  it('keeps each table the pipelines need, with its constraints', async () => {
    const { rows } = await db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
    );
    expect(rows.map((row) => row.table_name)).toEqual(
      expect.arrayContaining([
        'artifact',
        'attention',
        'feed_checkpoint',
        'package_index',
        'package_project',
        'package_version',
        'schema_migrations',
        'solver_run',
      ]),
    );
    await expect(
      db.pool.query("INSERT INTO package_index (simple_url, watch_mode) VALUES ('https://x.test/simple', 'some')"),
    ).rejects.toThrow(/check/i);
  });
});
