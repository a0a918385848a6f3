/**
 * Bad settings through the built `pkgstream` command, as a pod would start it: exit code 2,
 * one stderr line per problem naming the variable or flag, the value and what is allowed,
 * nothing on stdout and nothing written (the data dir is never created); the same command
 * with good settings then works.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';

interface CliCase {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Every line stderr must hold, in order after the heading. */
  readonly lines: readonly string[];
}

const CASES: readonly CliCase[] = [
  { name: 'port out of range (variable)', args: ['index', 'list'], env: { PKGSTREAM_HTTP_PORT: '70000' }, lines: ['  PKGSTREAM_HTTP_PORT="70000": must be at most 65535'] },
  { name: 'concurrency zero (flag)', args: ['index', 'list', '--concurrency', '0'], env: {}, lines: ['  --concurrency (PKGSTREAM_CONCURRENCY)="0": must be at least 1'] },
  { name: 'unknown log level', args: ['migrate'], env: { LOG_LEVEL: 'loud' }, lines: ['  LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent'] },
  { name: 'database URL of another database', args: ['migrate'], env: { DATABASE_URL: 'mysql://root@db/pkg' }, lines: ['  DATABASE_URL="mysql://root@db/pkg": must be a URL (postgres: or postgresql:)'] },
  { name: 'unknown pipeline for run', args: ['run'], env: { PKGSTREAM_PIPELINES: 'releases,bogus' }, lines: ['  PKGSTREAM_PIPELINES="releases,bogus": each must be one of releases, update, dispatch'] },
  {
    name: 'three bad settings at once',
    args: ['run', '--poll-interval', 'soon'],
    env: { PKGSTREAM_DRY_RUN: 'maybe', PKGSTREAM_SOLVERS: 'Bad_Solver' },
    lines: [
      '  PKGSTREAM_SOLVERS="Bad_Solver": each solver must be a DNS-1123 label',
      '  --poll-interval (PKGSTREAM_POLL_INTERVAL)="soon": must be a positive number up to 86400',
      '  PKGSTREAM_DRY_RUN="maybe": must be one of 1, 0, true, false, yes, no, on, off',
    ],
  },
];

let scratch: string;
let database: CliDatabase;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'pkgstream-bad-cli-'));
  database = await createCliDatabase();
});
afterAll(async () => {
  await database?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('cli: bad settings exit 2 and name each problem', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it.each(CASES)('$name', async (c) => {
    const dataDir = join(scratch, c.name.replace(/\W+/g, '-'));
    const result = await runCli(c.args, { PKGSTREAM_DATA_DIR: dataDir, PKGSTREAM_HTTP_PORT: '0', ...c.env });
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('pkgstream: invalid configuration');
    expect(lines.slice(1).sort()).toEqual([...c.lines].sort());
    expect(result.stdout).toBe('');
    // Nothing was started or written.
    expect(existsSync(dataDir)).toBe(false);
  });

  it('the same command with good settings works', async () => {
    const result = await runCli(['index', 'list', '--concurrency', '4'], { ...database.env, PKGSTREAM_HTTP_PORT: '0' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('https://pypi.org/simple');
  });
});
