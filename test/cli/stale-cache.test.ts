/**
 * A lagging cache in front of the index (a CDN, a mirror), as an operator meets it: the serial
 * sync learns from the root listing that a project changed (its `_last-serial` rose) and asks
 * for its page, but the cache answers with the project's old page (older `X-PyPI-Last-Serial`,
 * without the new version). Taken as the truth, that page would hide the new release (and a
 * re-check would report it `missing-version`); it is a stale page, asked again with backoff
 * (`INDEX_STALE_PAGE`), and after the retries an attention item and a queued re-check, never
 * an event. The built CLI, the index peer, the database of the CLI tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

const PEP691 = 'application/vnd.pypi.simple.v1+json';
let index: IndexServer;
beforeAll(async () => {
  index = await startIndexServer();
});
afterAll(async () => index?.stop());

/** A project synced at 1.0; then 1.1 is released, and `stale()` is the page a cache kept of 1.0. */
async function setUp(project: string): Promise<{ database: CliDatabase; stale: () => { body: string; serial: string } }> {
  const database = await createCliDatabase();
  const simple = `${index.url}/simple`;
  index.addRelease(project, '1.0');
  expect((await runCli(['index', 'add', simple, '--warehouse'], database.env)).code).toBe(0);
  await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
  expect((await runCli(['package', 'add', project, '--index', simple], database.env)).code).toBe(0);
  expect((await runCli(['once', 'sync'], database.env)).code).toBe(0);
  // What the cache keeps serving: the page as it is now, with its serial.
  const answer = await fetch(`${simple}/${project.replace(/[._]/g, '-')}/`, { headers: { accept: PEP691 } });
  const old = { body: await answer.text(), serial: answer.headers.get('x-pypi-last-serial') ?? '' };
  expect(old.serial).toMatch(/^\d+$/);
  index.addRelease(project, '1.1');
  return { database, stale: () => old };
}

const eventsOf = async (database: CliDatabase, project: string) =>
  (JSON.parse((await runCli(['events', '--project', project, '--json'], database.env)).stdout) as { kind: string; version?: string }[]).map((e) => `${e.kind} ${e.version ?? ''}`.trim()).sort();

const pagesAsked = (work: () => Promise<unknown>) => async () => {
  const before = index.counters.count('simple-project');
  await work();
  return index.counters.count('simple-project') - before;
};

describe('a lagging cache in front of the index', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('a page below the serial the listing promised is asked again; the fresh one is checked; each release announced once', async () => {
    const { database, stale } = await setUp('lagging.cache_pkg');
    try {
      expect(await eventsOf(database, 'lagging-cache-pkg')).toEqual(['package-released 1.0']);
      const old = stale();
      index.inject({ kind: 'body', body: old.body, contentType: PEP691, headers: { 'x-pypi-last-serial': old.serial, etag: '"cached"' } }, { times: 2, routes: ['simple-project'] });
      let sync: { code: number | null; stderr: string } = { code: -1, stderr: '' };
      const asked = await pagesAsked(async () => (sync = await runCli(['once', 'sync'], { ...database.env, LOG_LEVEL: 'info' })))();
      expect(sync.code, sync.stderr).toBe(0);
      // Two stale answers, then the fresh page: 1.1 recorded, nothing reported missing.
      expect(asked).toBe(3);
      expect(await eventsOf(database, 'lagging-cache-pkg')).toEqual(['package-released 1.0', 'package-released 1.1']);
      const states = await database.use(async (pool) => (await pool.query<{ v: string }>(`SELECT version || ' ' || state AS v FROM package_version ORDER BY 1`)).rows.map((r) => r.v));
      expect(states).toEqual(['1.0 present', '1.1 present']);
      console.info(`[cli/stale-cache] ${asked} page requests for one sync behind a cache serving serial ${old.serial}: 2 stale (retried), 1 fresh; events ${JSON.stringify(await eventsOf(database, 'lagging-cache-pkg'))}`);
    } finally {
      await database.close();
    }
  });

  it('a cache that stays stale through every retry leaves an attention item naming it and a queued re-check, and no event', async () => {
    const { database, stale } = await setUp('still.stale');
    try {
      const old = stale();
      index.inject({ kind: 'body', body: old.body, contentType: PEP691, headers: { 'x-pypi-last-serial': old.serial } }, { times: 100, routes: ['simple-project'] });
      const sync = await runCli(['once', 'sync'], database.env);
      index.clearFaults();
      expect(sync.code, sync.stderr).toBe(0);
      expect(await eventsOf(database, 'still-stale')).toEqual(['package-released 1.0']);
      const attention = await database.use(async (pool) => (await pool.query<{ error_code: string; error_message: string }>('SELECT error_code, error_message FROM attention WHERE resolved_at IS NULL')).rows);
      expect(attention).toHaveLength(1);
      expect(attention[0]?.error_code).toBe('INDEX_STALE_PAGE');
      expect(attention[0]?.error_message).toContain(`page at serial ${old.serial}, below the`);
      // The queued re-check asks again once the cache has caught up: 1.1 is found then.
      const asked = await pagesAsked(async () => expect((await runCli(['once', 'update'], database.env)).code).toBe(0))();
      expect(asked).toBe(1);
      expect(await eventsOf(database, 'still-stale')).toEqual(['package-released 1.0', 'package-released 1.1']);
    } finally {
      await database.close();
    }
  });
});
