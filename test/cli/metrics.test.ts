/**
 * `/metrics` of a running service as Prometheus sees it: it passes `promtool check metrics`
 * (no lint), and the stage series of every pipeline exist at 0 before any work, then rise
 * as a release flows through releases (feed, page, record) and dispatch (a logged Job).
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addProject, setIndexEnabled } from '../../src/db/index.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, exitOf, runCli, startCli, waitForLog } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { sample } from '../support/metrics-text.js';
import { run, runsWith } from '../support/tools.js';

let index: IndexServer;
let database: CliDatabase;
let child: ChildProcess | undefined;

beforeAll(async () => {
  index = await startIndexServer();
  database = await createCliDatabase();
  index.addProject('alpha');
  expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse'], database.env)).code).toBe(0);
  await database.use(async (pool) => {
    await setIndexEnabled(pool, 'https://pypi.org/simple', false);
    await addProject(pool, { project: 'alpha', indexUrl: `${index.url}/simple` });
  });
}, 120_000);
afterAll(async () => {
  child?.kill('SIGKILL');
  await index?.stop();
  await database?.close();
});

const STAGES = { releases: ['fetch', 'record'], update: ['fetch', 'apply'], dispatch: ['schedule', 'record', 'finished', 'released'] };

describe('pkgstream run: /metrics', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it.skipIf(!runsWith('promtool'))('passes promtool check metrics, with every stage series at 0 before work and rising as a release flows', async () => {
    child = startCli(['run'], { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_POLL_INTERVAL: '0.5' });
    const [listening] = await Promise.all([
      waitForLog(child, (line) => line.msg === 'http server listening', 60_000),
      waitForLog(child, (line) => line.msg === 'pkgstream running', 60_000),
    ]);
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${String(listening.port)}/metrics`)).text();

    const before = await scrape();
    const lint = run('promtool', ['check', 'metrics'], { input: before });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout + lint.stderr).toBe('');
    for (const [pipeline, stages] of Object.entries(STAGES)) {
      for (const stage of stages) {
        for (const outcome of ['in', 'ok', 'failed']) expect(sample(before, 'pkgstream_stage_items_total', { pipeline, stage, outcome }), `${pipeline}/${stage}/${outcome}`).toBe(0);
        expect(sample(before, 'pkgstream_stage_duration_seconds_count', { pipeline, stage, outcome: 'failed' }), `${pipeline}/${stage}`).toBe(0);
      }
    }

    index.addRelease('alpha', '1.0');
    let after = '';
    await until('the release through releases and dispatch', async () => {
      after = await scrape();
      return (sample(after, 'pkgstream_stage_items_total', { pipeline: 'dispatch', stage: 'record', outcome: 'ok' }) ?? 0) > 0;
    }, 60_000);
    for (const [pipeline, stage] of [['releases', 'fetch'], ['releases', 'record'], ['dispatch', 'schedule'], ['dispatch', 'record']] as const) {
      expect(sample(after, 'pkgstream_stage_items_total', { pipeline, stage, outcome: 'ok' }), `${pipeline}/${stage}`).toBeGreaterThan(0);
      expect(sample(after, 'pkgstream_stage_duration_seconds_count', { pipeline, stage, outcome: 'ok' }), `${pipeline}/${stage}`).toBeGreaterThan(0);
    }
    const afterLint = run('promtool', ['check', 'metrics'], { input: after });
    expect(afterLint.status, afterLint.stdout + afterLint.stderr).toBe(0);
    console.info(`[cli/metrics] promtool check metrics: clean before and after; releases/fetch ok ${sample(after, 'pkgstream_stage_items_total', { pipeline: 'releases', stage: 'fetch', outcome: 'ok' })}, dispatch/schedule ok ${sample(after, 'pkgstream_stage_items_total', { pipeline: 'dispatch', stage: 'schedule', outcome: 'ok' })}`);
    child.kill('SIGTERM');
    expect((await exitOf(child)).code).toBe(0);
  });
});
