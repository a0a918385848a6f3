/** Runs the built `pkgstream` command as a child process, the way a user or a pod does. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/**
 * Per-test timeout of tests that run the CLI as child processes: on a loaded 2-core machine
 * one run (node start, embedded database, migrations) can take 5-15 s, and a test runs
 * several in a row. A hung child is still caught by runCli's own per-run timeout.
 */
export const CLI_TEST_TIMEOUT_MS = 180_000;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** An environment with nothing of the developer's pkgstream settings, plus `env`. */
export function cliEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('PKGSTREAM_') && !['DATABASE_URL', 'KAFKA_BROKERS', 'KUBECONFIG', 'LOG_LEVEL', 'KUBERNETES_SERVICE_HOST'].includes(key)),
  );
  return { ...clean, LOG_LEVEL: 'warn', ...env };
}

/** A database setting for a child: the isolated test database URL, or a fresh embedded data dir. */
export function cliDatabaseEnv(testDatabaseUrl: string | undefined): NodeJS.ProcessEnv {
  return testDatabaseUrl ? { DATABASE_URL: testDatabaseUrl } : { PKGSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'pkgstream-cli-')) };
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [CLI_PATH, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pkgstream ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves with the first JSON log line on the child's stderr that `match` accepts. */
export function waitForLog(child: ChildProcess, match: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`no matching log line in ${timeoutMs} ms:\n${buffered}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (match(parsed)) {
            clearTimeout(timer);
            child.stderr?.off('data', onData);
            resolve(parsed);
            return;
          }
        } catch {
          // a partial line: wait for the rest
        }
      }
    };
    child.stderr?.on('data', onData);
  });
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const exited = child.exitCode !== null || child.signalCode !== null;
  const drained = [child.stdout, child.stderr].every((stream) => !stream || stream.destroyed || stream.readableEnded);
  if (exited && drained) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  // 'close', not 'exit': output written just before exiting (the last log lines) may still
  // be in the pipes when 'exit' fires, and callers assert on it. Unread output is let flow
  // (a paused pipe never ends, and then 'close' never comes); listeners still get it all.
  child.stdout?.resume();
  child.stderr?.resume();
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
}
