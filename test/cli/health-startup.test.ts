/**
 * Health that tells the truth (issue 11 items 6-9, 11, 14), by running `pkgstream run` as
 * a user does and asking it over HTTP: /readyz is 503 until start-up is done and lists
 * each dependency and pipeline; an index that cannot be reached and a Kubernetes API that
 * refuses show as down in the body and in `pkgstream_dependency_up`; releases with only
 * feedless indexes waits instead of crash-looping; a database that is down at start is
 * retried (not ready, named in every line, never its password) until it comes up;
 * expected failures are one line, the stack only at debug; a fresh database says what it
 * watches and how to add projects.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addIndex, addProject, setIndexEnabled } from '../../src/db/index.js';
import { freePort } from '../deploy/support-live.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { killLeftovers, startRunning, type LogLine } from '../support/cli-service.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { kubeconfigYaml } from '../support/kube-api/kubeconfig.js';
import { sample } from '../support/metrics-text.js';

const PASSWORD = 'pw-Secr3t-91x';
const PIPELINES = ['dispatch', 'releases', 'update'];

afterEach(killLeftovers);

const message = (line: LogLine) => (typeof line.msg === 'string' ? line.msg : '');
/** Lines that carry a stack trace (in an `err` field or as text). */
const withStack = (stderr: string) => stderr.split('\n').filter((line) => line.includes('"stack"') || /^\s+at /.test(line));

