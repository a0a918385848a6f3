/**
 * `pkgstream once sync` as an operator runs it (the built CLI, the local Warehouse-shaped
 * index with serials): the first sync reads every known project (seen) or every listed one
 * (watch all, registering them); the next reads only the projects whose `_last-serial` rose
 * (a new version, a yank), each page checked whole (one request a change, no re-check left
 * queued); one over an unchanged index reads the listing and no page at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { killLeftovers, startRunning } from '../support/cli-service.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

let index: IndexServer;
beforeAll(async () => {
  index = await startIndexServer();
});
afterAll(async () => {
  await index?.stop();
});

interface Synced {
  basis: string;
  projects: number;
}

async function onceSync(database: CliDatabase): Promise<Synced[]> {
  const result = await runCli(['once', 'sync'], { ...database.env, LOG_LEVEL: 'info' }, 120_000);
  expect(result.code, result.stderr).toBe(0);
  return (result.stdout + result.stderr)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string } & Synced)
    .filter((line) => line.msg === 'serial sync done')
    .map(({ basis, projects }) => ({ basis, projects }));
}

/** What one `once sync` asked the index: root listings and project pages. */
async function counted(work: () => Promise<Synced[]>): Promise<{ synced: Synced[]; listings: number; pages: number }> {
  const [listings, pages] = [index.counters.count('simple-index'), index.counters.count('simple-project')];
  const synced = await work();
  return { synced, listings: index.counters.count('simple-index') - listings, pages: index.counters.count('simple-project') - pages };
}

