/**
 * update_rate: the local index answers every request after L ms; one update pass with
 * rate limit R/s, burst B and concurrency C over P projects (K versions each), the pass in a
 * child process (bench/support/pass-child.ts) and the index in this one. Reports
 * - achieved_per_s: index requests over the pass's wall time, and fraction_of_limit: that
 *   over min(R, C / L) (what the limit and the concurrency allow at that latency);
 * - max_window: the most requests the index saw arrive in any one-second sliding window
 *   (its own counter), which the token bucket bounds by R + B;
 * - speedup_vs_sequential: the time a sequential loop over the same table would take (one
 *   request per row, one at a time, as the replaced batch job did, then the same diff and
 *   database write) over the pass's time. The loop is timed over the first
 *   `--sequential-sample` rows only and extrapolated per row to the whole table.
 */
import { addIndex } from '../src/db/indexes.js';
import { diffRelease } from '../src/domain/release-diff.js';
import { filesOfVersion } from '../src/pipelines/update-project.js';
import { createPackageStore } from '../src/sinks/store-sink.js';
import { createIndexClient } from '../src/sources/index-client/index.js';
import type { PackageStore } from '../src/domain/ports.js';
import type { PackageIndex } from '../src/domain/types.js';
import { startIndexServer } from '../test/support/index-server/index.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase } from './support/database.js';
import { runPassChild } from './support/run-pass.js';
import { seedIndex, seedReleases, storeIndexDigests } from './support/seed.js';
import { now, progress, round } from './support/util.js';
import type { UndiciIndexClient } from '../src/sources/index-client/client.js';

export interface UpdateRateResult {
  readonly latency_ms: number;
  readonly limit: number;
  readonly burst: number;
  readonly concurrency: number;
  readonly achieved_per_s: number;
  readonly fraction_of_limit: number;
  readonly max_window: number;
  readonly speedup_vs_sequential: number;
}

/** The replaced job's way: each row on its own, one request at a time. Seconds per row. */
async function sequentialPerRow(store: PackageStore, client: UndiciIndexClient, index: PackageIndex, sample: number): Promise<number> {
  let rows = 0;
  const started = now();
  for await (const row of store.scanDue({ now: new Date(), pageSize: Math.min(sample, 500), all: true })) {
    const page = (await client.fetchProject(index, row.project)) ?? 'not-found';
    const changes = diffRelease(row, page);
    await store.applyCheck(row, { checkedAt: new Date(), changes, files: filesOfVersion(page, row.version) });
    rows += 1;
    if (rows >= sample) break;
  }
  return (now() - started) / 1000 / rows;
}

export async function updateRate(options: BenchOptions): Promise<UpdateRateResult & { readonly details: Record<string, unknown> }> {
  const { latency, limit, burst, concurrency } = options;
  const rows = options.rateProjects * options.versionsPerProject;
  const shape = { rows, versionsPerProject: options.versionsPerProject, prefix: 'rate' };
  const db = await createBenchDatabase();
  const index = await startIndexServer();
  const client = createIndexClient({ version: 'bench', connections: concurrency });
  try {
    const registered = await addIndex(db.pool, { simpleUrl: `${index.url}/simple`, watchMode: 'all' });
    await seedReleases(db.pool, { ...shape, indexId: registered.id });
    seedIndex(index, { ...shape, indexId: registered.id });
    await storeIndexDigests(db.pool, index, registered.id);
    index.setLatency(latency);
    const store = createPackageStore(db.pool, { analyzeBeforeScan: db.embedded });
    progress(`update_rate: ${rows} rows over ${options.rateProjects} projects; index latency ${latency} ms, limit ${limit}/s, burst ${burst}, concurrency ${concurrency}`);

    index.resetCounters();
    // In a child process: this process's event loop then only serves the index, so the
    // arrival times it counts windows by are not held back by the pass's own work.
    const pass = await runPassChild(db, { concurrency, pageSize: 500, rate: limit, burst });
    const passSeconds = pass.seconds;
    const counters = index.counters.snapshot();
    const requests = index.counters.count('simple-project');
    const achieved = requests / passSeconds;
    const ceiling = Math.min(limit, concurrency / (latency / 1000));
    progress(`update_rate: ${requests} requests in ${round(passSeconds)} s = ${round(achieved)}/s of ${round(ceiling)}/s; max 1-s window ${counters.maxPerSecond}`);

    const sample = Math.min(options.sequentialSample, rows);
    progress(`update_rate: sequential loop over the first ${sample} rows`);
    const perRow = await sequentialPerRow(store, client, registered, sample);
    const sequentialSeconds = perRow * rows;
    progress(`update_rate: sequential ${round(perRow * 1000)} ms per row -> ${round(sequentialSeconds)} s for ${rows} rows (extrapolated)`);

    return {
      latency_ms: latency,
      limit,
      burst,
      concurrency,
      achieved_per_s: round(achieved),
      fraction_of_limit: round(achieved / ceiling, 3),
      max_window: counters.maxPerSecond,
      speedup_vs_sequential: round(sequentialSeconds / passSeconds),
      details: {
        rows,
        projects: options.rateProjects,
        requests,
        pass_seconds: round(passSeconds, 3),
        ceiling_per_s: round(ceiling),
        max_in_flight: counters.maxInFlight,
        status_429: index.counters.count(undefined, 429),
        failed: pass.failed,
        sequential_sample_rows: sample,
        sequential_ms_per_row: round(perRow * 1000),
        sequential_seconds_extrapolated: round(sequentialSeconds),
      },
    };
  } finally {
    await client.close();
    await index.stop();
    await db.close();
  }
}
