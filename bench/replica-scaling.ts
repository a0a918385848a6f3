/**
 * replica_scaling (issue 17): the update pass over P projects (one release each) done by
 * 1, 2 .. N replicas, each a `pkgstream run` child process of the built CLI (dist/cli.js)
 * running only the update pipeline, all on one fresh Postgres schema per replica count,
 * against the synthetic index answering every page after L ms. The index's rate limit R is
 * the service's (the replicas share it); each replica has concurrency C, so one replica
 * does at most C / L requests per second. The defaults (R 200, C 5, L 50 ms) make one and
 * two replicas bound by their concurrency and three by the shared limit. Per replica count
 * n it reports
 * - seconds: from the index's first project request to the one that completed the set
 *   (every project requested at least once), and per_s: P over that time;
 * - ceiling_per_s: min(R, n × C / L), and fraction_of_ceiling: per_s over it;
 * - fraction_of_linear: per_s over min(R, n × what one replica did): how much of n copies
 *   of one replica n replicas achieve (a slot's round trip is more than L);
 * - max_window: the most project requests the index saw in any 1 s window, which a shared
 *   limit bounds by R + B (burst) whatever n is;
 * - duplicates: requests beyond the first of each project before the set was complete
 *   (two replicas checking the same project in one pass);
 * - requests_by_replica: each replica's own count of its index requests.
 * The replicas are stopped (SIGTERM) once the database has every release checked. Needs a
 * Postgres server: an embedded database serves one process.
 */
import { existsSync } from 'node:fs';
import type pg from 'pg';
import { addIndex } from '../src/db/indexes.js';
import { CLI_PATH } from '../test/support/cli.js';
import { startRunning, type RunningCli } from '../test/support/cli-service.js';
import { sample, sampleSum } from '../test/support/metrics-text.js';
import { maxInWindow } from '../test/support/time-windows.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase, databaseKind } from './support/database.js';
import { seedReleases } from './support/seed.js';
import { startSyntheticIndex } from './support/synthetic-index.js';
import { now, progress, round, sleep, until } from './support/util.js';

export interface ReplicaRun {
  readonly replicas: number;
  readonly seconds: number;
  readonly per_s: number;
  readonly ceiling_per_s: number;
  readonly fraction_of_ceiling: number;
  readonly fraction_of_linear: number;
  readonly max_window: number;
  readonly duplicates: number;
  readonly requests_by_replica: readonly number[];
}

export interface ReplicaScalingResult {
  readonly projects: number;
  readonly latency_ms: number;
  readonly limit: number;
  readonly burst: number;
  readonly concurrency: number;
  readonly runs: readonly ReplicaRun[];
  /** seconds with one replica over seconds with the most. */
  readonly speedup: number;
}

/** The project requests as the index sees them: arrival times, and when the last unseen project came. */
function arrivalTally(projects: number) {
  const arrivals: number[] = [];
  const seen = new Set<string>();
  let completedAt: number | undefined;
  return {
    add(project: string) {
      const at = now();
      arrivals.push(at);
      seen.add(project);
      if (completedAt === undefined && seen.size === projects) completedAt = at;
    },
    arrivals: () => arrivals,
    completedAt: () => completedAt,
    /** Requests up to the completing one, beyond the first of each project. */
    duplicates: () => arrivals.filter((at) => completedAt !== undefined && at <= completedAt).length - projects,
  };
}

/** `pkgstream run` of the update pipeline only, with the shared limit and a short lease TTL (live counts settle in seconds). */
function replicaEnv(url: string, options: BenchOptions): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: url,
    LOG_LEVEL: 'info',
    PKGSTREAM_HTTP_PORT: '0',
    PKGSTREAM_PIPELINES: 'update',
    PKGSTREAM_RATE_LIMIT: String(options.replicaLimit),
    // Only the update pipeline runs: its re-checks may take the whole rate, not the default share.
    PKGSTREAM_VERIFY_SHARE: '1',
    PKGSTREAM_RATE_BURST: String(options.burst),
    PKGSTREAM_CONCURRENCY: String(options.replicaConcurrency),
    PKGSTREAM_LEASE_TTL: '3',
  };
}

async function checkedReleases(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM package_version WHERE last_checked_at IS NOT NULL');
  return Number(rows[0]?.n ?? 0);
}

