/**
 * update_requests: N versions over P projects (about N/P each) in the store, the local
 * index serving exactly them; one update pass (`updatePass`, every row, real store, real
 * index client). The index counts the requests: one per project (P), where the batch job
 * the pipeline replaced made one per version (N).
 */
import { asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { addIndex } from '../src/db/indexes.js';
import { updatePass } from '../src/pipelines/update.js';
import { createPackageStore } from '../src/sinks/store-sink.js';
import { createIndexClient } from '../src/sources/index-client/index.js';
import { startIndexServer } from '../test/support/index-server/index.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase } from './support/database.js';
import { countingSink, INDEX_RETRY, outboxRelay } from './support/ports.js';
import { seedIndex, seedReleases, storeIndexDigests } from './support/seed.js';
import { now, progress, round } from './support/util.js';

export interface UpdateRequestsResult {
  readonly versions: number;
  readonly projects: number;
  readonly requests: number;
}

export async function updateRequests(options: BenchOptions): Promise<UpdateRequestsResult & { readonly details: Record<string, unknown> }> {
  const versionsPerProject = Math.ceil(options.versions / options.projects);
  const shape = { rows: options.versions, versionsPerProject, prefix: 'req' };
  const db = await createBenchDatabase();
  const index = await startIndexServer();
  const client = createIndexClient({ version: 'bench', connections: options.concurrency });
  try {
    const registered = await addIndex(db.pool, { simpleUrl: `${index.url}/simple`, watchMode: 'all' });
    await seedReleases(db.pool, { ...shape, indexId: registered.id });
    seedIndex(index, { ...shape, indexId: registered.id });
    await storeIndexDigests(db.pool, index, registered.id);
    const projects = Math.ceil(options.versions / versionsPerProject);
    progress(`update_requests: ${options.versions} versions over ${projects} projects seeded; one update pass`);
    index.resetCounters();
    const sink = countingSink();
    const started = now();
    const outcomes = await lastValueFrom(
      updatePass(
        { store: createPackageStore(db.pool, { analyzeBeforeScan: db.embedded }), index: client, scheduler: asyncScheduler },
        {
          concurrency: options.concurrency,
          pageSize: 500,
          all: true,
          retry: INDEX_RETRY,
          deferOnFailureMs: 60_000,
        },
      ).pipe(toArray()),
    );
    const elapsedMs = now() - started;
    // What the pass wrote to the outbox, published as the service's relay does.
    await outboxRelay(db.pool, sink).flush();
    const complete = outcomes.find((outcome) => outcome.type === 'pass-complete');
    const requests = index.counters.count('simple-project');
    progress(`update_requests: ${requests} index requests (pipeline counted ${complete?.type === 'pass-complete' ? complete.requests : '?'}) in ${round(elapsedMs / 1000)} s`);
    return {
      versions: options.versions,
      projects,
      requests,
      details: {
        all_requests: index.counters.snapshot().total,
        pass_seconds: round(elapsedMs / 1000),
        rows_per_s: round(options.versions / (elapsedMs / 1000), 1),
        events: sink.events(),
        failed: complete?.type === 'pass-complete' ? complete.failed : null,
      },
    };
  } finally {
    await client.close();
    await index.stop();
    await db.close();
  }
}
