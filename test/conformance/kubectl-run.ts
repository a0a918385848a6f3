/**
 * Runs Debian's kubectl against a kubeconfig without blocking the event loop (the peer
 * answering it runs in the test's own process), with its own HOME so that kubectl's
 * discovery cache never mixes two peers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KubectlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Kubectl {
  run(args: readonly string[], options?: { input?: string; kubeconfig?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Starts a long-running kubectl (e.g. `get -w`); resolves once a stdout line matches, then stops it. */
  untilLine(args: readonly string[], match: RegExp, started: () => Promise<void>, timeoutMs?: number): Promise<string[]>;
  close(): void;
}

export function kubectlFor(kubeconfig: string): Kubectl {
  const home = mkdtempSync(join(tmpdir(), 'pkgstream-kubectl-home-'));
  const children = new Set<ChildProcess>();
  const start = (args: readonly string[], config: string) => {
    const child = spawn('kubectl', ['--kubeconfig', config, ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  return {
    run(args, options = {}) {
      return new Promise((resolve, reject) => {
        const child = start(args, options.kubeconfig ?? kubeconfig);
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
        child.on('error', reject);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
        child.stdin?.end(options.input ?? '');
      });
    },
    untilLine(args, match, started, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const child = start(args, kubeconfig);
        const lines: string[] = [];
        let buffered = '';
        let firstLine = true;
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`kubectl ${args.join(' ')}: no line matching ${String(match)} in ${timeoutMs} ms; saw ${JSON.stringify(lines)}`));
        }, timeoutMs);
        child.stdout?.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const parts = buffered.split('\n');
          buffered = parts.pop() ?? '';
          for (const line of parts) {
            lines.push(line);
            if (firstLine) {
              firstLine = false;
              started().catch(reject);
            }
            if (match.test(line)) {
              clearTimeout(timer);
              child.kill('SIGTERM');
              resolve(lines);
            }
          }
        });
        child.on('error', reject);
        child.stdin?.end();
      });
    },
    close() {
      for (const child of children) child.kill('SIGKILL');
      rmSync(home, { recursive: true, force: true });
    },
  };
}
