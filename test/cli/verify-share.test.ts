/**
 * PKGSTREAM_VERIFY_SHARE as an operator sees it under `run`: the gauge of one verification
 * cycle per index host (projects / (rate × share)) and the warning when that is longer than
 * PKGSTREAM_RECHECK_INTERVAL. The built CLI, the index peer, the CLI tests' database.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { killLeftovers, startRunning } from '../support/cli-service.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { sample } from '../support/metrics-text.js';

let index: IndexServer;
let database: CliDatabase;
beforeAll(async () => {
  index = await startIndexServer();
  database = await createCliDatabase();
  const simple = `${index.url}/simple`;
  expect((await runCli(['index', 'add', simple, '--warehouse'], database.env)).code).toBe(0);
  await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
  for (const name of ['one', 'two', 'three']) {
    index.addRelease(name, '1.0');
    expect((await runCli(['package', 'add', name, '--index', simple], database.env)).code).toBe(0);
  }
});
afterEach(() => killLeftovers());
afterAll(async () => {
  await database?.close();
  await index?.stop();
});

describe('run: what PKGSTREAM_VERIFY_SHARE buys', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('3 projects at 1/s and a share of 0.5: a 6 s cycle, over a 2 s interval, is a gauge and one warning', async () => {
    const env = { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_PIPELINES: 'update', PKGSTREAM_RATE_LIMIT: '1', PKGSTREAM_VERIFY_SHARE: '0.5', PKGSTREAM_RECHECK_INTERVAL: '2' };
    const service = startRunning(['run'], env);
    const host = `127.0.0.1:${index.port}`;
    const warning = await service.log((line) => String(line.msg).startsWith('verification cycle longer than PKGSTREAM_RECHECK_INTERVAL'));
    expect(warning).toMatchObject({ index: host, projects: 3, cycleSeconds: 6, rate: 1, share: 0.5, recheckIntervalSeconds: 2 });
    let cycle: number | undefined;
    await until('the gauge', async () => (cycle = sample(await service.metrics(), 'pkgstream_verification_cycle_seconds', { index: host })) !== undefined);
    expect(cycle).toBe(6);
    expect((await service.terminate()).code).toBe(0);
  });
});
