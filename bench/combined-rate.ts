/**
 * combined_rate (issue 15): ONE `pkgstream run` of the built CLI with every pipeline
 * (releases with both feeds and the serial sync, update, dispatch to the local Kafka broker
 * and Kubernetes API) on one index host at limit R (burst B), every pipeline with more work
 * queued than the limit lets through:
 * - update: P projects of one release each, all due (never checked);
 * - releases: the updates feed gains F new versions per second (F ≥ R), each also raising
 *   its project's serial, so each serial sync (every few seconds) has pages to read too;
 * - dispatch: every release without a solver run (the seeded ones, the new ones) wants a Job.
 * For PKGSTREAM_VERIFY_SHARE s it reports, measured at the synthetic index:
 * - max_window: the most requests in any 1 s window of the whole run (≤ R + B);
 * - achieved_per_s: requests per second from W s after the first request to the end of the
 *   feed's growth, while all of that work is queued (≥ 0.95 × R), and its fraction of R;
 * - by_kind: those requests by what they asked for (feed, root listing, project page), and
 *   by_pipeline: who asked (the service's rate-limiter counts: releases, update (the
 *   verification share), update-changes (the re-checks the syncs queued, outside it));
 * - queued_at_end: the work still waiting when the window closed (due releases, feed
 *   releases not yet recorded): it was queued throughout.
 * By default it runs at s = 0.2 (the default: update gets R × s, the feeds and syncs the
 * rest) and s = 1 (update may take the whole rate). Needs Postgres and the built CLI.
 */
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CLI_PATH } from '../test/support/cli.js';
import { startRunning } from '../test/support/cli-service.js';
import { startPeerProcess, type PeerProcess } from '../test/support/peers-process.js';
import { sampleSum } from '../test/support/metrics-text.js';
import type { BenchOptions } from './support/args.js';
import { databaseKind } from './support/database.js';
import { projectName } from './support/seed.js';
import type { RequestKind } from './support/synthetic-index.js';
import { startWarehouseBench } from './support/warehouse-bench.js';
import { now, progress, round, sleep } from './support/util.js';

const PREFIX = 'combined';
/** Seconds from the first request before the window opens: the feeds' and the pass's start. */
const WARMUP_S = 3;
const SYNC_INTERVAL_S = 5;
const PIPELINES = ['releases', 'update', 'update-changes'] as const;

export interface CombinedRun {
  readonly verify_share: number;
  readonly window_s: number;
  readonly max_window: number;
  readonly achieved_per_s: number;
  readonly fraction_of_limit: number;
  readonly by_kind: Record<RequestKind, number>;
  readonly by_pipeline: Record<(typeof PIPELINES)[number], number>;
  readonly queued_at_end: { readonly due_releases: number; readonly feed_releases_unrecorded: number };
}

export interface CombinedRateResult {
  readonly limit: number;
  readonly burst: number;
  readonly projects: number;
  readonly feed_per_s: number;
  readonly runs: readonly CombinedRun[];
}

/** The Kafka broker and the Kubernetes API, each a process of its own: the index's arrival times are not held up by their work. */
interface Peers {
  readonly kafka: PeerProcess;
  readonly kube: PeerProcess;
}

function runEnv(url: string, share: number, run: number, peers: Peers, options: BenchOptions): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: url,
    LOG_LEVEL: 'info',
    PKGSTREAM_HTTP_PORT: '0',
    PKGSTREAM_RATE_LIMIT: String(options.combinedLimit),
    PKGSTREAM_RATE_BURST: String(options.burst),
    PKGSTREAM_VERIFY_SHARE: String(share),
    PKGSTREAM_CONCURRENCY: String(options.concurrency),
    PKGSTREAM_POLL_INTERVAL: '1',
    PKGSTREAM_SYNC_INTERVAL: String(SYNC_INTERVAL_S),
    KAFKA_BROKERS: String(peers.kafka.address.brokers),
    KUBECONFIG: String(peers.kube.address.kubeconfig),
    PKGSTREAM_NAMESPACE: 'default',
    PKGSTREAM_SOLVERS: 'solver-bench',
    // Topics and group of their own per run: a run never reads the last one's messages.
    PKGSTREAM_TOPIC_PREFIX: `combined${run}`,
    PKGSTREAM_KAFKA_GROUP: `combined${run}-dispatch`,
  };
}

