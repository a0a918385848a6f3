/**
 * An outage longer than both feeds of an index watching every project, as an operator has
 * one: `pkgstream once releases` (the built CLI) polls, the service is down while more new
 * projects than the packages feed holds and more releases than the updates feed holds are
 * published, and the next `once releases` records every one of them (the new projects came
 * only from the root listing). A second outage then costs what changed: the backfill reads
 * the projects whose `_last-serial` rose, not every known project.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { PACKAGES_LIMIT, UPDATES_LIMIT } from '../support/index-server/rss.js';

let index: IndexServer;
let database: CliDatabase;
const expected: string[] = [];

beforeAll(async () => {
  index = await startIndexServer();
  database = await createCliDatabase();
});
afterAll(async () => {
  await index?.stop();
  await database?.close();
});

function publish(project: string, version: string): void {
  index.addRelease(project, version);
  expected.push(`${project}==${version}`);
}

const stored = () =>
  database.use(async (pool) =>
    (await pool.query<{ key: string }>(`SELECT project || '==' || version AS key FROM package_version v JOIN package_index i ON i.id = v.index_id WHERE i.simple_url = $1 ORDER BY 1`, [`${index.url}/simple`])).rows.map((row) => row.key),
  );

interface Backfilled {
  basis: string;
  projects: number;
}

async function onceReleases(): Promise<{ backfilled: Backfilled[]; stderr: string }> {
  const result = await runCli(['once', 'releases'], { ...database.env, LOG_LEVEL: 'info' }, 120_000);
  expect(result.code, result.stderr).toBe(0);
  const lines = (result.stdout + result.stderr).split('\n').filter((line) => line.startsWith('{'));
  const backfilled = lines.map((line) => JSON.parse(line) as { msg?: string } & Backfilled).filter((line) => line.msg === 'feed gap backfilled');
  return { backfilled: backfilled.map(({ basis, projects }) => ({ basis, projects })), stderr: result.stderr };
}

describe('an outage longer than the feeds (once releases, watch all)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('finds the new projects past the packages feed from the root listing, then backfills by serial', async () => {
    expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse', '--watch', 'all'], database.env)).code).toBe(0);
    await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
    publish('First.Project', '1.0');
    expect((await onceReleases()).backfilled).toEqual([]);
    expect(await stored()).toEqual(['first-project==1.0']);

    // Down: 50 new projects (the packages feed holds 40), 110 releases (the updates feed holds 100).
    for (let n = 0; n < PACKAGES_LIMIT + 10; n += 1) publish(`new_pkg.${n}`, '1.0');
    for (let n = 1; n <= UPDATES_LIMIT - PACKAGES_LIMIT; n += 1) publish('First.Project', `1.${n}`);
    const listings = index.counters.count('simple-index');
    const first = await onceReleases();
    const canonical = (key: string) => key.replace(/[-_.]+(?=.*==)/g, '-').toLowerCase();
    expect(await stored()).toEqual(expected.map(canonical).sort());
    // Both feeds' gaps: the first backfill reads every listed project, the second only what changed since.
    expect(first.backfilled).toEqual([
      { basis: 'listing', projects: PACKAGES_LIMIT + 11 },
      { basis: 'serials', projects: 0 },
    ]);
    expect(index.counters.count('simple-index') - listings).toBe(2);

    // Down again: a new project overflows the updates feed; one more project is new, one changes.
    for (let n = 0; n <= UPDATES_LIMIT; n += 1) publish('busy', `0.${n}`);
    publish('late', '1.0');
    publish('new_pkg.3', '2.0');
    const pages = index.counters.count('simple-project');
    const second = await onceReleases();
    expect(await stored()).toEqual(expected.map(canonical).sort());
    expect(second.backfilled).toEqual([{ basis: 'serials', projects: 3 }]);
    const read = index.counters.count('simple-project') - pages;
    // 3 by the backfill, then the updates poll's 3 projects and the packages poll's 2 new ones (busy, late).
    expect(read).toBe(8);
    console.info(`[cli/outage] outage 1: ${expected.length - UPDATES_LIMIT - 3} releases recorded, backfills ${JSON.stringify(first.backfilled)}; outage 2: ${JSON.stringify(second.backfilled)}, ${read} page reads for 3 changed of ${PACKAGES_LIMIT + 11} known projects`);
  });
});
