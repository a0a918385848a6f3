/**
 * scan_memory: peak RSS of a full update pass over a small and a large table; a pipeline
 * whose memory is bounded by `concurrency + page size` (DESIGN.md, Backpressure) gives a
 * ratio of about 1. Each pass runs in a child process of its own (bench/support/pass-child.ts)
 * so that the two sizes do not share a heap; the database (embedded PGlite lives in this
 * process, served on loopback) and the index (bench/support/synthetic-index.ts, a cheap page
 * made from the name) stay in this process and do not count.
 *
 * Rows are inserted with generate_series; the large pass adds rows to the small table and
 * re-checks all of them. Projects have `--scan-versions-per-project` releases each (10 by
 * default: PyPI's mean is about ten releases per project).
 */
import { addIndex } from '../src/db/indexes.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase } from './support/database.js';
import { runPassChild, warmPassChild, type PassReport } from './support/run-pass.js';
import { seedReleases } from './support/seed.js';
import { startSyntheticIndex } from './support/synthetic-index.js';
import { progress, round } from './support/util.js';

export interface ScanMemoryResult {
  readonly rows_small: number;
  readonly rows_large: number;
  readonly rss_small_mb: number;
  readonly rss_large_mb: number;
  readonly ratio: number;
}

export async function scanMemory(options: BenchOptions): Promise<ScanMemoryResult & { readonly details: Record<string, unknown> }> {
  const db = await createBenchDatabase();
  const versionsPerProject = options.scanVersionsPerProject;
  const index = await startSyntheticIndex(versionsPerProject);
  try {
    const registered = await addIndex(db.pool, { simpleUrl: index.simpleUrl, watchMode: 'all' });
    const shape = { indexId: registered.id, versionsPerProject, prefix: 'scan' };
    const passes: PassReport[] = [];
    await warmPassChild();
    let seeded = 0;
    for (const rows of [options.rowsSmall, options.rowsLarge]) {
      await seedReleases(db.pool, { ...shape, rows, from: seeded });
      seeded = rows;
      progress(`scan_memory: ${rows} rows seeded; a full update pass in a child process`);
      const report = await runPassChild(db, { concurrency: options.scanConcurrency, pageSize: options.scanPageSize });
      if (report.rows !== rows) throw new Error(`scan_memory: the pass read ${report.rows} rows of ${rows}`);
      progress(`scan_memory: ${rows} rows in ${round(report.seconds)} s, peak RSS ${round(report.max_rss_mb, 1)} MB, peak heap ${round(report.max_heap_mb, 1)} MB`);
      passes.push(report);
    }
    const [small, large] = passes as [PassReport, PassReport];
    return {
      rows_small: options.rowsSmall,
      rows_large: options.rowsLarge,
      rss_small_mb: round(small.max_rss_mb, 1),
      rss_large_mb: round(large.max_rss_mb, 1),
      ratio: round(large.max_rss_mb / small.max_rss_mb, 3),
      details: {
        heap_small_mb: round(small.max_heap_mb, 1),
        heap_large_mb: round(large.max_heap_mb, 1),
        seconds_small: round(small.seconds),
        seconds_large: round(large.seconds),
        rows_per_s_large: round(large.rows / large.seconds, 1),
        requests_large: large.requests,
        failed: small.failed + large.failed,
        events: small.events + large.events,
        concurrency: options.scanConcurrency,
        page_size: options.scanPageSize,
        versions_per_project: versionsPerProject,
      },
    };
  } finally {
    await index.stop();
    await db.close();
  }
}
