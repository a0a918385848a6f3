/**
 * Bad versions on a project page (issue 12, items 22 and 23), through the built CLI against
 * the local index and Kubernetes API: the page lists good versions (PEP 440, a permissive
 * spelling, a legacy one) next to `""`, a NUL, a bidi override, a path, SQL and 300
 * characters. The good ones are stored, announced once and solved; each bad one is one warn
 * line and counted, and is stored, announced and put in a Job nowhere.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, exitOf, runCli, startCli, waitForLog } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { startKubeApi } from '../support/kube-api/index.js';
import { until } from './helpers.js';
import { sampleSum as sample } from '../support/metrics-text.js';

const GOOD = ['1.0', '2.0rc1', 'v3.0-beta.2', '2004d'] as const;
const BAD: Readonly<Record<string, string>> = {
  empty: '',
  nul: '1.0\u0000',
  bidi: '1.0\u202egnp.exe',
  path: '../../../etc/passwd',
  sql: "1'); drop table package_version;--",
  long: `1.${'9'.repeat(298)}`,
};
/** Text that only a bad version carries, to look for in everything written. */
const MARKERS = ['\u0000', '\\u0000', '\u202e', '\\u202e', 'etc/passwd', 'drop table', '9'.repeat(200)];
const SHA = 'a'.repeat(64);
const NAMESPACE = 'versions';

const children: ChildProcess[] = [];
const peers: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const peer of peers) await peer.stop();
});

function file(version: string): Record<string, unknown> {
  return { filename: `target-${version}.tar.gz`, url: `https://files.example.org/target-${version}.tar.gz`, hashes: { sha256: SHA } };
}

/** The PEP 691 page: every version in `versions`, a file for each good one and for the 300-character one. */
function pep691Page(): string {
  return JSON.stringify({
    meta: { 'api-version': '1.1' },
    name: 'target',
    versions: [...GOOD, ...Object.values(BAD)],
    files: [...GOOD.map(file), file(BAD.long ?? '')],
  });
}

/** The PEP 503 page: the versions its filenames carry (a file can hold the 300-character one). */
function pep503Page(): string {
  const anchors = [...GOOD, BAD.long ?? ''].map((version) => `<a href="/files/target-${version}.tar.gz#sha256=${SHA}">target-${version}.tar.gz</a>`);
  return `<!DOCTYPE html><html><body>${anchors.join('\n')}</body></html>`;
}

const released = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { topic: string; value: { package_version: string } })
    .filter((line) => line.topic === 'pkgstream.package-released')
    .map((line) => line.value.package_version)
    .sort();

const logLines = (stderr: string): Record<string, unknown>[] =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** How each bad version is named in its warn line: escaped (JSON, non-ASCII as \\u), at most 128 characters of it. */
const QUOTED: Readonly<Record<string, string>> = {
  empty: '""',
  nul: '"1.0\\u0000"',
  bidi: '"1.0\\u202egnp.exe"',
  path: '"../../../etc/passwd"',
  sql: '"1\'); drop table package_version;--"',
  long: `"1.${'9'.repeat(126)}"... (300 characters)`,
};

/** The one warn line per bad version and page read: index, project, the version escaped, the reason. */
function expectBadVersionLines(stderr: string, simpleUrl: string, bad: readonly string[], reads: number): void {
  const lines = logLines(stderr).filter((line) => line.code === 'BAD_VERSION');
  expect(lines).toHaveLength(bad.length * reads);
  for (const name of bad) {
    const named = lines.filter((line) => line.version === QUOTED[name]);
    expect(named, `a line naming ${String(QUOTED[name])}`).toHaveLength(reads);
    expect(named[0]).toMatchObject({ level: 40, index: simpleUrl, project: 'target' });
    expect(String(named[0]?.reason)).toMatch(/\w/);
  }
  // Escaped: no control or bidi character reaches the log.
  expect(stderr).not.toContain('\u0000');
  expect(stderr).not.toContain('\u202e');
}

async function storedVersions(database: CliDatabase): Promise<string[]> {
  return database.use(async (pool) => (await pool.query<{ version: string }>("SELECT version FROM package_version WHERE project = 'target'")).rows.map((row) => row.version).sort());
}

async function everythingWritten(database: CliDatabase): Promise<string> {
  return database.use(async (pool) => {
    const tables = ['package_version', 'artifact', 'event', 'attention', 'solver_run'];
    const dumps = await Promise.all(tables.map(async (table) => JSON.stringify((await pool.query(`SELECT * FROM ${table}`)).rows)));
    return dumps.join('\n');
  });
}

/** A fresh database whose only enabled index is `index`, watching `watch`. */
async function databaseFor(index: IndexServer, watch: 'all' | 'seen'): Promise<CliDatabase> {
  const database = await createCliDatabase();
  const simple = `${index.url}/simple`;
  for (const args of [['index', 'add', simple, '--warehouse', '--watch', watch], ['index', 'disable', 'https://pypi.org/simple'], ['package', 'add', 'target', '--index', simple]]) {
    const { code, stderr } = await runCli(args, database.env);
    expect(code, `${args.join(' ')}: ${stderr}`).toBe(0);
  }
  return database;
}

