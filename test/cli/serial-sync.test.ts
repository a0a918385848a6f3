/**
 * `pkgstream once sync` as an operator runs it (the built CLI, the local Warehouse-shaped
 * index with serials): the first sync reads every known project (seen) or every listed one
 * (watch all, registering them); the next reads only the projects whose `_last-serial` rose
 * (a new version, a yank) and brings their releases due for a re-check; one over an
 * unchanged index reads the listing and no page at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
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
  it('seen: first every known project, then only what changed (due for a re-check at once), then nothing', async () => {
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
      const due = await database.use(async (pool) =>
        (await pool.query<{ project: string }>(`SELECT DISTINCT project FROM package_version WHERE next_due_at <= now() ORDER BY 1`)).rows.map((row) => row.project),
      );
      // The yank is the update pipeline's to find: charlie is due now, alpha still in 7 days.
      expect(due).toEqual(['bravo', 'charlie']);

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