describe('pkgstream run: health at start-up', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  // Items 6 and 14: what a first `npm start` does, on the embedded database.
  it('on a fresh embedded database: /readyz 503 naming every dependency and pipeline until start-up is done, then 200; the first lines say what is watched and how to add projects', async () => {
    const service = startRunning(['run'], { PKGSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'pkgstream-fresh-')), PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'info' });
    const answers: Awaited<ReturnType<typeof service.readyz>>[] = [];
    let unanswered = 0;
    await until('/readyz 200', async () => {
      // Opening PGlite blocks the event loop for seconds: a kept-alive connection may be
      // reset meanwhile. That is no answer, not a 200.
      const answer = await service.readyz().catch(() => null);
      if (answer === null) unanswered += 1;
      else answers.push(answer);
      return answer?.status === 200;
    }, 120_000, 100);
    const first = answers[0]!;
    const ready = answers.at(-1)!;
    expect(first.status).toBe(503);
    expect(first.body.failures.startup).toBeDefined();
    expect(Object.keys(first.body.dependencies)).toContain('database');
    expect(Object.keys(first.body.pipelines).sort()).toEqual(PIPELINES);
    for (const answer of answers.slice(0, -1)) expect({ status: answer.status, startup: answer.body.startup === 'done' }).toEqual({ status: 503, startup: false });
    expect(ready.body).toMatchObject({ ready: true, startup: 'done', failures: {} });
    expect(ready.body.dependencies.database?.state).toBe('up');
    for (const pipeline of PIPELINES) expect(ready.body.pipelines[pipeline]?.state).toBe('running');

    const watching = await service.log((line) => message(line).startsWith('watching https://pypi.org/simple'));
    const hint = await service.log((line) => message(line).startsWith('nothing to watch'));
    expect(message(watching)).toContain('the 0 project(s) it has seen');
    expect(message(hint)).toContain('pkgstream package add <name>');
    expect(message(hint)).toContain('--watch all');
    const lines = service.logs();
    const started = lines.findIndex((line) => line.msg === 'pipeline started');
    expect(lines.indexOf(hint)).toBeLessThan(started);
    expect(await service.terminate()).toEqual({ code: 0, signal: null });
    console.info(`[cli/health-startup] fresh: ${answers.length - 1} answers 503, ${unanswered} requests reset (first: ${JSON.stringify(first.body.failures)}), then 200; hint: ${message(hint)}`);
  });

  // Item 7: every poll fails (one index not resolvable, one refusing), and the API server refuses.
  it('an unreachable index and a refused Kubernetes API: down in /readyz and pkgstream_dependency_up, per dependency; one line per failure, no stack', async () => {
    const database = await createCliDatabase();
    try {
      const refusedPort = await freePort();
      const unresolvable = 'http://index.invalid/simple';
      const refusing = `http://127.0.0.1:${refusedPort}/simple`;
      await database.use(async (pool) => {
        await setIndexEnabled(pool, 'https://pypi.org/simple', false);
        for (const simpleUrl of [unresolvable, refusing]) {
          await addIndex(pool, { simpleUrl, warehouse: true, watchMode: 'all' });
          await addProject(pool, { project: 'alpha', indexUrl: simpleUrl });
        }
      });
      const kubeconfig = join(mkdtempSync(join(tmpdir(), 'pkgstream-kube-')), 'config');
      writeFileSync(kubeconfig, kubeconfigYaml({ server: `http://127.0.0.1:${await freePort()}`, token: 'kube-t0ken-x', namespace: 'default' }));
      const service = startRunning(['run'], { ...database.env, KUBECONFIG: kubeconfig, PKGSTREAM_NAMESPACE: 'default', PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_POLL_INTERVAL: '0.5', LOG_LEVEL: 'info' });
      await service.log((line) => line.msg === 'pkgstream running', 120_000);
      const hosts = ['index.invalid', `127.0.0.1:${refusedPort}`];
      // Several polls of each feed failed, not just the first.
      await until('3 failed polls of each index', async () => {
        const text = await service.metrics();
        return hosts.every((host) => (sample(text, 'pkgstream_feed_polls_total', { index: host, feed: 'updates', outcome: 'error' }) ?? 0) >= 3);
      }, 90_000, 250);
      const text = await service.metrics();
      const up = (dependency: string) => sample(text, 'pkgstream_dependency_up', { dependency });
      expect({ unresolvable: up('index:index.invalid'), refusing: up(`index:127.0.0.1:${refusedPort}`), kubernetes: up('kubernetes'), database: up('database') }).toEqual({ unresolvable: 0, refusing: 0, kubernetes: 0, database: 1 });
      const { status, body } = await service.readyz();
      expect(body.dependencies['index:index.invalid']).toMatchObject({ state: 'down', required: false });
      expect(body.dependencies['index:index.invalid']?.detail).toMatch(/ENOTFOUND|EAI_AGAIN/);
      expect(body.dependencies[`index:127.0.0.1:${refusedPort}`]).toMatchObject({ state: 'down', required: false });
      expect(body.dependencies[`index:127.0.0.1:${refusedPort}`]?.detail).toContain('ECONNREFUSED');
      expect(body.dependencies.kubernetes).toMatchObject({ state: 'down', required: true });
      // Kubernetes is required (no Job can be created without it): not ready, saying why.
      expect(status).toBe(503);
      expect(Object.keys(body.failures)).toEqual(['kubernetes']);
      expect(await service.terminate()).toEqual({ code: 0, signal: null });
      // Item 11: expected failures are lines without a stack at info; no token anywhere.
      expect(withStack(service.stderr())).toEqual([]);
      expect(service.stderr()).not.toContain('kube-t0ken-x');
      console.info(`[cli/health-startup] unreachable: dependency_up ${JSON.stringify({ kubernetes: up('kubernetes'), hosts: hosts.map((host) => up(`index:${host}`)) })}, /readyz ${status} ${JSON.stringify(body.failures)}`);
    } finally {
      await database.close();
    }
  });

  // Item 8.
  describe('only feedless indexes enabled', () => {
    let index: IndexServer;
    let database: CliDatabase;
    beforeAll(async () => {
      index = await startIndexServer();
      index.addRelease('alpha', '1.0');
      database = await createCliDatabase();
      await database.use(async (pool) => {
        await setIndexEnabled(pool, 'https://pypi.org/simple', false);
        await addIndex(pool, { simpleUrl: `${index.url}/simple` });
        await addProject(pool, { project: 'alpha', indexUrl: `${index.url}/simple` });
      });
    }, 60_000);
    afterAll(async () => {
      await index?.stop();
      await database?.close();
    });

    it('the releases pipeline waits: pipeline_up 1, no restart, its passes over no feeds complete, /readyz 200', async () => {
      const service = startRunning(['run'], { ...database.env, PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_POLL_INTERVAL: '0.5', LOG_LEVEL: 'info' });
      await service.log((line) => line.msg === 'pkgstream running', 120_000);
      // Well after releases began (it starts first): the first update pass is over.
      await service.log((line) => line.msg === 'update pass complete', 60_000);
      const text = await service.metrics();
      expect({ up: sample(text, 'pkgstream_pipeline_up', { pipeline: 'releases' }), restarts: sample(text, 'pkgstream_pipeline_restarts_total', { pipeline: 'releases' }) }).toEqual({ up: 1, restarts: 0 });
      // A pass over no feeds is a completed pass: the stall alert has a timestamp to read.
      expect(sample(text, 'pkgstream_last_successful_pass_timestamp_seconds', { pipeline: 'releases' })).toBeGreaterThan(0);
      const { status, body } = await service.readyz();
      expect(body.pipelines.releases?.state).toBe('running');
      expect({ status, failures: body.failures }).toEqual({ status: 200, failures: {} });
      expect(service.stderr()).not.toContain('completed unexpectedly');
      expect(service.logs().some((line) => message(line).startsWith('no enabled index has feeds'))).toBe(true);
      expect(await service.terminate()).toEqual({ code: 0, signal: null });
    });
  });
});

