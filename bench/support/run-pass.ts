/**
 * Runs bench/support/pass-child.ts (one full update pass in a process of its own) and
 * reads its one-line JSON report.
 */
import { fileURLToPath } from 'node:url';
import type { BenchDatabase } from './database.js';
import { runTsxChild } from './tsx-child.js';

export interface PassReport {
  readonly rows: number;
  readonly projects: number;
  readonly requests: number;
  readonly failed: number;
  readonly events: number;
  readonly seconds: number;
  readonly max_rss_mb: number;
  readonly max_heap_mb: number;
}

export interface PassSettings {
  readonly concurrency: number;
  readonly pageSize: number;
  /** Index requests per second and burst; unlimited when absent. */
  readonly rate?: number;
  readonly burst?: number;
}

const CHILD = fileURLToPath(new URL('./pass-child.ts', import.meta.url));

const spawnPass = (args: readonly string[]) => runTsxChild(CHILD, args);

/**
 * Loads the child's modules once and exits: tsx's transform cache is then warm for the
 * measured children (a cold cache adds a one-off peak of ~200 MB).
 */
export async function warmPassChild(): Promise<void> {
  const { code, stderr } = await spawnPass(['--warmup']);
  if (code !== 0) throw new Error(`pass child warm-up exited ${code}: ${stderr.slice(-2000)}`);
}

export async function runPassChild(db: BenchDatabase, settings: PassSettings): Promise<PassReport> {
  const args = ['--database-url', db.url, '--concurrency', String(settings.concurrency), '--page-size', String(settings.pageSize)];
  if (settings.rate !== undefined) args.push('--rate', String(settings.rate));
  if (settings.burst !== undefined) args.push('--burst', String(settings.burst));
  if (db.embedded) args.push('--embedded');
  const { code, stdout, stderr } = await spawnPass(args);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`pass child exited ${code}: ${stderr.slice(-2000)}`);
  return JSON.parse(line) as PassReport;
}
