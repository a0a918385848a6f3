/**
 * One full update pass (every row) with the real store and index client, in a process of
 * its own: scan_memory gives each table size a heap of its own, and update_rate keeps the
 * pass's work off the event loop of the index it measures (arrivals timestamped late by a
 * busy loop would look bunched). Prints one JSON line: rows, projects, requests, seconds
 * and the peak RSS (`process.resourceUsage().maxRSS`), plus the largest heap seen by a
 * 50 ms sampler.
 *
 *   tsx bench/support/pass-child.ts --database-url URL [--embedded] [--concurrency 16]
 *       [--page-size 500] [--rate 1000000 --burst 1000]
 *   tsx bench/support/pass-child.ts --warmup
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { asyncScheduler, lastValueFrom, tap } from 'rxjs';
import { updatePass, type UpdateOutcome } from '../../src/pipelines/update.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import { createIndexClient } from '../../src/sources/index-client/index.js';
import { countingSink, INDEX_RETRY, outboxRelay } from './ports.js';
import { politeIndexClient } from '../../src/sources/index-client/polite-client.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    embedded: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '16' },
    'page-size': { type: 'string', default: '500' },
    // Unlimited unless told: for scan_memory the index is not the subject.
    rate: { type: 'string', default: '1000000' },
    burst: { type: 'string', default: '1000' },
    warmup: { type: 'boolean', default: false },
  },
});
// A first run only loads (and so caches tsx's transforms of) the modules, then ends.
if (values.warmup) process.exit(0);

const pool = new pg.Pool({ connectionString: values['database-url'], max: values.embedded ? 1 : 10, idleTimeoutMillis: 0 });
const client = createIndexClient({ version: 'bench', connections: Number(values.concurrency) });
const sink = countingSink();
let maxHeap = 0;
const sampler = setInterval(() => (maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed)), 50);
const started = performance.now();
let complete: Extract<UpdateOutcome, { type: 'pass-complete' }> | null = null;
try {
  await lastValueFrom(
    updatePass(
      { store: createPackageStore(pool, { analyzeBeforeScan: values.embedded }), index: politeIndexClient(client, { rate: Number(values.rate), burst: Number(values.burst) }).forPipeline('update'), scheduler: asyncScheduler },
      {
        concurrency: Number(values.concurrency),
        pageSize: Number(values['page-size']),
        all: true,
        retry: INDEX_RETRY,
        deferOnFailureMs: 60_000,
      },
    ).pipe(
      tap((outcome) => {
        if (outcome.type === 'pass-complete') complete = outcome;
      }),
    ),
  );
  // What the pass wrote to the outbox, published as the service's relay does.
  await outboxRelay(pool, sink).flush();
} finally {
  clearInterval(sampler);
  await client.close();
  await pool.end();
}
const seconds = (performance.now() - started) / 1000;
const done = complete as Extract<UpdateOutcome, { type: 'pass-complete' }> | null;
process.stdout.write(
  `${JSON.stringify({
    rows: done?.rows ?? 0,
    projects: done?.projects ?? 0,
    requests: done?.requests ?? 0,
    failed: done?.failed ?? 0,
    events: sink.events(),
    seconds,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    max_heap_mb: maxHeap / (1024 * 1024),
  })}\n`,
);