/**
 * A database that comes up later on a port fixed now: a TCP proxy to the test database
 * (the server of TEST_DATABASE_URL, or an embedded PGlite served over a socket) that only
 * listens once `open` is called. The URL given to pkgstream carries a password.
 */
async function laterDatabase(): Promise<{ url: string; where: string; open(): Promise<void>; down(): Promise<void>; close(): Promise<void> }> {
  const target: TestDatabase = await createTestDatabase({ migrate: false });
  const targetUrl = new URL(target.url);
  const port = await freePort();
  const url = new URL(target.url);
  url.port = String(port);
  url.password = PASSWORD;
  const name = decodeURIComponent(url.pathname.slice(1));
  let proxy: Server | undefined;
  const sockets = new Set<Socket>();
  /** Connections cut, the port closed: as a server that went away. */
  const down = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (proxy?.listening ? proxy.close(() => resolve()) : resolve()));
  };
  return {
    url: url.toString(),
    where: `127.0.0.1:${port}/${name}`,
    open: () =>
      new Promise((resolve, reject) => {
        proxy = createServer((socket) => {
          const upstream = connect(Number(targetUrl.port), targetUrl.hostname);
          socket.pipe(upstream).pipe(socket);
          // Either side closing closes both: a half-open pair would hold the close of the database.
          const end = () => {
            socket.destroy();
            upstream.destroy();
            sockets.delete(socket);
            sockets.delete(upstream);
          };
          for (const side of [socket, upstream]) {
            sockets.add(side);
            side.on('error', end);
            side.on('close', end);
          }
        });
        proxy.once('error', reject);
        proxy.listen(port, '127.0.0.1', () => resolve());
      }),
    down,
    async close() {
      await down();
      await target.close();
    },
  };
}

