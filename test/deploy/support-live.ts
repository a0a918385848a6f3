/**
 * Helpers of the live Prometheus test (prometheus-live.test.ts): a real Prometheus as a
 * child process scraping pkgstream, its HTTP query API, a tail of a child's JSON logs, the
 * metric names of a /metrics answer, and the transform that lets an alert's threshold
 * comparison be evaluated while everything is healthy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** Debian's package (scripts/install-test-tools.sh installs it in CI). */
export const PROMETHEUS_PATH = '/usr/bin/prometheus';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every `everyMs` until it holds; throws `what` after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A free TCP port on 127.0.0.1 (free when asked: the caller retries if it is taken meanwhile). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Every line a child writes, kept; its JSON lines parsed, so a test can wait for one. */
export class LogTail {
  readonly lines: string[] = [];
  private partial = '';
  private readonly waiters = new Set<() => void>();

  constructor(stream: Readable | null | undefined) {
    stream?.on('data', (chunk: Buffer) => {
      const text = this.partial + chunk.toString();
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
      if (this.lines.length > 20_000) this.lines.splice(0, this.lines.length - 20_000);
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  /** The JSON lines, parsed (other lines skipped). */
  json(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** The first JSON line (already written or to come) that `match` accepts. */
  waitFor(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.json().find(match);
        if (!found) return false;
        clearTimeout(timer);
        this.waiters.delete(onData);
        resolve(found);
        return true;
      };
      const onData = () => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(onData);
        reject(new Error(`no log line ${what} in ${timeoutMs} ms; last lines:\n${this.tail(30)}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(onData);
    });
  }

  tail(count: number): string {
    return this.lines.slice(-count).join('\n');
  }
}

/** Sends SIGTERM, then SIGKILL if the child has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The metric names that have at least one sample in a Prometheus text-format answer. */
export function sampledMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const name = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line)?.[1];
    if (name) names.add(name);
  }
  return names;
}

/**
 * An alert expression made to return a series for each series its comparisons look at,
 * whatever their values.
 *
 * An alert is a threshold comparison (`X > 0`, `time() - X > 1800`, `up == 0`,
 * `A >= B`), so on a healthy service it is rightly empty and says nothing about whether
 * its metrics exist. Each comparison operator outside label matchers and strings gets
 * Prometheus's `bool` modifier: `X > 0` becomes `X > bool 0`, which keeps every series of
 * the left-hand side (valued 1 or 0 instead of being filtered out). That is the left-hand
 * side with the comparison stripped, and the rest of the expression stays as written:
 * `and`/`or` still need matching label sets, and `A >= bool B` still needs B to have
 * a series matching each of A's. `absent(...)` is left alone (empty while the series exist).
 * `A unless B` becomes `A or B`: an alert that fires on what B lacks (a pipeline without a
 * pass, polls without an answer) is rightly empty while B has it, and `or` still checks
 * both sides' series.
 */
export function thresholdsAsBool(promql: string): string {
  let out = '';
  let braces = 0;
  let quote: string | null = null;
  for (let at = 0; at < promql.length; at += 1) {
    const char = promql[at] ?? '';
    if (quote !== null) {
      out += char;
      if (char === '\\') out += promql[++at] ?? '';
      else if (char === quote) quote = null;
      continue;
    }
    if (char === '"' || char === "'" || char === '`') quote = char;
    else if (char === '{') braces += 1;
    else if (char === '}') braces -= 1;
    else if (braces === 0) {
      if (/^unless\b/.test(promql.slice(at)) && !/[\w:]$/.test(out)) {
        out += 'or';
        at += 'unless'.length - 1;
        continue;
      }
      const operator = /^(?:==|!=|>=|<=|>|<)/.exec(promql.slice(at))?.[0];
      if (operator) {
        out += operator;
        at += operator.length - 1;
        if (!/^\s*bool\b/.test(promql.slice(at + 1))) out += ' bool';
        continue;
      }
    }
    out += char;
  }
  return out;
}

export type QueryAnswer =
  | { readonly ok: true; readonly resultType: string; readonly series: number; readonly result: unknown[] }
  | { readonly ok: false; readonly error: string };

export interface Prometheus {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** An instant query at the current time through /api/v1/query. */
  query(promql: string): Promise<QueryAnswer>;
  /** Prometheus's own log (stderr), for failure messages. */
  log(count?: number): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `host:port` of the scraped target. */
  readonly target: string;
  readonly job: string;
  readonly scrapeIntervalSeconds: number;
}

/**
 * Starts `/usr/bin/prometheus` listening on 127.0.0.1 only, on a free port, with its TSDB
 * in a temporary folder and one scrape job; resolves once /-/ready answers 200.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'pkgstream-prometheus-'));
  const interval = `${options.scrapeIntervalSeconds}s`;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'scrape_configs:',
      `  - job_name: ${options.job}`,
      `    scrape_interval: ${interval}`,
      `    scrape_timeout: ${interval}`,
      '    static_configs:',
      `      - targets: ['${options.target}']`,
      '',
    ].join('\n'),
  );
  let lastError: Error | null = null;
  // The port is free when picked but may be taken before Prometheus binds it: try again.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const storage = join(dir, `data-${attempt}`);
    const child = spawn(
      PROMETHEUS_PATH,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${storage}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=info',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const logs = new LogTail(child.stderr);
    const url = `http://127.0.0.1:${port}`;
    const stop = async () => {
      await stopChild(child, 10_000);
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await until(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}):\n${logs.tail(20)}`);
          try {
            return (await fetch(`${url}/-/ready`)).status === 200;
          } catch {
            return false;
          }
        },
        'prometheus to be ready',
        30_000,
        200,
      );
    } catch (error) {
      await stopChild(child, 5_000);
      lastError = error as Error;
      if (/address already in use/i.test(logs.tail(50))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return {
      url,
      async query(promql) {
        const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql }).toString()}`);
        const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
        if (body.status !== 'success' || !body.data) return { ok: false, error: `${body.error ?? 'no data'} (HTTP ${response.status})` };
        const result = Array.isArray(body.data.result) ? (body.data.result as unknown[]) : [body.data.result];
        return { ok: true, resultType: body.data.resultType, series: result.length, result };
      },
      log: (count = 30) => logs.tail(count),
      stop,
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('prometheus did not start');
}
