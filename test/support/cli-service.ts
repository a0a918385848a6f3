/**
 * `pkgstream run` (or any long command) as a child process a test talks to: its JSON log
 * lines kept as they come (so a wait never misses a line that came in the same chunk as
 * another), its HTTP port from the `http server listening` line, /readyz and /metrics.
 */
import type { ChildProcess } from 'node:child_process';
import type { ReadinessReport } from '../../src/runtime/readiness.js';
import { until } from '../faults/helpers.js';
import { exitOf, startCli } from './cli.js';

export type LogLine = Record<string, unknown>;

export interface RunningCli {
  readonly child: ChildProcess;
  stderr(): string;
  /** Every JSON log line so far, in order. */
  logs(): LogLine[];
  /** The first log line (logged already or to come) that `match` accepts. */
  log(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** `http://127.0.0.1:<port>` once the HTTP server listens. */
  base(timeoutMs?: number): Promise<string>;
  readyz(): Promise<{ status: number; body: ReadinessReport }>;
  metrics(): Promise<string>;
  /** SIGTERM, then the exit. */
  terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ChildProcess[] = [];

/** Kills what a failed test left running (call from afterEach). */
export function killLeftovers(): void {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export function startRunning(args: readonly string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = startCli(args, env);
  running.push(child);
  let stderr = '';
  const lines: LogLine[] = [];
  let partial = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      if (!part.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        // not a log line
      }
    }
  });
  child.stdout?.resume();
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const log: RunningCli['log'] = async (match, timeoutMs = 60_000) => {
    let found: LogLine | undefined;
    await until(`a matching log line\n${stderr}`, () => {
      found = lines.find(match);
      if (!found && exited()) throw new Error(`pkgstream exited (${String(child.exitCode ?? child.signalCode)}) without a matching log line\n${stderr}`);
      return found !== undefined;
    }, timeoutMs);
    return found!;
  };
  let base: string | undefined;
  const baseOf: RunningCli['base'] = async (timeoutMs = 60_000) => {
    base ??= `http://127.0.0.1:${String((await log((line) => line.msg === 'http server listening', timeoutMs)).port)}`;
    return base;
  };
  return {
    child,
    stderr: () => stderr,
    logs: () => [...lines],
    log,
    base: baseOf,
    async readyz() {
      const response = await fetch(`${await baseOf()}/readyz`);
      return { status: response.status, body: (await response.json()) as ReadinessReport };
    },
    async metrics() {
      return (await fetch(`${await baseOf()}/metrics`)).text();
    },
    async terminate() {
      child.kill('SIGTERM');
      return exitOf(child);
    },
  };
}
