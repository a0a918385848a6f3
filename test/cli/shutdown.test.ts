/**
 * SIGTERM where it used to go wrong (issue 11 item 10): during `run`'s start-up (the
 * embedded database opening, or a database that is down and retried) it exits 0 and
 * starts nothing after `stopped`; `once dispatch` at full solver capacity says what it
 * waits for (every PKGSTREAM_PROGRESS_INTERVAL, at least once a minute), gives up after
 * `--max-wait` (default: the shutdown grace × 10), and on SIGTERM drains and exits 0.
 * With a slow body in flight (issue 12 item 28), `run` exits 0 within grace + 5 s and the
 * abandoned work is done by the next start; a stop while dispatch logs Jobs or retries a
 * refused store write logs nothing at level 50 (issue 12 item 31b).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addIndex, addProject, setIndexEnabled } from '../../src/db/index.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import { freePort } from '../deploy/support-live.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { killLeftovers, startRunning, type LogLine, type RunningCli } from '../support/cli-service.js';
import { startIndexServer } from '../support/index-server/index.js';
import { startKubeApi, type KubeApi } from '../support/kube-api/index.js';

afterEach(killLeftovers);

const message = (line: LogLine) => (typeof line.msg === 'string' ? line.msg : '');

/** What came after `stopped`, and whether any pipeline or update pass ever started. */
function afterStopped(service: RunningCli): { after: string[]; started: boolean } {
  const lines = service.logs();
  const stopped = lines.findIndex((line) => line.msg === 'stopped');
  expect(stopped).toBeGreaterThanOrEqual(0);
  return {
    after: lines.slice(stopped + 1).map(message),
    started: lines.some((line) => line.msg === 'pipeline started' || message(line).startsWith('update pass') || line.msg === 'pkgstream running'),
  };
}

describe('SIGTERM during `run` start-up', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('while the embedded database opens: exit 0, no pipeline started, nothing after `stopped`', async () => {
    const service = startRunning(['run'], { PKGSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'pkgstream-term-')), PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'info' });
    await service.base();
    expect((await service.readyz()).body.startup).toBe('opening the database');
    expect(await service.terminate()).toEqual({ code: 0, signal: null });
    expect(afterStopped(service)).toEqual({ after: [], started: false });
  });

  it('while a database that is down is retried: exit 0, no pipeline started, nothing after `stopped`', async () => {
    const url = `postgres://pkgstream@127.0.0.1:${await freePort()}/pkgstream`;
    const service = startRunning(['run'], { DATABASE_URL: url, PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'info' });
    await service.log((line) => message(line).includes('is not reachable'));
    const signalled = Date.now();
    expect(await service.terminate()).toEqual({ code: 0, signal: null });
    // Not after the next retry: the back-off sleep ends with the signal.
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(afterStopped(service)).toEqual({ after: [], started: false });
  });
});

describe('`once dispatch` at full solver capacity', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const NAMESPACE = 'full';
  let kube: KubeApi;
  let database: CliDatabase;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    kube = await startKubeApi({ namespace: NAMESPACE });
    database = await createCliDatabase();
    await database.use(async (pool) => {
      const index = await addIndex(pool, { simpleUrl: 'https://full.example.test/simple' });
      const store = createPackageStore(pool);
      for (const project of ['alpha', 'bravo', 'charlie']) await store.recordReleases(index, project, [{ version: '1.0', files: [] }]);
    });
    // Capacity 1 and Jobs that never finish (the test plays no controller): the first Job
    // takes the one slot, the other releases wait for it.
    env = { ...database.env, KUBECONFIG: kube.kubeConfigFile(), PKGSTREAM_NAMESPACE: NAMESPACE, PKGSTREAM_SOLVERS: 'solver-a', PKGSTREAM_SOLVER_CAPACITY: '1', PKGSTREAM_PROGRESS_INTERVAL: '1', LOG_LEVEL: 'info' };
  }, 60_000);
  afterAll(async () => {
    await kube?.stop();
    await database?.close();
  });

  it('says what it waits for at every progress interval, and on SIGTERM drains and exits 0 (not 143)', async () => {
    const service = startRunning(['once', 'dispatch'], env);
    const isWaiting = (line: LogLine) => message(line).startsWith('once dispatch: waiting');
    await until('two waiting lines', () => service.logs().filter(isWaiting).length >= 2, 90_000);
    expect(kube.jobs(NAMESPACE)).toHaveLength(1);
    const waiting = service.logs().filter(isWaiting);
    for (const line of waiting) expect(message(line)).toContain('solver capacity: 1 of 1 Jobs active');
    expect(await service.terminate()).toEqual({ code: 0, signal: null });
    expect(service.logs().some((line) => message(line).startsWith('once dispatch: stopped by signal after finishing the work in flight'))).toBe(true);
    console.info(`[cli/shutdown] once dispatch at capacity: "${message(waiting[0]!)}" (${waiting.length} lines), SIGTERM: exit 0`);
  });

  it('gives up after --max-wait, by default the shutdown grace × 10, naming what it waited for', async () => {
    const byDefault = await runCli(['once', 'dispatch'], { ...env, PKGSTREAM_SHUTDOWN_GRACE: '0.2' });
    expect(byDefault.code).toBe(1);
    expect(byDefault.stderr).toMatch(/once dispatch: gave up after 2 s without progress \(--max-wait\), waiting for solver capacity: 1 of 1 Jobs active/);
    const flagged = await runCli(['once', 'dispatch', '--max-wait', '1.5'], env);
    expect(flagged.code).toBe(1);
    expect(flagged.stderr).toContain('once dispatch: gave up after 1.5 s without progress');
    expect(kube.jobs(NAMESPACE)).toHaveLength(1);
  });
});

