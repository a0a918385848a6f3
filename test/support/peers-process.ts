/**
 * `npm run peers -- <args>` as a user starts it, for tests of the peers CLI: resolves with
 * the one JSON line it prints once it serves; its stderr (the `--log` lines) is kept, and
 * `stop()` sends SIGTERM and waits until npm and the peer have exited.
 */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from './tools.js';

export interface PeerProcess {
  /** The JSON line the peer printed. */
  readonly address: Record<string, unknown>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves once stderr has a line matching `pattern` (rejects after `timeoutMs`). */
  untilStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** What a peers CLI run that ends without serving printed. */
export interface PeerExit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function spawnPeers(args: readonly string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
  return spawn('npm', ['run', '--silent', 'peers', '--', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function startPeerProcess(args: readonly string[], startTimeoutMs = 90_000): Promise<PeerProcess> {
  const child = spawnPeers(args);
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const untilStderr = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = stderr.split('\n').find((l) => pattern.test(l));
        if (line === undefined) return;
        done();
        resolve(line);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`peers ${args.join(' ')}: no stderr line matched ${String(pattern)} in ${timeoutMs} ms; stderr:\n${stderr}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`peers ${args.join(' ')}: no address line in ${startTimeoutMs} ms; stderr:\n${stderr}`));
    }, startTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      resolve({
        address: JSON.parse(stdout.slice(0, newline)) as Record<string, unknown>,
        stderr: () => stderr,
        untilStderr,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`peers ${args.join(' ')} exited with ${code} before serving; stderr:\n${stderr}`));
    });
  });
}

/** Runs the peers CLI to its end, for arguments it must refuse. */
export function runPeersToExit(args: readonly string[]): Promise<PeerExit> {
  const child = spawnPeers(args);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
