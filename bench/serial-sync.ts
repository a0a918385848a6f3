/**
 * serial_sync (the sync_unchanged and sync_changed): a Warehouse-shaped local index of
 * N projects (two releases each, with serials and ETags), an index watching every project.
 * After a first sync (`syncOnce`, as `once sync` runs it) has registered them all:
 * - unchanged: a sync makes 1 root listing request and 0 page requests; a verification pass
 *   of every release (`once update --all`) gets a 304 for every page and emits nothing;
 * - changed: 1% of the projects change, a quarter each by a new version, a yank, a file's
 *   changed sha256 and the project's removal; the next sync reads the listing and exactly
 *   those pages (each changed page checked whole, each removed project's 404), and reports
 *   each change once; a sync after it reads no page and reports nothing.
 */
import { asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { addIndex } from '../src/db/indexes.js';
import { syncOnce } from '../src/pipelines/releases.js';
import { updatePass } from '../src/pipelines/update.js';
import { createPackageStore, createPageValidatorStore, createSerialSyncStore } from '../src/sinks/store-sink.js';
import { createIndexClient } from '../src/sources/index-client/index.js';
import { startIndexServer } from '../test/support/index-server/index.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase } from './support/database.js';
import { countingSink, INDEX_RETRY, outboxRelay } from './support/ports.js';
import { projectName, seedIndex, versionName, wheelFile } from './support/seed.js';
import { now, progress, round } from './support/util.js';

export interface SerialSyncResult {
  readonly projects: number;
  readonly unchanged_listing_requests: number;
  readonly unchanged_page_requests: number;
  readonly verification_page_requests: number;
  readonly verification_not_modified: number;
  readonly verification_events: number;
  readonly changed_projects: number;
  readonly changed_listing_requests: number;
  readonly changed_page_requests: number;
  readonly changes_reported: Record<string, number>;
  readonly repeated_events: number;
  readonly after_page_requests: number;
  readonly after_events: number;
}

const VERSIONS = 2;
const CHANGES = ['new version', 'yank', 'hash change', 'removal'] as const;

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
    const validators = createPageValidatorStore(db.pool);
    const ports = { store, index: client, scheduler: asyncScheduler, serialSync: createSerialSyncStore(db.pool), validators };
    const sync = () => lastValueFrom(syncOnce(ports, { pollIntervalMs: 60_000, concurrency: options.concurrency, retry: INDEX_RETRY }).pipe(toArray()));
    const verify = () =>
      lastValueFrom(
        updatePass({ store, index: client, scheduler: asyncScheduler, validators }, { concurrency: options.concurrency, pageSize: 500, all: true, retry: INDEX_RETRY, deferOnFailureMs: 60_000 }).pipe(toArray()),
      );
    /** What one step asked of the index, and what it announced. */
    const step = async (name: string, work: () => Promise<unknown>) => {
      index.resetCounters();
      const before = { events: sink.events(), kinds: sink.byKind() };
      const started = now();
      await work();
      await relay.flush();
      const kinds = sink.byKind();
      const events: Record<string, number> = {};
      for (const [kind, n] of Object.entries(kinds)) if (n !== (before.kinds[kind] ?? 0)) events[kind] = n - (before.kinds[kind] ?? 0);
      const figures = {
        listing: index.counters.count('simple-index'),
        pages: index.counters.count('simple-project'),
        not_modified: index.counters.count('simple-project', 304),
        not_found: index.counters.count('simple-project', 404),
        events: sink.events() - before.events,
        by_kind: events,
        seconds: round((now() - started) / 1000),
      };
      progress(`serial_sync: ${name}: ${JSON.stringify(figures)}`);
      return figures;
    };

    const first = await step(`first sync of ${projects} projects`, sync);
    // Steady state: every release checked lately, nothing due.
    await db.pool.query(`UPDATE package_version SET next_due_at = now() + interval '7 days', last_checked_at = now()`);
    const unchanged = await step('sync, nothing changed', sync);
    const verification = await step('verification pass of every release (once update --all)', verify);

    const changed = Math.max(CHANGES.length, Math.round(projects / 100));
    const stride = Math.floor(projects / changed);
    for (let n = 0; n < changed; n += 1) {
      const project = projectName('sync', n * stride);
      const change = CHANGES[n % CHANGES.length];
      if (change === 'new version') index.addRelease(project, `${VERSIONS}.0`);
      else if (change === 'yank') index.yank(project, versionName(0), 'bench');
      else if (change === 'hash change') index.setSha(project, versionName(0), wheelFile(project, versionName(0)), 'f'.repeat(64));
      else index.removeProject(project);
    }
    const changedSync = await step(`sync after ${changed} projects changed`, sync);
    const after = await step('sync after that', sync);
    return {
      projects,
      unchanged_listing_requests: unchanged.listing,
      unchanged_page_requests: unchanged.pages,
      verification_page_requests: verification.pages,
      verification_not_modified: verification.not_modified,
      verification_events: verification.events,
      changed_projects: changed,
      changed_listing_requests: changedSync.listing,
      changed_page_requests: changedSync.pages,
      changes_reported: changedSync.by_kind,
      repeated_events: sink.repeats(),
      after_page_requests: after.pages,
      after_events: after.events,
      details: { first_sync: first, unchanged, verification, changed_sync: changedSync, after },
    };
  } finally {
    await client.close();
    await index.stop();
    await db.close();
  }
}
