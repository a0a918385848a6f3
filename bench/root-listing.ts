/**
 * root_listing: parse a root listing of PyPI's size (600,000 projects by default) as the
 * client does, streamed and keeping only the changed projects, beside `JSON.parse` of the
 * whole body; and the streamed parse of a tenth of it, for the ratio that shows memory
 * stays flat as the listing grows (target ≤ 1.2). Each parse runs in a child process of
 * its own (bench/support/listing-child.ts).
 */
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './support/args.js';
import { runTsxChild } from './support/tsx-child.js';
import { progress, round } from './support/util.js';

interface ParseReport {
  readonly listed: number;
  readonly kept: number;
  readonly seconds: number;
  readonly max_rss_mb: number;
}

export interface RootListingResult {
  readonly projects: number;
  readonly changed: number;
  readonly streamed_seconds: number;
  readonly streamed_rss_mb: number;
  readonly whole_seconds: number;
  readonly whole_rss_mb: number;
  readonly streamed_small_rss_mb: number;
  /** Streamed RSS at `projects` over streamed RSS at a tenth of it. */
  readonly rss_ratio: number;
}

const CHILD = fileURLToPath(new URL('./support/listing-child.ts', import.meta.url));

/** The child's report; `--warmup` only loads its modules (tsx's transform cache warm for the measured runs) and reports nothing. */
async function runChild(args: readonly string[]): Promise<ParseReport | null> {
  const { code, stdout, stderr } = await runTsxChild(CHILD, args);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || (line !== '' && !line.startsWith('{'))) throw new Error(`listing child exited ${code}: ${stderr.slice(-2000)}`);
  return line === '' ? null : (JSON.parse(line) as ParseReport);
}

export async function rootListing(options: BenchOptions): Promise<RootListingResult & { readonly details: Record<string, unknown> }> {
  const projects = options.listingProjects;
  const changed = options.listingChanged;
  await runChild(['--warmup']);
  const parse = async (mode: 'streamed' | 'whole', size: number) => {
    const report = await runChild(['--projects', String(size), '--changed', String(changed), '--mode', mode]);
    if (report === null) throw new Error(`root_listing ${mode}: the child reported nothing`);
    progress(`root_listing: ${mode} ${size} projects: ${round(report.seconds)} s, peak RSS ${round(report.max_rss_mb)} MB, ${report.kept} kept`);
    if (report.listed !== size || report.kept !== Math.min(changed, size)) throw new Error(`root_listing ${mode}: listed ${report.listed}, kept ${report.kept}`);
    return report;
  };
  const small = await parse('streamed', Math.round(projects / 10));
  const streamed = await parse('streamed', projects);
  const whole = await parse('whole', projects);
  return {
    projects,
    changed,
    streamed_seconds: round(streamed.seconds),
    streamed_rss_mb: round(streamed.max_rss_mb),
    whole_seconds: round(whole.seconds),
    whole_rss_mb: round(whole.max_rss_mb),
    streamed_small_rss_mb: round(small.max_rss_mb),
    rss_ratio: round(streamed.max_rss_mb / small.max_rss_mb),
    details: { small_projects: Math.round(projects / 10), small_seconds: round(small.seconds) },
  };
}
