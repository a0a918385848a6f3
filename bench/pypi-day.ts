/**
 * pypi_day (issue 15): a PyPI day, compressed k times. The Warehouse-shaped synthetic index
 * holds P projects of two releases (PyPI: 600,000), all known to the database (seeded, the
 * listing serial stored as the last serial sync left it, every release checked a moment ago
 * and due again spread over the re-check interval). One `pkgstream run` of the built CLI
 * (releases with both feeds and the serial sync, update) runs at k times PyPI's settings:
 * limit 5·k/s, poll interval 60/k s, sync interval 3600/k s, re-check interval 86,400/k s.
 * Over 86,400/k s, C projects change (PyPI: 5,000 a day), evenly spread with jitter: 90%
 * a new version (on the updates feed, its serial raised), 8% a yank and 2% a removed
 * release (each only its serial raised: Warehouse's feeds list uploads). It reports:
 * - requests: what the index was asked during the day, by kind and in all (the same count
 *   as a real day's: the rates are k times, the time 1/k);
 * - per kind of change, the delay from the change to its event in the outbox
 *   (`package-released`, `package-yanked`, `missing-version`), p50/p99/max in real seconds
 *   (× k), how many were seen, and the interval that bounds it (a new version: the poll
 *   interval; a yank or a removal: the sync interval) with what the p99 and the max are past
 *   it (the queue: waits for the rate, the sync's own reading, the re-check's turn).
 * After the day, it waits up to two sync intervals for the last changes' events.
 */
import { existsSync } from 'node:fs';
import { CLI_PATH } from '../test/support/cli.js';
import { startRunning } from '../test/support/cli-service.js';
import type { BenchOptions } from './support/args.js';
import { databaseKind } from './support/database.js';
import { projectName, versionName } from './support/seed.js';
import type { RequestKind } from './support/synthetic-index.js';
import type { SyntheticWarehouse } from './support/synthetic-warehouse.js';
import { startWarehouseBench } from './support/warehouse-bench.js';
import { now, percentile, progress, round, sleep } from './support/util.js';

const PREFIX = 'pypi';
const VERSIONS = 2;
const DAY_S = 86_400;
/** PyPI's settings the service runs at, k times faster (the service's defaults). */
const POLL_S = 60;
const SYNC_S = 3_600;

type ChangeKind = 'new_version' | 'yank' | 'removal';
const EVENT_OF: Record<ChangeKind, string> = { new_version: 'package-released', yank: 'package-yanked', removal: 'missing-version' };
/** What bounds each kind's delay: the feed's poll or the serial sync. */
const INTERVAL_OF: Record<ChangeKind, number> = { new_version: POLL_S, yank: SYNC_S, removal: SYNC_S };

interface Change {
  readonly kind: ChangeKind;
  readonly project: string;
  readonly version: string;
  /** ms after the day's start. */
  readonly offsetMs: number;
}

export interface ChangeDelays {
  readonly changes: number;
  readonly seen: number;
  readonly p50_s: number;
  readonly p99_s: number;
  readonly max_s: number;
  readonly interval_s: number;
  /** p99 and max past the interval: the queue time. */
  readonly p99_past_interval_s: number;
  readonly max_past_interval_s: number;
}

export interface PypiDayResult {
  readonly projects: number;
  readonly changes: number;
  readonly limit: number;
  readonly compression: number;
  readonly requests: Record<RequestKind, number> & { readonly total: number };
  readonly delays: Record<ChangeKind, ChangeDelays>;
  readonly every_change_seen: boolean;
}

/** A fixed sequence in [0, 1) (an LCG), so every run makes the same day. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** C changes over the day, each of another project (a stride coprime to P walks them all), 90 / 8 / 2 %. */
function dayOfChanges(projects: number, changes: number, dayMs: number): Change[] {
  const next = random(15);
  return Array.from({ length: changes }, (_, n) => {
    const project = projectName(PREFIX, (n * 1_000_003 + 7) % projects);
    const offsetMs = ((n + next()) * dayMs) / changes;
    const share = n % 50;
    if (share < 45) return { kind: 'new_version', project, version: '2.0', offsetMs };
    if (share < 49) return { kind: 'yank', project, version: versionName(0), offsetMs };
    return { kind: 'removal', project, version: versionName(1), offsetMs };
  });
}

function apply(warehouse: SyntheticWarehouse, change: Change): void {
  if (change.kind === 'new_version') warehouse.addVersion(change.project, change.version);
  else if (change.kind === 'yank') warehouse.yank(change.project, change.version);
  else warehouse.removeVersion(change.project, change.version);
}

function delaysOf(kind: ChangeKind, delays: readonly (number | undefined)[], k: number): ChangeDelays {
  const seen = delays.filter((delay): delay is number => delay !== undefined).map((ms) => (ms / 1000) * k);
  const p99 = percentile(seen, 99);
  const max = seen.length ? Math.max(...seen) : Number.NaN;
  const interval = INTERVAL_OF[kind];
  return {
    changes: delays.length,
    seen: seen.length,
    p50_s: round(percentile(seen, 50), 1),
    p99_s: round(p99, 1),
    max_s: round(max, 1),
    interval_s: interval,
    p99_past_interval_s: round(Math.max(0, p99 - interval), 1),
    max_past_interval_s: round(Math.max(0, max - interval), 1),
  };
}