async function untilAllChecked(pool: pg.Pool, projects: number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  while ((await checkedReleases(pool)) < projects) {
    if (now() > deadline) throw new Error(`replica_scaling: not every release checked in the database within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** Seconds from the index's first request to each replica's joining (its log line's time); a late one worked less of the pass. */
async function joinedAfter(running: readonly RunningCli[], firstRequest: number): Promise<(number | null)[]> {
  const firstEpochMs = performance.timeOrigin + firstRequest;
  return Promise.all(
    running.map(async (replica) => {
      const line = await replica.log((entry) => String(entry.msg).startsWith('joined the replicas'), 1000).catch(() => undefined);
      return typeof line?.time === 'number' ? round((line.time - firstEpochMs) / 1000, 1) : null;
    }),
  );
}

type MeasuredRun = Omit<ReplicaRun, 'fraction_of_linear'>;

async function runReplicas(replicas: number, options: BenchOptions): Promise<MeasuredRun & { readonly details: Record<string, unknown> }> {
  const projects = options.replicaProjects;
  const ceiling = Math.min(options.replicaLimit, (replicas * options.replicaConcurrency) / (options.latency / 1000));
  const timeoutMs = 120_000 + (3 * 1000 * projects) / ceiling;
  const tally = arrivalTally(projects);
  const db = await createBenchDatabase();
  const index = await startSyntheticIndex(1, { latencyMs: options.latency, onRequest: (project) => tally.add(project) });
  const running: RunningCli[] = [];
  try {
    const registered = await addIndex(db.pool, { simpleUrl: index.simpleUrl, watchMode: 'all' });
    await seedReleases(db.pool, { indexId: registered.id, rows: projects, versionsPerProject: 1, prefix: 'replica' });
    const spawnedAt = now();
    for (let n = 0; n < replicas; n += 1) running.push(startRunning(['run'], replicaEnv(db.url, options)));
    const done = () => {
      const gone = running.find((replica) => replica.child.exitCode !== null || replica.child.signalCode !== null);
      if (gone) throw new Error(`replica_scaling: a replica exited (${String(gone.child.exitCode ?? gone.child.signalCode)}):\n${gone.stderr().slice(-2000)}`);
      return tally.completedAt() !== undefined;
    };
    await until(done, `every project requested by ${replicas} replica(s)`, timeoutMs, 50);
    await untilAllChecked(db.pool, projects, 60_000);
    const checkedAt = now();
    const metrics = await Promise.all(running.map((replica) => replica.metrics()));
    const first = tally.arrivals()[0] ?? spawnedAt;
    const seconds = ((tally.completedAt() ?? first) - first) / 1000;
    const run: MeasuredRun = {
      replicas,
      seconds: round(seconds, 1),
      per_s: round(projects / seconds, 1),
      ceiling_per_s: round(ceiling, 1),
      fraction_of_ceiling: round(projects / seconds / ceiling, 3),
      max_window: maxInWindow(tally.arrivals(), 1000),
      duplicates: tally.duplicates(),
      requests_by_replica: metrics.map((text) => sampleSum(text, 'pkgstream_index_requests_total')),
    };
    progress(`replica_scaling: ${replicas} replica(s): ${projects} projects in ${run.seconds} s = ${run.per_s}/s of ${run.ceiling_per_s}/s; max 1-s window ${run.max_window}; ${run.duplicates} duplicate requests; by replica ${run.requests_by_replica.join(', ')}`);
    return {
      ...run,
      details: {
        startup_s: round((first - spawnedAt) / 1000, 1),
        joined_after_first_request_s: await joinedAfter(running, first),
        until_db_checked_s: round((checkedAt - spawnedAt) / 1000, 1),
        replicas_live_seen: metrics.map((text) => sample(text, 'pkgstream_replicas_live', {})),
      },
    };
  } finally {
    const exits = await Promise.all(running.map((replica) => replica.terminate()));
    const unclean = exits.filter((exit) => exit.code !== 0);
    if (unclean.length > 0) progress(`replica_scaling: ${unclean.length} replica(s) did not exit 0: ${JSON.stringify(unclean)}`);
    await index.stop();
    await db.close();
  }
}

export async function replicaScaling(options: BenchOptions): Promise<ReplicaScalingResult & { readonly details: Record<string, unknown> }> {
  if (databaseKind() !== 'postgres') throw new Error('replica_scaling: replicas share a Postgres database; set TEST_DATABASE_URL');
  if (!existsSync(CLI_PATH)) throw new Error(`replica_scaling: ${CLI_PATH} is missing; run npm run build first`);
  progress(`replica_scaling: ${options.replicaProjects} projects; index latency ${options.latency} ms; limit ${options.replicaLimit}/s shared, burst ${options.burst}; concurrency ${options.replicaConcurrency} per replica`);
  const runs: ReplicaRun[] = [];
  const details: Record<string, unknown> = {};
  for (let replicas = 1; replicas <= options.replicas; replicas += 1) {
    const { details: extra, ...run } = await runReplicas(replicas, options);
    const linear = Math.min(options.replicaLimit, replicas * (runs[0]?.per_s ?? run.per_s));
    runs.push({ ...run, fraction_of_linear: round(run.per_s / linear, 3) });
    details[`replicas_${replicas}`] = extra;
  }
  return {
    projects: options.replicaProjects,
    latency_ms: options.latency,
    limit: options.replicaLimit,
    burst: options.burst,
    concurrency: options.replicaConcurrency,
    runs,
    speedup: round((runs[0]?.seconds ?? 0) / (runs.at(-1)?.seconds ?? 1)),
    details,
  };
}
