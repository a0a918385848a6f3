/**
 * serial_sync (the sync_unchanged and sync_changed): a Warehouse-shaped local
 * index of N projects (two releases each, with serials), an index watching every project.
 * After a first sync (`syncOnce`, as `once sync` runs it) has registered them all:
 * - unchanged: a sync makes 1 root listing request and 0 page requests;
 * - changed: 1% of the projects change (half get a new version, half a yank); the sync
 *   reads the listing and exactly those pages, records the new versions, and the update
 *   pass of what it brought due (due releases only, as `run` does) reports each yank once.
 */
import { asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { addIndex } from '../src/db/indexes.js';
import { syncOnce } from '../src/pipelines/releases.js';
import { updatePass } from '../src/pipelines/update.js';
import { createPackageStore, createSerialSyncStore } from '../src/sinks/store-sink.js';
import { createIndexClient } from '../src/sources/index-client/index.js';
import { startIndexServer } from '../test/support/index-server/index.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase } from './support/database.js';
import { countingSink, INDEX_RETRY, outboxRelay } from './support/ports.js';
import { projectName, seedIndex, versionName } from './support/seed.js';
import { now, progress, round } from './support/util.js';

export interface SerialSyncResult {
  readonly projects: number;
  readonly unchanged_listing_requests: number;
  readonly unchanged_page_requests: number;
  readonly changed_projects: number;
  readonly changed_listing_requests: number;
  readonly changed_page_requests: number;
  readonly new_versions_recorded: number;
  readonly yanks_reported: number;
}

const VERSIONS = 2;

export async function serialSync(options: BenchOptions): Promise<SerialSyncResult & { readonly details: Record<string, unknown> }> {
  const projects = options.syncProjects;
  const db = await createBenchDatabase();
  const index = await startIndexServer();
  const client = createIndexClient({ version: 'bench', connections: options.concurrency });
  try {
    const registered = await addIndex(db.pool, { simpleUrl: `${index.url}/simple`, watchMode: 'all' });
    seedIndex(index, { rows: projects * VERSIONS, versionsPerProject: VERSIONS, prefix: 'sync', indexId: registered.id });
    const sink = countingSink();
    const relay = outboxRelay(db.pool, sink);
    const store = createPackageStore(db.pool, { analyzeBeforeScan: db.embedded });
    const ports = { store, index: client, scheduler: asyncScheduler, serialSync: createSerialSyncStore(db.pool) };
    const sync = () => lastValueFrom(syncOnce(ports, { pollIntervalMs: 60_000, concurrency: options.concurrency, retry: INDEX_RETRY }).pipe(toArray()));
    const requests = async (work: () => Promise<unknown>) => {
      index.resetCounters();
      const started = now();
      await work();
      return { listing: index.counters.count('simple-index'), pages: index.counters.count('simple-project'), seconds: round((now() - started) / 1000) };
    };

    const first = await requests(sync);
    await relay.flush();
    progress(`serial_sync: first sync of ${projects} projects: ${first.listing} listing, ${first.pages} pages in ${first.seconds} s`);
    // Steady state: every release checked lately, nothing due.
    await db.pool.query(`UPDATE package_version SET next_due_at = now() + interval '7 days', last_checked_at = now()`);
    const unchanged = await requests(sync);
    progress(`serial_sync: unchanged: ${unchanged.listing} listing, ${unchanged.pages} pages`);

    const changed = Math.max(2, Math.round(projects / 100));
    for (let n = 0; n < changed; n += 1) {
      const project = projectName('sync', n * Math.floor(projects / changed));
      if (n % 2 === 0) index.addRelease(project, `${VERSIONS}.0`);
      else index.yank(project, versionName(0), 'bench');
    }
    const before = { ...sink.byKind() };
    const changedSync = await requests(sync);
    const check = await requests(() =>
      lastValueFrom(updatePass({ store, index: client, scheduler: asyncScheduler }, { concurrency: options.concurrency, pageSize: 500, all: false, retry: INDEX_RETRY, deferOnFailureMs: 60_000 }).pipe(toArray())),
    );
    await relay.flush();
    const after = sink.byKind();
    const delta = (kind: string) => (after[kind] ?? 0) - (before[kind] ?? 0);
    progress(`serial_sync: ${changed} changed: sync ${changedSync.listing} listing + ${changedSync.pages} pages; update pass of the due ones ${check.pages} pages; events ${JSON.stringify(after)}`);
    return {
      projects,
      unchanged_listing_requests: unchanged.listing,
      unchanged_page_requests: unchanged.pages,
      changed_projects: changed,
      changed_listing_requests: changedSync.listing,
      changed_page_requests: changedSync.pages,
      new_versions_recorded: delta('package-released'),
      yanks_reported: delta('package-yanked'),
      details: { first_sync: first, unchanged, changed_sync: changedSync, update_pass_of_due: check, events_after: after },
    };
  } finally {
    await client.close();
    await index.stop();
    await db.close();
  }
}