describe('bad versions on a project page', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('run, PEP 691: the good versions are stored, announced once and solved; the bad ones are counted and nowhere', async () => {
    const [index, kube] = await Promise.all([startIndexServer(), startKubeApi({ namespace: NAMESPACE })]);
    peers.push(index, kube);
    // The feeds announce the project (packages: every version of it) and its PEP 440 releases.
    index.addRelease('target', '1.0');
    index.addRelease('target', '2.0rc1');
    index.inject({ kind: 'body', body: pep691Page(), contentType: 'application/vnd.pypi.simple.v1+json' }, { routes: ['simple-project'], projects: ['target'], times: Infinity });
    const database = await databaseFor(index, 'all');
    const simple = `${index.url}/simple`;
    try {
      const child = startCli(['run'], {
        ...database.env,
        KUBECONFIG: kube.kubeConfigFile(),
        PKGSTREAM_NAMESPACE: NAMESPACE,
        PKGSTREAM_SOLVERS: 'solver-x',
        PKGSTREAM_HTTP_PORT: '0',
        PKGSTREAM_POLL_INTERVAL: '0.5',
        LOG_LEVEL: 'info',
      });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const listening = await waitForLog(child, (line) => line.msg === 'http server listening', 60_000);
      const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${String(listening.port)}/metrics`)).text();
      const host = new URL(index.url).host;
      let metrics = '';
      // Every good version solved, and both feeds polled again after the page was read.
      await until(
        'the good versions solved, the feeds polled past them',
        async () => {
          metrics = await scrape();
          return kube.jobs(NAMESPACE).length >= GOOD.length && sample(metrics, 'pkgstream_feed_polls_total', { index: host }) >= 6;
        },
        90_000,
        () => `${stderr.slice(-4000)}\njobs: ${kube.jobs(NAMESPACE).length}`,
      );
      child.kill('SIGTERM');
      expect((await exitOf(child)).code).toBe(0);

      const reads = sample(metrics, 'pkgstream_index_requests_total', { index: host, route: 'project' });
      const figures = {
        stored: await storedVersions(database),
        announced: released(stdout),
        jobs: kube.jobs(NAMESPACE).map((job) => job.metadata.annotations?.['pkgstream.dev/version']).sort(),
        badVersionsCounted: sample(metrics, 'pkgstream_bad_input_total', { source: 'index', code: 'BAD_VERSION' }),
        pageReads: reads,
        attention: sample(metrics, 'pkgstream_attention_recorded_total'),
      };
      console.info(`[bad-input/versions] run, PEP 691: ${JSON.stringify(figures)}`);
      const good = [...GOOD].sort();
      expect(figures.stored).toEqual(good);
      expect(figures.announced).toEqual(good);
      expect(figures.jobs).toEqual(good);
      expect(figures.attention).toBe(0);
      expect(reads).toBeGreaterThan(0);
      expect(figures.badVersionsCounted).toBe(Object.keys(BAD).length * reads);
      expectBadVersionLines(stderr, simple, Object.keys(BAD), reads);
      const written = `${await everythingWritten(database)}\n${JSON.stringify(kube.jobs(NAMESPACE))}\n${stdout}`;
      for (const marker of MARKERS) expect(written, marker).not.toContain(marker);
    } finally {
      await database.close();
    }
  });

  it('check (the re-check path), PEP 503: the 300-character version of a file is skipped, the others recorded', async () => {
    const index = await startIndexServer();
    peers.push(index);
    index.addRelease('target', '1.0');
    index.inject({ kind: 'body', body: pep503Page(), contentType: 'text/html' }, { routes: ['simple-project'], projects: ['target'], times: Infinity });
    const database = await databaseFor(index, 'seen');
    const simple = `${index.url}/simple`;
    try {
      const { code, stdout, stderr } = await runCli(['check', 'target', '--index', simple], database.env);
      const figures = { code, stored: await storedVersions(database), announced: released(stdout) };
      console.info(`[bad-input/versions] check, PEP 503: ${JSON.stringify(figures)}`);
      expect(code, stderr).toBe(0);
      const good = [...GOOD].sort();
      expect(figures.stored).toEqual(good);
      expect(figures.announced).toEqual(good);
      expectBadVersionLines(stderr, simple, ['long'], 1);
      expect(await everythingWritten(database)).not.toContain('9'.repeat(200));
    } finally {
      await database.close();
    }
  });

  it('check refuses a bad version argument: a usage error naming it', async () => {
    const index = await startIndexServer();
    peers.push(index);
    const database = await databaseFor(index, 'seen');
    try {
      const { code, stderr } = await runCli(['check', 'target', '1.0\u202egnp.exe', '--index', `${index.url}/simple`], database.env);
      expect(code).toBe(2);
      expect(stderr).toContain('"1.0\\u202egnp.exe"');
      expect(stderr).not.toContain('\u202e');
      expect(index.counters.snapshot().total).toBe(0);
    } finally {
      await database.close();
    }
  });
});