describe('pkgstream run: a database that is down at start', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  // Items 9 and 11.
  it('keeps retrying with backoff, not ready, every line naming the database and never its password; ready once it comes up, not ready while it is gone again', async () => {
    const database = await laterDatabase();
    try {
      const service = startRunning(['run'], { DATABASE_URL: database.url, PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'info' });
      const isRetry = (line: LogLine) => message(line).includes('is not reachable');
      const firstRetry = await service.log(isRetry);
      const { status, body } = await service.readyz();
      expect(status).toBe(503);
      expect(body.dependencies.database?.state).toBe('down');
      expect(body.dependencies.database?.detail).toContain(database.where);
      expect(body.failures.startup).toBe('opening the database');
      // A second line (one at most every 10 s): more attempts made meanwhile, longer delays.
      await until('a second retry line', () => service.logs().filter(isRetry).length >= 2, 60_000);
      const secondRetry = service.logs().filter(isRetry)[1]!;
      for (const line of [firstRetry, secondRetry]) {
        expect(line.level).toBe(40);
        expect(message(line)).toContain(`postgres ${database.where}`);
        expect(message(line)).toContain('ECONNREFUSED');
      }
      // Retried meanwhile, with growing (fully jittered) delays: fewer attempts than seconds.
      const attempts = Number(secondRetry.attempt) - Number(firstRetry.attempt);
      const seconds = (Number(secondRetry.time) - Number(firstRetry.time)) / 1000;
      expect(attempts).toBeGreaterThan(1);
      expect(attempts).toBeLessThan(seconds);

      await database.open();
      await until('/readyz 200 once the database is up', async () => (await service.readyz()).status === 200, 90_000, 250);
      const reached = await service.log((line) => message(line).includes('reachable after'));
      expect(message(reached)).toContain(database.where);

      // Gone after start: not ready again, the line and the body naming it; back, ready.
      await database.down();
      await until('/readyz 503 with the database down', async () => (await service.readyz()).body.dependencies.database?.state === 'down', 60_000, 250);
      const gone = await service.readyz();
      expect(gone.status).toBe(503);
      expect(gone.body.dependencies.database?.detail).toContain(`postgres ${database.where}`);
      const lost = await service.log((line) => message(line).startsWith('dependency database down'));
      expect(message(lost)).toContain(`postgres ${database.where}`);
      await database.open();
      await until('/readyz 200 once the database is back', async () => (await service.readyz()).status === 200, 90_000, 250);
      expect(await service.terminate()).toEqual({ code: 0, signal: null });
      expect(service.stderr()).not.toContain(PASSWORD);
      expect(withStack(service.stderr())).toEqual([]);
      console.info(`[cli/health-startup] database down: "${message(firstRetry)}"; then attempt ${String(secondRetry.attempt)} (${String(secondRetry.suppressed)} lines suppressed); "${message(reached)}"; gone after start: "${message(lost)}"`);
    } finally {
      await database.close();
    }
  });

  it.skipIf(!TEST_DATABASE_URL)('a role the server does not know: exit 2 with one line naming the database, not the password', async () => {
    const url = new URL(TEST_DATABASE_URL ?? '');
    url.username = 'nobody';
    url.password = PASSWORD;
    const { code, stderr } = await runCli(['run'], { DATABASE_URL: url.toString(), PKGSTREAM_HTTP_PORT: '0', LOG_LEVEL: 'info' });
    expect(code).toBe(2);
    const where = `postgres ${url.hostname}:${url.port || '5432'}/${decodeURIComponent(url.pathname.slice(1))} as nobody`;
    expect(stderr).toContain(where);
    expect(stderr).toMatch(/role "nobody" does not exist|password authentication failed/);
    expect(stderr).not.toContain(PASSWORD);
    expect(withStack(stderr)).toEqual([]);
  });
});

describe('expected failures at info and at debug (item 11)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let busy: Server;
  let port: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, () => resolve()));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  it('the HTTP port in use: one line naming the port and setting, exit 1; the stack only with LOG_LEVEL=debug', async () => {
    const env = { PKGSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'pkgstream-port-')), PKGSTREAM_HTTP_PORT: String(port) };
    const info = await runCli(['run'], { ...env, LOG_LEVEL: 'info' });
    expect(info.code).toBe(1);
    const logged = info.stderr.split('\n').filter((line) => line.startsWith('{'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0] ?? '{}')).toMatchObject({ level: 50 });
    expect(logged[0]).toContain(`HTTP port ${port} (PKGSTREAM_HTTP_PORT)`);
    expect(logged[0]).toContain('EADDRINUSE');
    expect(withStack(info.stderr)).toEqual([]);
    const debug = await runCli(['run'], { ...env, LOG_LEVEL: 'debug' });
    expect(debug.code).toBe(1);
    expect(withStack(debug.stderr)).not.toEqual([]);
  });

  it('an unreachable index under `once releases`: a warn line without a stack at info, with it at debug', async () => {
    const database = await createCliDatabase();
    try {
      await database.use(async (pool) => {
        await setIndexEnabled(pool, 'https://pypi.org/simple', false);
        await addIndex(pool, { simpleUrl: 'http://index.invalid/simple', warehouse: true });
      });
      const failed = (stderr: string) => stderr.split('\n').filter((line) => line.includes('index.invalid') && line.includes('"level":40'));
      const info = await runCli(['once', 'releases'], { ...database.env, LOG_LEVEL: 'info' });
      expect(failed(info.stderr).length).toBeGreaterThan(0);
      expect(withStack(info.stderr)).toEqual([]);
      const debug = await runCli(['once', 'releases'], { ...database.env, LOG_LEVEL: 'debug' });
      expect(failed(debug.stderr).some((line) => line.includes('"stack"'))).toBe(true);
      console.info(`[cli/health-startup] unreachable index at info: ${failed(info.stderr)[0]?.slice(0, 300) ?? ''}`);
    } finally {
      await database.close();
    }
  });
});