describe('once sync', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('seen: first every known project, then only what changed (each page checked whole: one request a change), then nothing', async () => {
    const database = await createCliDatabase();
    try {
      for (const name of ['Alpha.Pkg', 'bravo', 'charlie', 'unwatched']) index.addRelease(name, '1.0');
      const simple = `${index.url}/simple`;
      expect((await runCli(['index', 'add', simple, '--warehouse'], database.env)).code).toBe(0);
      await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
      for (const name of ['alpha_pkg', 'bravo', 'charlie']) expect((await runCli(['package', 'add', name, '--index', simple], database.env)).code).toBe(0);

      expect(await counted(() => onceSync(database))).toEqual({ synced: [{ basis: 'known projects', projects: 3 }], listings: 1, pages: 3 });
      const versions = () =>
        database.use(async (pool) => (await pool.query<{ key: string }>(`SELECT project || '==' || version AS key FROM package_version ORDER BY 1`)).rows.map((row) => row.key));
      expect(await versions()).toEqual(['alpha-pkg==1.0', 'bravo==1.0', 'charlie==1.0']);

      index.addRelease('bravo', '1.1');
      index.yank('charlie', '1.0', 'broken');
      index.addRelease('unwatched', '2.0');
      await database.use((pool) => pool.query(`UPDATE package_version SET next_due_at = now() + interval '7 days'`));
      expect(await counted(() => onceSync(database))).toEqual({ synced: [{ basis: 'serials', projects: 2 }], listings: 1, pages: 2 });
      expect(await versions()).toEqual(['alpha-pkg==1.0', 'bravo==1.0', 'bravo==1.1', 'charlie==1.0']);
      // One request a changed project: the sync checked each page whole, so the yank is reported
      // by it (not by a re-check it queues), and nothing is left due or queued.
      const events = async (kind: string) =>
        (JSON.parse((await runCli(['events', '--kind', kind, '--json'], database.env)).stdout) as { project: string; version: string }[]).map((e) => `${e.project}==${e.version}`);
      expect(await events('package-yanked')).toEqual(['charlie==1.0']);
      expect((await events('package-released')).sort()).toEqual(['alpha-pkg==1.0', 'bravo==1.0', 'bravo==1.1', 'charlie==1.0']);
      const waiting = await database.use(async (pool) =>
        (await pool.query<{ project: string }>(`SELECT DISTINCT project FROM package_version WHERE next_due_at <= now() OR recheck_queued_at IS NOT NULL ORDER BY 1`)).rows.map((row) => row.project),
      );
      expect(waiting).toEqual([]);
      expect(await counted(async () => ((await runCli(['once', 'update'], database.env)).code === 0 ? [] : [{ basis: 'failed', projects: 0 }]))).toEqual({ synced: [], listings: 0, pages: 0 });

      expect(await counted(() => onceSync(database))).toEqual({ synced: [{ basis: 'serials', projects: 0 }], listings: 1, pages: 0 });
    } finally {
      await database.close();
    }
  });

  it('watch all: the first sync registers every listed project with its releases', async () => {
    const database = await createCliDatabase();
    try {
      expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse', '--watch', 'all'], database.env)).code).toBe(0);
      await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
      const listed = (await (await fetch(`${index.url}/simple/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as { projects: unknown[] };
      const first = await counted(() => onceSync(database));
      expect(first.synced).toEqual([{ basis: 'listing', projects: listed.projects.length }]);
      const projects = await database.use(async (pool) => (await pool.query(`SELECT DISTINCT project FROM package_version`)).rowCount);
      expect(projects).toBe(listed.projects.length);
      console.info(`[cli/sync] watch all: ${first.listings} listing read, ${first.pages} pages, ${projects} projects registered`);
    } finally {
      await database.close();
    }
  });
});

describe('once sync: a project deleted on the index', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('is gone from the listing: the sync checks its page, reports missing-package once, and does not ask again', async () => {
    const database = await createCliDatabase();
    try {
      const simple = `${index.url}/simple`;
      for (const name of ['Doomed.Pkg', 'kept_pkg']) index.addRelease(name, '1.0');
      expect((await runCli(['index', 'add', simple, '--warehouse'], database.env)).code).toBe(0);
      await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
      for (const name of ['doomed-pkg', 'kept-pkg']) expect((await runCli(['package', 'add', name, '--index', simple], database.env)).code).toBe(0);
      await onceSync(database);
      await database.use((pool) => pool.query(`UPDATE package_version SET next_due_at = now() + interval '7 days'`));

      index.removeProject('Doomed.Pkg');
      let sync = { code: -1 as number | null, stderr: '' };
      const pages = await counted(async () => ((sync = await runCli(['once', 'sync'], { ...database.env, LOG_LEVEL: 'info' })), []));
      expect(sync.code, sync.stderr).toBe(0);
      expect(pages).toEqual({ synced: [], listings: 1, pages: 1 }); // the deleted project's 404, nothing else
      const gone = sync.stderr.split('\n').filter((line) => line.includes('projects gone from the root listing')).map((line) => JSON.parse(line) as { projects: number; first: string[] });
      expect(gone.map(({ projects, first }) => ({ projects, first }))).toEqual([{ projects: 1, first: ['doomed-pkg'] }]);
      const missing = async () => JSON.parse((await runCli(['events', '--kind', 'missing-package', '--json'], database.env)).stdout) as { project: string }[];
      expect((await missing()).map((e) => e.project)).toEqual(['doomed-pkg']);
      const states = await database.use(async (pool) => (await pool.query<{ v: string }>(`SELECT project || ' ' || state AS v FROM package_version ORDER BY 1`)).rows.map((r) => r.v));
      expect(states).toEqual(['doomed-pkg missing', 'kept-pkg present']);

      // The next sync knows it is reported: no request for it, nothing new.
      expect(await counted(() => onceSync(database))).toEqual({ synced: [{ basis: 'serials', projects: 0 }], listings: 1, pages: 0 });
      expect((await runCli(['once', 'update'], database.env)).code).toBe(0);
      expect((await missing()).map((e) => e.project)).toEqual(['doomed-pkg']);
    } finally {
      await database.close();
    }
  });
});

/** The running service's events of one kind as `project==version`; the API answers 503 until it has started: none yet. */
async function serviceEvents(base: string, kind: string): Promise<string[]> {
  const response = await fetch(`${base}/api/v1/events?kind=${kind}&limit=500`);
  if (response.status === 503) return [];
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: { project: string; version: string }[] }).items.map((e) => `${e.project}==${e.version}`);
}

/** `run` with the releases and update pipelines, polling every second and syncing every 2 s. */
const runSyncing = (database: CliDatabase) =>
  startRunning(['run'], {
    ...database.env,
    LOG_LEVEL: 'info',
    PKGSTREAM_HTTP_PORT: '0',
    PKGSTREAM_PIPELINES: 'releases,update',
    PKGSTREAM_POLL_INTERVAL: '1',
    PKGSTREAM_SYNC_INTERVAL: '2',
  });

describe('run syncs by serial every PKGSTREAM_SYNC_INTERVAL', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  afterAll(killLeftovers);

  it('a yank, which no feed announces, is reported within a sync (not the 7-day re-check)', async () => {
    const database = await createCliDatabase();
    try {
      const simple = `${index.url}/simple`;
      for (const name of ['delta', 'echo']) index.addRelease(name, '1.0');
      expect((await runCli(['index', 'add', simple, '--warehouse'], database.env)).code).toBe(0);
      await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
      for (const name of ['delta', 'echo']) expect((await runCli(['package', 'add', name, '--index', simple], database.env)).code).toBe(0);
      const service = runSyncing(database);
      const base = await service.base();
      const events = (kind: string) => serviceEvents(base, kind);
      await until('both releases recorded', async () => (await events('package-released')).length === 2, 60_000);
      // The first sync reads the known projects and stores the listing's serial; the next ones read what rose.
      await service.log((line) => line.msg === 'serial sync done' && line.basis === 'known projects');
      await service.log((line) => line.msg === 'update pass complete');
      const yankedAt = Date.now();
      index.yank('echo', '1.0', 'broken build');
      const synced = await service.log((line) => line.msg === 'serial sync done' && line.basis === 'serials' && line.projects === 1);
      await until('the yank reported', async () => (await events('package-yanked')).includes('echo==1.0'), 90_000);
      const seconds = (Date.now() - yankedAt) / 1000;
      expect(await events('package-yanked')).toEqual(['echo==1.0']);
      expect((await service.terminate()).code).toBe(0);
      console.info(`[cli/sync] run: yank reported ${seconds.toFixed(1)} s after it was made (sync: ${JSON.stringify(synced)})`);
    } finally {
      await database.close();
    }
  });

  it('an index without feeds is synced too: a new project of a watch-all index, and a yank, are found', async () => {
    const database = await createCliDatabase();
    try {
      const simple = `${index.url}/simple`;
      index.addRelease('golf', '1.0');
      // No --warehouse: no feeds to poll, only the root listing and its serials.
      expect((await runCli(['index', 'add', simple, '--watch', 'all'], database.env)).code).toBe(0);
      await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
      const service = runSyncing(database);
      const base = await service.base();
      // The first sync runs at the start and registers every listed project.
      await until('golf registered by the first sync', async () => (await serviceEvents(base, 'package-released')).includes('golf==1.0'), 60_000);
      const changedAt = Date.now();
      index.addRelease('Hotel.Pkg', '1.0');
      index.yank('golf', '1.0', 'broken build');
      await until(
        'the new project and the yank reported',
        async () => (await serviceEvents(base, 'package-released')).includes('hotel-pkg==1.0') && (await serviceEvents(base, 'package-yanked')).includes('golf==1.0'),
        90_000,
      );
      const seconds = (Date.now() - changedAt) / 1000;
      const synced = await service.log((line) => line.msg === 'serial sync done' && line.basis === 'serials' && typeof line.projects === 'number' && line.projects >= 1);
      expect((await serviceEvents(base, 'package-yanked')).filter((e) => e === 'golf==1.0')).toHaveLength(1);
      expect((await service.terminate()).code).toBe(0);
      console.info(`[cli/sync] run, index without feeds: new project and yank reported ${seconds.toFixed(1)} s after they were made (sync: ${JSON.stringify(synced)})`);
    } finally {
      await database.close();
    }
  });
});