async function combinedRun(share: number, run: number, peers: Peers, options: BenchOptions): Promise<CombinedRun & { readonly details: Record<string, unknown> }> {
  const projects = options.combinedProjects;
  const bench = await startWarehouseBench({ prefix: PREFIX, projects, versionsPerProject: 1 });
  const service = startRunning(['run'], runEnv(bench.db.url, share, run, peers, options));
  // The index answers in this process: a stall of its event loop lets arrivals pile up and be counted together.
  const indexLoop = monitorEventLoopDelay({ resolution: 10 });
  indexLoop.enable();
  let feeding: NodeJS.Timeout | undefined;
  try {
    await service.log((line) => line.msg === 'pkgstream running', 90_000);
    // The feed gains F versions a second, a tenth of them every 100 ms, each of another project.
    let added = 0;
    const feedStart = now();
    const tick = () => {
      const due = Math.floor(((now() - feedStart) / 1000) * options.combinedFeedRate);
      for (; added < due; added += 1) bench.warehouse.addVersion(projectName(PREFIX, added % projects), `2.${Math.floor(added / projects)}`);
    };
    feeding = setInterval(tick, 100);
    const first = () => bench.arrivals.times()[0] ?? feedStart;
    await sleep(WARMUP_S * 1000);
    const opened = Math.max(first() + WARMUP_S * 1000, now());
    await sleep(opened - now());
    const before = await service.metrics();
    await sleep(options.combinedSeconds * 1000);
    const closed = now();
    const after = await service.metrics();
    clearInterval(feeding);
    feeding = undefined;
    const { rows } = await bench.db.pool.query<{ due: string; recorded: string; jobs: string }>(
      `SELECT count(*) FILTER (WHERE last_checked_at IS NULL AND version = '1.0') AS due, count(*) FILTER (WHERE version LIKE '2.%') AS recorded,
              (SELECT count(*) FROM solver_run) AS jobs FROM package_version`,
    );
    const inWindow = bench.arrivals.times().filter((at) => at >= opened && at < closed).length;
    const byKind = Object.fromEntries((['feed', 'root', 'page', 'other'] as const).map((kind) => [kind, bench.arrivals.times(kind).filter((at) => at >= opened && at < closed).length])) as Record<RequestKind, number>;
    const busiest = bench.arrivals.busiest();
    const requestsOf = (text: string, pipeline: string) => sampleSum(text, 'pkgstream_rate_limiter_wait_seconds_count', { pipeline });
    const result: CombinedRun = {
      verify_share: share,
      window_s: round((closed - opened) / 1000, 1),
      max_window: busiest.count,
      achieved_per_s: round(inWindow / ((closed - opened) / 1000), 1),
      fraction_of_limit: round(inWindow / ((closed - opened) / 1000) / options.combinedLimit, 3),
      by_kind: byKind,
      by_pipeline: Object.fromEntries(PIPELINES.map((pipeline) => [pipeline, requestsOf(after, pipeline) - requestsOf(before, pipeline)])) as CombinedRun['by_pipeline'],
      queued_at_end: { due_releases: Number(rows[0]?.due ?? 0), feed_releases_unrecorded: added - Number(rows[0]?.recorded ?? 0) },
    };
    progress(`combined_rate: share ${share}: ${result.achieved_per_s}/s over ${result.window_s} s (limit ${options.combinedLimit}), max 1-s window ${result.max_window}; by kind ${JSON.stringify(byKind)}; by pipeline ${JSON.stringify(result.by_pipeline)}; queued at the end ${JSON.stringify(result.queued_at_end)}`);
    return {
      ...result,
      details: {
        feed_versions_added: added,
        solver_jobs_created: Number(rows[0]?.jobs ?? 0),
        whole_run_by_kind: bench.arrivals.byKind(),
        startup_s: round((first() - feedStart) / 1000, 1),
        // Seconds after the first request, and after the window opened: whether the busiest second was the start's burst.
        busiest_window_at_s: round((busiest.start - first()) / 1000, 1),
        window_opened_at_s: round((opened - first()) / 1000, 1),
        index_event_loop_delay_max_ms: round(indexLoop.max / 1e6, 1),
        index_event_loop_delay_p99_ms: round(indexLoop.percentile(99) / 1e6, 1),
      },
    };
  } finally {
    indexLoop.disable();
    if (feeding) clearInterval(feeding);
    const exit = await service.terminate();
    if (exit.code !== 0) progress(`combined_rate: the service did not exit 0: ${JSON.stringify(exit)}\n${service.stderr().slice(-2000)}`);
    await bench.stop();
  }
}

export async function combinedRate(options: BenchOptions): Promise<CombinedRateResult & { readonly details: Record<string, unknown> }> {
  if (databaseKind() !== 'postgres') throw new Error('combined_rate: the service and the bench share the database; set TEST_DATABASE_URL');
  if (!existsSync(CLI_PATH)) throw new Error(`combined_rate: ${CLI_PATH} is missing; run npm run build first`);
  progress(`combined_rate: ${options.combinedProjects} due projects, the feed gaining ${options.combinedFeedRate}/s; limit ${options.combinedLimit}/s, burst ${options.burst}; ${options.combinedSeconds} s per share ${options.combinedShares.join(', ')}`);
  const [kafka, kube] = await Promise.all([startPeerProcess(['kafka']), startPeerProcess(['kube', '--job-controller', '300'])]);
  const runs: CombinedRun[] = [];
  const details: Record<string, unknown> = {};
  try {
    for (const [run, share] of options.combinedShares.entries()) {
      const { details: extra, ...result } = await combinedRun(share, run, { kafka, kube }, options);
      runs.push(result);
      details[`share_${share}`] = extra;
    }
  } finally {
    await Promise.all([kafka.stop(), kube.stop()]);
  }
  return { limit: options.combinedLimit, burst: options.burst, projects: options.combinedProjects, feed_per_s: options.combinedFeedRate, runs, details };
}
