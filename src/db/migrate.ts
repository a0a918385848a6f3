/**
 * Schema migrations: plain numbered SQL files (`0001_name.sql`, ...) applied in order, each
 * in its own transaction, recorded in `schema_migrations`.
 *
 * Safe to run twice and from several processes at once: the whole run holds a session
 * advisory lock (a fixed key, per schema) on ONE connection, and every statement of the run
 * goes through that same connection, so it also works on an embedded pool of one.
 */
import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import { PkgstreamError } from '../domain/errors.js';
import type { Logger } from '../runtime/logger.js';
import { holdClient } from './sql.js';

/** Fixed first half of the advisory lock key ("pkgs" in ASCII); the second is the schema. */
export const MIGRATION_LOCK_KEY = 0x706b6773;

const FILE_NAME = /^(\d{4,})_[a-z0-9_-]+\.sql$/;

export interface Migration {
  /** The file name without `.sql`, e.g. `0001_initial`: the id recorded. */
  readonly name: string;
  readonly sql: string;
}

/** The folder of the SQL files, next to this module (src/db/migrations, dist/db/migrations). */
export const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/** The migrations in `dir`, in order of their number. */
export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => FILE_NAME.test(name)).sort();
  const seen = new Set<string>();
  const migrations: Migration[] = [];
  for (const file of names) {
    const number = FILE_NAME.exec(file)?.[1] ?? '';
    // programming error: the migrations shipped are numbered once each.
    if (seen.has(number)) throw new Error(`two migrations numbered ${number} in ${dir.pathname}`);
    seen.add(number);
    migrations.push({ name: file.slice(0, -'.sql'.length), sql: await readFile(new URL(file, dir), 'utf8') });
  }
  return migrations;
}

export async function migrate(
  pool: pg.Pool,
  logger?: Logger,
  options: { migrations?: readonly Migration[] } = {},
): Promise<{ applied: string[] }> {
  const migrations = options.migrations ?? (await loadMigrations());
  const client = await pool.connect();
  let broken = false;
  const release = holdClient(client);
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext(current_schema()))', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        name text PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Set(
        (await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((row) => row.name),
      );
      const applied: string[] = [];
      for (const migration of migrations) {
        if (done.has(migration.name)) continue;
        const started = Date.now();
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [migration.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new PkgstreamError('DB_MIGRATION_FAILED', `migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(migration.name);
        logger?.info({ migration: migration.name, ms: Date.now() - started }, 'migration applied');
      }
      if (applied.length === 0) logger?.debug('schema up to date');
      return { applied };
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1, hashtext(current_schema()))', [MIGRATION_LOCK_KEY])
        .catch((error: unknown) => {
          // A session lock dies with its connection: drop the connection rather than reuse it.
          broken = true;
          logger?.warn({ err: error }, 'could not release the migration lock');
        });
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    release(broken);
  }
}