export async function pypiDay(options: BenchOptions): Promise<PypiDayResult & { readonly details: Record<string, unknown> }> {
  if (databaseKind() !== 'postgres') throw new Error('pypi_day: the service and the bench share the database; set TEST_DATABASE_URL');
  if (!existsSync(CLI_PATH)) throw new Error(`pypi_day: ${CLI_PATH} is missing; run npm run build first`);
  const k = options.dayCompression;
  const dayMs = (DAY_S / k) * 1000;
  const limit = options.dayLimit * k;
  progress(`pypi_day: ${options.dayProjects} projects, ${options.dayChanges} changes over ${DAY_S / k} s (k ${k}); limit ${limit}/s, poll ${POLL_S / k} s, sync ${SYNC_S / k} s`);
  const seedStarted = now();
  const bench = await startWarehouseBench({ prefix: PREFIX, projects: options.dayProjects, versionsPerProject: VERSIONS, dueWithinSeconds: DAY_S / k });
  const seedSeconds = round((now() - seedStarted) / 1000, 1);
  progress(`pypi_day: seeded in ${seedSeconds} s`);
  const service = startRunning(['run'], {
    DATABASE_URL: bench.db.url,
    LOG_LEVEL: 'info',
    PKGSTREAM_HTTP_PORT: '0',
    PKGSTREAM_PIPELINES: 'releases,update',
    PKGSTREAM_RATE_LIMIT: String(limit),
    PKGSTREAM_POLL_INTERVAL: String(POLL_S / k),
    PKGSTREAM_SYNC_INTERVAL: String(SYNC_S / k),
    PKGSTREAM_RECHECK_INTERVAL: String(DAY_S / k),
  });
  try {
    await service.log((line) => line.msg === 'pkgstream running', 120_000);
    const changes = dayOfChanges(options.dayProjects, options.dayChanges, dayMs);
    const changedAt: number[] = [];
    const dayStart = now();
    const epochStart = Date.now();
    for (const change of changes) {
      const wait = dayStart + change.offsetMs - now();
      if (wait > 0) await sleep(wait);
      apply(bench.warehouse, change);
      changedAt.push(Date.now());
    }
    const dayEnd = now();
    const inDay = (kind?: RequestKind) => bench.arrivals.times(kind).filter((at) => at >= dayStart && at < dayEnd).length;
    const requests = { feed: inDay('feed'), root: inDay('root'), page: inDay('page'), other: inDay('other'), total: inDay() };
    progress(`pypi_day: the day is over; requests ${JSON.stringify(requests)}; waiting for the last events`);

    const eventTimes = async () => {
      const { rows } = await bench.db.pool.query<{ key: string; at: string }>(
        `SELECT kind || '|' || project || '|' || version AS key, min(extract(epoch FROM created_at) * 1000)::text AS at FROM event WHERE created_at >= to_timestamp($1 / 1000.0) GROUP BY 1`,
        [epochStart],
      );
      return new Map(rows.map((row) => [row.key, Number(row.at)]));
    };
    const keyOf = (change: Change) => `${EVENT_OF[change.kind]}|${change.project}|${change.version}`;
    const drainUntil = now() + (2 * SYNC_S * 1000) / k + 10_000;
    let events = await eventTimes();
    while (changes.some((change) => !events.has(keyOf(change))) && now() < drainUntil) {
      await sleep(1000);
      events = await eventTimes();
    }
    const delayOf = (change: Change, n: number) => {
      const at = events.get(keyOf(change));
      return at === undefined ? undefined : at - (changedAt[n] ?? 0);
    };
    const kinds: ChangeKind[] = ['new_version', 'yank', 'removal'];
    const delays = Object.fromEntries(
      kinds.map((kind) => [kind, delaysOf(kind, changes.flatMap((change, n) => (change.kind === kind ? [delayOf(change, n)] : [])), k)]),
    ) as Record<ChangeKind, ChangeDelays>;
    const everySeen = kinds.every((kind) => delays[kind].seen === delays[kind].changes);
    progress(`pypi_day: delays (real s) ${JSON.stringify(delays)}`);
    const { rows: queuedRows } = await bench.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM package_version WHERE recheck_queued_at IS NOT NULL');
    return {
      projects: options.dayProjects,
      changes: options.dayChanges,
      limit: options.dayLimit,
      compression: k,
      requests,
      delays,
      every_change_seen: everySeen,
      details: {
        seed_s: seedSeconds,
        day_s: round((dayEnd - dayStart) / 1000, 1),
        service_limit_per_s: limit,
        achieved_per_s: round(requests.total / ((dayEnd - dayStart) / 1000), 1),
        max_window: bench.arrivals.busiest().count,
        events_by_kind: Object.fromEntries(kinds.map((kind) => [EVENT_OF[kind], [...events.keys()].filter((key) => key.startsWith(`${EVENT_OF[kind]}|`)).length])),
        rechecks_queued_at_end: Number(queuedRows[0]?.n ?? 0),
      },
    };
  } finally {
    const exit = await service.terminate();
    if (exit.code !== 0) progress(`pypi_day: the service did not exit 0: ${JSON.stringify(exit)}\n${service.stderr().slice(-2000)}`);
    await bench.stop();
  }
}