describe('SIGTERM with a slow body in flight', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const GRACE_S = 2;
  it(`exits 0 within grace (${String(GRACE_S)} s) + 5 s, says the grace is over, and the next start does the abandoned check`, async () => {
    const index = await startIndexServer();
    const database = await createCliDatabase();
    try {
      index.addRelease('slow', '1.0');
      await database.use(async (pool) => {
        await setIndexEnabled(pool, 'https://pypi.org/simple', false);
        const added = await addIndex(pool, { simpleUrl: `${index.url}/simple` });
        await addProject(pool, { project: 'slow', indexUrl: added.simpleUrl });
        await createPackageStore(pool).recordReleases(added, 'slow', [{ version: '1.0', files: [] }]);
        await pool.query(`UPDATE package_version SET next_due_at = now() - interval '1 hour'`);
      });
      const dueRelease = () => database.use(async (pool) => (await pool.query(`SELECT 1 FROM package_version WHERE next_due_at <= now()`)).rowCount);
      expect(await dueRelease()).toBe(1);
      // The project page drips a byte a second: the re-check would take minutes, and the
      // request timeout (10 min) does not end it first.
      index.inject({ kind: 'drip', chunkBytes: 1, intervalMs: 1_000 }, { routes: ['simple-project'], projects: ['slow'], times: 1 });
      const env = { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_PIPELINES: 'update', PKGSTREAM_REQUEST_TIMEOUT: '600', PKGSTREAM_SHUTDOWN_GRACE: String(GRACE_S) };
      const service = startRunning(['run'], env);
      await until('the slow page asked for', () => index.requests.some((request) => request.path.startsWith('/simple/slow/')), 60_000);
      const signalled = Date.now();
      expect(await service.terminate()).toEqual({ code: 0, signal: null });
      const exitMs = Date.now() - signalled;
      expect(exitMs).toBeLessThan((GRACE_S + 5) * 1_000);
      expect(service.logs().some((line) => message(line).startsWith('grace period over'))).toBe(true);
      expect(service.logs().filter((line) => Number(line.level) >= 50).map(message)).toEqual([]);
      // The abandoned request is not taken for an index outage.
      expect(service.logs().filter((line) => message(line).startsWith('dependency index:')).map(message)).toEqual([`dependency index:127.0.0.1:${String(index.port)} up`]);
      // Nothing was recorded for the abandoned check: it is still due, and the next start does it.
      expect(await dueRelease()).toBe(1);
      expect((await runCli(['once', 'update'], env)).code).toBe(0);
      expect(await dueRelease()).toBe(0);
      console.info(`[cli/shutdown] slow body in flight: SIGTERM to exit ${String(exitMs)} ms (grace ${String(GRACE_S)} s), the next start checked it`);
    } finally {
      await index.stop();
      await database.close();
    }
  });
});

describe('SIGTERM while every pipeline runs and dispatch logs Jobs', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('exits 0 with no line at level 50 or above (no EmptyError: no elements in sequence)', async () => {
    const database = await createCliDatabase();
    try {
      await database.use(async (pool) => {
        const index = await addIndex(pool, { simpleUrl: 'https://stopping.example.test/simple' });
        const store = createPackageStore(pool);
        for (let n = 0; n < 50; n++) await store.recordReleases(index, `stop-${String(n)}`, [{ version: '1.0', files: [] }]);
      });
      const service = startRunning(['run'], { ...database.env, PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'info', PKGSTREAM_SOLVER_CAPACITY: '1' });
      await service.log((line) => message(line).includes('would create solver Job'));
      expect(await service.terminate()).toEqual({ code: 0, signal: null });
      const errors = service.logs().filter((line) => Number(line.level) >= 50);
      expect(errors.map(message)).toEqual([]);
      expect(service.stderr()).not.toContain('EmptyError');
    } finally {
      await database.close();
    }
  });
});

describe('SIGTERM while dispatch retries a refused store write', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('exits 0 with no line at level 50 or above (the stopped retry is a stop, not an EmptyError)', async () => {
    const NAMESPACE = 'refused';
    const kube = await startKubeApi({ namespace: NAMESPACE });
    const database = await createCliDatabase();
    try {
      await database.use(async (pool) => {
        const index = await addIndex(pool, { simpleUrl: 'https://refused.example.test/simple' });
        await createPackageStore(pool).recordReleases(index, 'refused', [{ version: '1.0', files: [] }]);
        // Every solver run write fails as a retriable conflict, so the Job's bookkeeping is retried with backoff.
        await pool.query(`CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'solver_run writes refused by the test' USING ERRCODE = 'serialization_failure'; END $$`);
        await pool.query('CREATE TRIGGER refuse_solver_run BEFORE INSERT OR UPDATE ON solver_run FOR EACH ROW EXECUTE FUNCTION refuse_write()');
      });
      const service = startRunning(['run'], { ...database.env, PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'info', PKGSTREAM_PIPELINES: 'dispatch', KUBECONFIG: kube.kubeConfigFile(), PKGSTREAM_NAMESPACE: NAMESPACE });
      // The stop comes during the retries (they take seconds): the write never went to attention.
      await until('the Job created', () => kube.jobs(NAMESPACE).length >= 1, 60_000);
      expect(await service.terminate()).toEqual({ code: 0, signal: null });
      expect(service.logs().filter((line) => Number(line.level) >= 50).map(message)).toEqual([]);
      expect(service.stderr()).not.toContain('EmptyError');
      expect(service.logs().some((line) => message(line).startsWith('dispatch item to attention'))).toBe(false);
    } finally {
      await kube.stop();
      await database.close();
    }
  });
});
