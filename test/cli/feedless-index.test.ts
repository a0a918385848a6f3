/**
 * An index without feeds, as people run one: a directory of real wheels served by
 * `python3 -m http.server`, with no hashes and a name with dots and underscores. A project
 * registered with `package add` is read by the update pipeline (`once update` and `run`),
 * its releases recorded with their files; before, nothing ever asked the index for it.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, exitOf, runCli, startCli, waitForLog } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startStaticIndex, type StaticIndex } from '../support/static-index.js';

let index: StaticIndex;
const children: ChildProcess[] = [];
beforeAll(async () => {
  index = await startStaticIndex();
  index.addWheel('Dotted.Name_pkg', '1.0');
  index.addWheel('Dotted.Name_pkg', '1.1');
  index.addWheel('second_pkg', '0.1');
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await index.stop();
});

interface Shown {
  project: string;
  releases: { version: string; digests: { filename: string; sha256: string | null }[] }[];
}

const passOf = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; rows?: number; projects?: number; requests?: number })
    .find((line) => line.msg === 'update pass complete');

async function registered(database: CliDatabase, ...projects: string[]): Promise<void> {
  expect((await runCli(['index', 'add', index.simpleUrl], database.env)).code).toBe(0);
  await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
  for (const project of projects) expect((await runCli(['package', 'add', project, '--index', index.simpleUrl], database.env)).code).toBe(0);
}

async function shown(database: CliDatabase, project: string): Promise<Shown> {
  const result = await runCli(['package', 'show', project, '--json'], database.env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Shown;
}

describe('an index without feeds (python3 -m http.server, no hashes)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('once update reads a project added with package add, records its releases and files, then finds a new version', async () => {
    const database = await createCliDatabase();
    try {
      await registered(database, 'Dotted.Name_pkg');
      const first = await runCli(['once', 'update'], { ...database.env, LOG_LEVEL: 'info' });
      expect(first.code, first.stderr).toBe(0);
      const pass = passOf(first.stdout + first.stderr);
      console.info(`[cli/feedless] first once update: ${JSON.stringify(pass)}; python logged ${JSON.stringify(index.requests.filter((r) => r.includes('dotted')))}`);
      expect(pass).toMatchObject({ projects: 1, requests: 1 });
      expect(index.requests).toContain('GET /simple/dotted-name-pkg/');
      const project = await shown(database, 'dotted.name-pkg');
      expect(project.releases.map((r) => r.version).sort()).toEqual(['1.0', '1.1']);
      expect(project.releases.flatMap((r) => r.digests)).toContainEqual({ filename: 'dotted_name_pkg-1.0-py3-none-any.whl', sha256: null, present: true, lastSeenAt: expect.any(String) as unknown, size: null, uploadTime: null });

      index.addWheel('Dotted.Name_pkg', '1.2');
      const second = await runCli(['once', 'update', '--all'], { ...database.env, LOG_LEVEL: 'info' });
      expect(second.code, second.stderr).toBe(0);
      expect(passOf(second.stdout + second.stderr)).toMatchObject({ rows: 2, projects: 1, requests: 1 });
      expect((await shown(database, 'dotted.name-pkg')).releases.map((r) => r.version).sort()).toEqual(['1.0', '1.1', '1.2']);
    } finally {
      await database.close();
    }
  });

  it('run asks the index for a registered project without releases and records them', async () => {
    const database = await createCliDatabase();
    try {
      await registered(database, 'second_pkg');
      const asked = () => index.requests.filter((r) => r === 'GET /simple/second-pkg/').length;
      const before = asked();
      const child = startCli(['run'], { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_PIPELINES: 'releases,update' });
      children.push(child);
      await waitForLog(child, (line) => line.msg === 'update pass complete', 60_000);
      await until('python logged the page request', () => asked() > before, 10_000, 50);
      child.kill('SIGTERM');
      expect((await exitOf(child)).code).toBe(0);
      expect((await shown(database, 'second-pkg')).releases.map((r) => r.version)).toEqual(['0.1']);
    } finally {
      await database.close();
    }
  });
});
