/**
 * With no Kubernetes configuration the dispatch pipeline only logs the Jobs it would
 * create. A logged Job never appears on a watch, so it must not hold a capacity slot: once
 * it held one for the confirm timeout (60 s), so only `capacity` lines came a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIndex } from '../../src/db/index.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';

const RELEASES = 20;
let database: CliDatabase;

beforeAll(async () => {
  database = await createCliDatabase();
  await database.use(async (pool) => {
    const index = await addIndex(pool, { simpleUrl: 'https://dry-run.example.test/simple' });
    const store = createPackageStore(pool);
    for (let n = 0; n < RELEASES; n++) await store.recordReleases(index, `pkg-${n}`, [{ version: '1.0', files: [] }]);
  });
}, 60_000);
afterAll(async () => database?.close());

describe('pkgstream once dispatch without a cluster', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('logs every Job it would create at once: a logged Job holds no capacity slot', async () => {
    // Capacity 1: with a slot held 60 s per logged Job, 20 Jobs took 19 minutes.
    const started = performance.now();
    const { code, stderr } = await runCli(['once', 'dispatch'], { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_SOLVER_CAPACITY: '1' }, 120_000);
    const seconds = (performance.now() - started) / 1000;
    expect(code, stderr).toBe(0);
    const logged = stderr.split('\n').filter((line) => line.includes('would create solver Job'));
    expect(logged).toHaveLength(RELEASES);
    console.info(`[cli/dispatch-dry-run] ${logged.length} Jobs logged at capacity 1 in ${seconds.toFixed(1)} s`);
  });
});
