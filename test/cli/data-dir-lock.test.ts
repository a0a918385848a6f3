/**
 * One process at a time on an embedded data directory (issue 11.1): `run` holds it; a
 * second `run` is refused naming the holder; commands the service's API covers go through
 * it, the others are refused; a killed holder's lock is taken over. Always on embedded
 * PGlite (the lock is its concern; a Postgres server needs none).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, exitOf, runCli, startCli, waitForLog } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';

const TOKEN = 'data-dir-lock-admin-token';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function dataDirEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // Only the update pipeline: the lock is the subject, not the (unreachable) PyPI feeds.
  return { PKGSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'pkgstream-lock-')), PKGSTREAM_PIPELINES: 'update', ...extra };
}

/** `run` on `env`'s data directory, resolved once it serves its API. */
async function startRun(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = startCli(['run', '--http-port', '0'], { ...env, LOG_LEVEL: 'info' });
  children.push(child);
  await waitForLog(child, (line) => line.msg === 'pkgstream running', 90_000);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  expect((await exitOf(child)).code).toBe(0);
}

const listed = async (env: NodeJS.ProcessEnv) => (JSON.parse((await runCli(['package', 'list', '--json'], env)).stdout) as { project: string }[]).map((item) => item.project);

describe('the embedded data directory lock', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('refuses a second run on the same data directory with exit 2, naming the holder pid', async () => {
    const env = dataDirEnv();
    const first = await startRun(env);
    const second = await runCli(['run', '--http-port', '0'], env);
    expect(second.code).toBe(2);
    const lines = second.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`pid ${first.pid}`);
    expect(lines[0]).toContain(env.PKGSTREAM_DATA_DIR);
    await stop(first);
  });

  // Two service start-ups and seven commands: slow on a loaded machine.
  it('registers `package add` beside run through the service, and the project is still there after a restart', { timeout: 2 * CLI_TEST_TIMEOUT_MS }, async () => {
    const env = dataDirEnv({ PKGSTREAM_ADMIN_TOKEN: TOKEN });
    const first = await startRun(env);
    const added = await runCli(['package', 'add', 'numpy'], env);
    expect(added).toMatchObject({ code: 0, stdout: 'project numpy registered on https://pypi.org/simple\n' });
    expect(await listed(env)).toContain('numpy');
    // A "not found" through the API is the usage error it is on the database.
    const unknown = await runCli(['attention', 'resolve', '999'], env);
    expect([unknown.code, unknown.stderr.split('\n')[0]]).toEqual([2, 'pkgstream: no open attention item 999']);
    await stop(first);
    // The loss the issue saw: a write beside the service, gone once the service restarts.
    const again = await startRun(env);
    expect(await listed(env)).toContain('numpy');
    await stop(again);
    expect(await listed(env)).toContain('numpy');
  });

  it('refuses beside run what the API cannot do (exit 2, one line naming the pid), writes without a token included', { timeout: 2 * CLI_TEST_TIMEOUT_MS }, async () => {
    const env = dataDirEnv();
    const first = await startRun(env);
    for (const args of [['package', 'add', 'numpy'], ['index', 'add', 'http://127.0.0.1:9/simple'], ['once', 'update'], ['migrate']]) {
      const refused = await runCli(args, env);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    // Reads the API covers need no token.
    expect((await runCli(['index', 'list'], env)).stdout).toContain('https://pypi.org/simple\tenabled\twatch=seen');
    expect(await runCli(['events', '--json'], env)).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(await runCli(['attention', 'list'], env)).toMatchObject({ code: 0, stdout: 'nothing needs attention\n' });
    const refused = await runCli(['index', 'add', 'http://127.0.0.1:9/simple'], env);
    expect(refused.stderr).toContain(`pid ${first.pid}`);
    const noToken = await runCli(['package', 'add', 'numpy'], env);
    expect(noToken.stderr).toContain('PKGSTREAM_ADMIN_TOKEN');
    await stop(first);
    expect(await listed(env)).not.toContain('numpy');
  });

  it('takes over the lock of a run killed with SIGKILL', async () => {
    const env = dataDirEnv();
    const killed = await startRun(env);
    killed.kill('SIGKILL');
    await exitOf(killed);
    const added = await runCli(['package', 'add', 'scipy'], env);
    expect(added).toMatchObject({ code: 0, stdout: 'project scipy registered on https://pypi.org/simple\n' });
    const next = await startRun(env);
    expect(await listed(env)).toContain('scipy');
    await stop(next);
  });

  it.runIf(process.env.TEST_DATABASE_URL)('takes no lock on Postgres: a command beside run writes to the server itself', async () => {
    const database = await createTestDatabase();
    try {
      const env = dataDirEnv({ DATABASE_URL: database.url });
      const service = await startRun(env);
      expect(await runCli(['package', 'add', 'numpy'], env)).toMatchObject({ code: 0, stdout: 'project numpy registered on https://pypi.org/simple\n' });
      expect(existsSync(join(env.PKGSTREAM_DATA_DIR ?? '', 'pkgstream.lock'))).toBe(false);
      await stop(service);
      expect(await listed(env)).toContain('numpy');
    } finally {
      await database.close();
    }
  });
});
