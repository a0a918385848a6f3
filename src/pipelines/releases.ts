/**
 * The `releases` pipeline (replaces the release watcher): for every enabled index with
 * feeds, poll its updates feed (and, for an index watching every project, its new-projects
 * feed); keep the items newer than the stored checkpoint; for a `seen` index drop projects
 * the database does not know; read each project's page once per poll (rate-limited,
 * retried); record the new releases with their sha256 and announce them; store the
 * checkpoint only once all of that is durable. A poll that does not overlap the previous
 * one is a gap: the projects that may have changed are read again so no release is missed
 * (gap-backfill.ts: by serial where the index keeps them; one backfill for both feeds).
 * A project page the index will not give goes to attention; a store write (the rows and
 * their events, in one transaction) that still fails after its retries fails the pipeline instead (the supervisor restarts
 * it and the poll's items are read again), so the checkpoint never passes a release that
 * is neither recorded nor announced.
 *
 * Indexes without feeds get their releases from the update pipeline, which reads every
 * known project's page when it falls due (and a registered project without releases in
 * its next pass) and records the versions it did not know.
 */
import { EMPTY, NEVER, concat, defer, from, merge, of, throwError, timer, type Observable, type SchedulerLike } from 'rxjs';
import { catchError, concatMap, exhaustMap, filter, ignoreElements, mergeMap, retry, takeUntil, takeWhile, tap, timeout, toArray } from 'rxjs/operators';
import { releaseKey } from '../domain/pep440.js';
import { errorCode } from '../domain/errors.js';
import { canonicalizeName } from '../domain/pep503.js';
import type { IndexClient, Leases, SerialSyncStore, PackageStore } from '../domain/ports.js';
import type { FeedItem, FeedKind, PackageEvent, PackageIndex } from '../domain/types.js';
import { pullMap } from '../operators/pull-map.js';
import { whileLeased } from '../operators/while-leased.js';
import { backoffDelay } from '../domain/backoff.js';
import { hasRetriableFlag, type RetryOutcome } from '../operators/retry-backoff.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { checkpointFromPosition, feedSource, positionFromCheckpoint, type FeedEvent } from '../sources/feed-source.js';
import { recordNewReleases, unknownReleases } from './new-releases.js';
import { IndexError } from '../sources/index-client/errors.js';
import { indexHost } from '../domain/index-host.js';
import { createBackfillQueue, planBackfill, type BackfillPlan } from './gap-backfill.js';
import { createProjectFetcher, type FetchedPage, type ProjectFetcher, type ProjectRequest, type RetryPolicy } from './project-fetcher.js';
import { stageMeter } from './stage-meter.js';

export interface ReleasesPorts {
  readonly store: PackageStore;
  readonly index: IndexClient;
  readonly scheduler: SchedulerLike;
  /** Replicas sharing the database: an index's feeds are polled by the one holding its lease. Absent: this process alone. */
  readonly leases?: Leases;
  /** Where gap backfills stand in the index's serials; absent (a dry run): every backfill reads every project. */
  readonly serialSync?: SerialSyncStore;
}

export interface ReleasesOptions {
  readonly pollIntervalMs: number;
  /** Projects handled at once. */
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  /**
   * Longest one poll waits for a project's page, its retries included: a page dripping or
   * held back by a long Retry-After goes to attention past it, and the poll's checkpoint
   * moves on with what is done (absent: no bound beyond the client's own timeouts).
   */
  readonly pageDeadlineMs?: number;
  /** Projects whose releases also go out as `release-trigger`. */
  readonly releaseTriggers?: readonly string[];
  readonly random?: () => number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** When it emits, polling stops; the pipeline completes once the current poll's work is done. */
  readonly stop$?: Observable<void>;
  /** Poll each feed once (and backfill on a gap), then complete: `pkgstream once releases`. */
  readonly onePoll?: boolean;
  /**
   * Between serial syncs of each watched index (a scheduled backfill: the listing, then the
   * projects whose serial rose); absent: only a gap backfills.
   */
  readonly syncIntervalMs?: number;
}

export type ReleasesOutcome =
  | { readonly type: 'released'; readonly indexUrl: string; readonly project: string; readonly events: readonly PackageEvent[]; readonly backfill: boolean }
  | { readonly type: 'failed'; readonly indexUrl: string; readonly project: string; readonly code: string; readonly message: string }
  | { readonly type: 'gap'; readonly indexUrl: string; readonly feed: FeedKind }
  | { readonly type: 'synced'; readonly indexUrl: string; readonly basis: BackfillPlan['basis']; readonly projects: number }
  | { readonly type: 'poll'; readonly indexUrl: string; readonly feed: FeedKind; readonly items: number; readonly status: 'items' | 'not-modified' | 'error' };

const PIPELINE = 'releases' as const;

interface Context {
  readonly ports: ReleasesPorts;
  readonly options: ReleasesOptions;
  readonly fetcher: ProjectFetcher;
  readonly triggers: ReadonlySet<string>;
  readonly stage: ReturnType<typeof stageMeter<'releases'>>;
  /** When each watched feed last completed a pass (0: not yet), by `indexId|feed`. */
  readonly passes: Map<string, number>;
  readonly backfills: ReturnType<typeof createBackfillQueue>;
}

function createContext(ports: ReleasesPorts, options: ReleasesOptions): Context {
  return {
    ports,
    options,
    fetcher: createProjectFetcher(ports.index, { retry: options.retry, random: options.random, scheduler: ports.scheduler }),
    triggers: new Set((options.releaseTriggers ?? []).map(canonicalizeName)),
    stage: stageMeter(PIPELINE, options.metrics, ports.scheduler),
    passes: new Map(),
    backfills: createBackfillQueue(),
  };
}

export function releasesPipeline(ports: ReleasesPorts, options: ReleasesOptions): Observable<ReleasesOutcome> {
  const context = createContext(ports, options);
  return defer(() => ports.store.listIndexes({ enabledOnly: true })).pipe(
    mergeMap((indexes) => {
      const watched = indexes.filter((index) => index.rssUrl !== null);
      if (watched.length === 0) {
        // Nothing to poll is not a failure: a long-running pipeline waits (for the stop),
        // rather than completing, which its supervisor would take for a crash. Each poll
        // interval is a completed pass over no feeds, so no stall alert fires on it.
        options.logger?.info({ indexes: indexes.map((index) => index.simpleUrl) }, 'no enabled index has feeds: releases waits (the update pipeline finds the releases of indexes without feeds)');
        if (options.onePoll) return EMPTY;
        return timer(0, options.pollIntervalMs, ports.scheduler).pipe(
          takeUntil(options.stop$ ?? NEVER),
          tap(() => options.metrics?.lastSuccessfulPass.set({ pipeline: PIPELINE }, ports.scheduler.now() / 1000)),
          ignoreElements(),
        );
      }
      options.logger?.info({ indexes: watched.map((index) => index.simpleUrl) }, 'watching feeds');
      return merge(...watched.map((index) => watchFeeds(context, index)));
    }),
  );
}

/** The index's feeds, polled by one replica at a time: the holder of its lease (the others stand by). */
function watchFeeds(context: Context, index: PackageIndex): Observable<ReleasesOutcome> {
  const { ports, options } = context;
  // Each (re)start reads the checkpoint afresh: a replica taking over goes on where the last holder left off.
  const watch = () =>
    merge(watchFeed(context, index, 'updates'), index.watchMode === 'all' ? watchFeed(context, index, 'packages') : EMPTY, syncEvery(context, index));
  const { leases } = ports;
  const held = (yes: boolean) => options.metrics?.feedLeaseHeld.set({ index: indexHost(index) }, yes ? 1 : 0);
  if (!leases || options.onePoll) return defer(() => (held(true), watch()));
  return whileLeased(
    {
      take: () => leases.take(`feeds:${index.id}`),
      renewEveryMs: leases.ttlMs / 3,
      scheduler: ports.scheduler,
      ...(options.stop$ ? { stop$: options.stop$ } : {}),
      onChange: (holds, error) => {
        held(holds);
        if (holds) options.logger?.info({ index: index.simpleUrl }, 'polling the feeds of this index (this replica holds its lease)');
        else options.logger?.info({ index: index.simpleUrl, err: error }, 'standing by for the feeds of this index (another replica holds its lease)');
      },
    },
    watch,
  );
}

function watchFeed(context: Context, index: PackageIndex, feed: FeedKind): Observable<ReleasesOutcome> {
  const { ports, options } = context;
  context.passes.set(passKey(index, feed), 0);
  return defer(() => ports.store.getCheckpoint(index.id, feed)).pipe(
    mergeMap((row) =>
      feedSource({
        client: ports.index,
        index,
        feed,
        interval: options.pollIntervalMs,
        scheduler: ports.scheduler,
        checkpoint: positionFromCheckpoint(row),
        metrics: options.metrics,
        ...(options.logger ? { logger: options.logger } : {}),
        indexLabel: indexHost(index),
      }).pipe(
        takeUntil(options.stop$ ?? NEVER),
        // A gap comes before its poll's items: one poll ends with the first other event.
        takeWhile((event) => !options.onePoll || event.type === 'gap', true),
      ),
    ),
    // One feed event at a time: a gap's backfill finishes before the poll's items are read.
    concatMap((event) => onFeedEvent(context, index, event)),
  );
}

const passKey = (index: PackageIndex, feed: FeedKind) => `${index.id}|${feed}`;

/**
 * A poll whose effects are all durable is its feed's completed pass; the pipeline's last
 * pass is its feeds' oldest one, so one feed's 304s never hide another feed that is stuck.
 */
function passCompleted(context: Context, index: PackageIndex, feed: FeedKind): void {
  context.passes.set(passKey(index, feed), context.ports.scheduler.now());
  const oldest = Math.min(...context.passes.values());
  if (oldest > 0) context.options.metrics?.lastSuccessfulPass.set({ pipeline: PIPELINE }, oldest / 1000);
}

function onFeedEvent(context: Context, index: PackageIndex, event: FeedEvent): Observable<ReleasesOutcome> {
  const indexUrl = index.simpleUrl;
  switch (event.type) {
    case 'not-modified':
      passCompleted(context, index, event.feed);
      return of({ type: 'poll', indexUrl, feed: event.feed, items: 0, status: 'not-modified' });
    case 'error':
      context.options.logger?.warn({ index: indexUrl, feed: event.feed, code: errorCode(event.error), err: event.error }, 'feed poll failed');
      return of({ type: 'poll', indexUrl, feed: event.feed, items: 0, status: 'error' });
    case 'gap':
      return concat(
        of<ReleasesOutcome>({ type: 'gap', indexUrl, feed: event.feed }),
        context.backfills(index.id, () => backfill(context, index, { kind: 'gap', feed: event.feed, since: event.since, until: event.until })),
      );
    case 'items':
      return concat(
        of<ReleasesOutcome>({ type: 'poll', indexUrl, feed: event.feed, items: event.items.length, status: 'items' }),
        releasesOfPoll(context, index, event.items).pipe(
          toArray(),
          // The checkpoint moves only after every item's effects (or its attention row) are durable.
          mergeMap(async (outcomes) => {
            await context.ports.store.saveCheckpoint(checkpointFromPosition(index.id, event.feed, event.checkpoint));
            event.ack();
            passCompleted(context, index, event.feed);
            return outcomes;
          }),
          mergeMap((outcomes) => from(outcomes)),
        ),
      );
  }
}

/** The poll's items grouped by project: one page read per project per poll. */
function releasesOfPoll(context: Context, index: PackageIndex, items: readonly FeedItem[]): Observable<ReleasesOutcome> {
  // Per project: the announced versions by their PEP 440 key (the spelling kept for messages), or 'all'.
  const versionsByProject = new Map<string, Map<string, string> | 'all'>();
  for (const item of items) {
    const known = versionsByProject.get(item.project);
    if (item.version === null || known === 'all') versionsByProject.set(item.project, 'all');
    else versionsByProject.set(item.project, (known ?? new Map<string, string>()).set(releaseKey(item.version), item.version));
  }
  // Pulled as slots free up: a long feed answer never queues a page request per item.
  return pullMap(
    versionsByProject,
    ([project, versions]: [string, Map<string, string> | 'all']) =>
      defer(() => (index.watchMode === 'seen' ? context.ports.store.isKnownProject(project, index.id) : Promise.resolve(true))).pipe(
        filter(Boolean),
        mergeMap(() => releasesOfProject(context, index, project, versions, false)),
      ),
    { concurrency: context.options.concurrency },
  );
}

/** Why the index's projects are read again: a feed's gap, or a scheduled (or `once sync`) serial sync. */
type BackfillReason = { readonly kind: 'gap'; readonly feed: FeedKind; readonly since: Date; readonly until: Date } | { readonly kind: 'sync' };

/**
 * The projects that may have changed (gap-backfill.ts) read again, pulled as slots free up.
 * A project read because its serial rose also comes due for a re-check at once: a yank or a
 * changed file is the update pipeline's to find, and the serial says there is something.
 */
function backfill(context: Context, index: PackageIndex, reason: BackfillReason): Observable<ReleasesOutcome> {
  const { ports, options } = context;
  const observe = { ...(options.logger ? { logger: options.logger } : {}), ...(options.metrics ? { metrics: options.metrics } : {}) };
  const where = reason.kind === 'gap' ? { feed: reason.feed, since: reason.since, until: reason.until } : {};
  return defer(() => planBackfill(ports, index, observe)).pipe(
    mergeMap((plan) => {
      const what = reason.kind === 'gap' ? 'feed gap: backfilling' : 'serial sync: reading';
      options.logger?.[reason.kind === 'gap' ? 'warn' : 'info']({ index: index.simpleUrl, ...where, basis: plan.basis }, `${what} (${plan.basis})`);
      let projects = 0;
      const recheck = (project: string): Observable<never> => defer(() => plan.readPage(project, new Date(ports.scheduler.now()))).pipe(ignoreElements());
      const pages = pullMap(plan.projects, (project: string) => (projects++, concat(releasesOfProject(context, index, project, 'all', true), recheck(project))), {
        concurrency: options.concurrency,
      });
      const done = defer(async () => {
        await plan.queueGone(new Date(ports.scheduler.now()), options.logger);
        await plan.done();
        options.logger?.info({ index: index.simpleUrl, ...where, basis: plan.basis, projects }, reason.kind === 'gap' ? 'feed gap backfilled' : 'serial sync done');
        return { type: 'synced', indexUrl: index.simpleUrl, basis: plan.basis, projects } as const;
      });
      return concat(pages, done);
    }),
  );
}

/** A serial sync of the index every `syncIntervalMs` (one at a time with its gaps' backfills). */
function syncEvery(context: Context, index: PackageIndex): Observable<ReleasesOutcome> {
  const { options, ports } = context;
  if (options.syncIntervalMs === undefined || options.onePoll) return EMPTY;
  return timer(options.syncIntervalMs, options.syncIntervalMs, ports.scheduler).pipe(
    takeUntil(options.stop$ ?? NEVER),
    exhaustMap(() => syncIndex(context, index)),
  );
}

function syncIndex(context: Context, index: PackageIndex): Observable<ReleasesOutcome> {
  return context.backfills(index.id, () => backfill(context, index, { kind: 'sync' }));
}

/** `pkgstream once sync`: one serial sync of every enabled index (with feeds or not), then complete. */
export function syncOnce(ports: ReleasesPorts, options: ReleasesOptions): Observable<ReleasesOutcome> {
  const context = createContext(ports, options);
  return defer(() => ports.store.listIndexes({ enabledOnly: true })).pipe(
    mergeMap((indexes) => merge(...indexes.map((index) => syncIndex(context, index)))),
    takeUntil(options.stop$ ?? NEVER),
  );
}

/** The page, or past `pageDeadlineMs` (retries included) a timeout outcome that sends the project to attention. */
function fetchWithinDeadline(context: Context, request: ProjectRequest): Observable<RetryOutcome<ProjectRequest, FetchedPage>> {
  const deadline = context.options.pageDeadlineMs;
  const fetched = context.fetcher.fetch(request);
  if (deadline === undefined) return fetched;
  return fetched.pipe(
    timeout({
      first: deadline,
      scheduler: context.ports.scheduler,
      with: () => {
        const message = `project ${request.project}: no page within ${deadline / 1000} s (slow or rate-limited); the poll moves on`;
        return of({ ok: false, item: request, error: new IndexError('INDEX_TIMEOUT', message, { url: request.index.simpleUrl }), attempts: 1 } as const);
      },
    }),
  );
}

function releasesOfProject(
  context: Context,
  index: PackageIndex,
  project: string,
  versions: ReadonlyMap<string, string> | 'all',
  isBackfill: boolean,
): Observable<ReleasesOutcome> {
  const { ports, options } = context;
  const indexUrl = index.simpleUrl;
  const failed = (code: string, message: string): Observable<ReleasesOutcome> =>
    defer(async () => {
      await ports.store.recordAttention({ pipeline: PIPELINE, itemKey: `${indexUrl}|${project}`, errorCode: code, errorMessage: message });
      options.metrics?.attentionRecorded.inc({ pipeline: PIPELINE, code });
      options.logger?.warn({ index: indexUrl, project, code, message }, 'release read failed: recorded for attention');
      return { type: 'failed', indexUrl, project, code, message } as const;
    });

  return context.stage('fetch', { index, project }, (request) => fetchWithinDeadline(context, request), (outcome) => !outcome.ok).pipe(
    mergeMap((outcome) => {
      if (!outcome.ok) {
        const error = outcome.error;
        const message = error instanceof Error ? error.message : String(error);
        return failed(errorCode(error), `${message} (after ${outcome.attempts} attempts)`);
      }
      const page = outcome.value;
      if (page === 'not-found') return failed('INDEX_NOT_FOUND', `project ${project} is not on ${indexUrl}`);
      const record = defer(async () => {
        const known = await ports.store.loadProjectReleases(index.id, project);
        const wanted = unknownReleases(page, known.map((release) => release.version)).filter(
          (release) => versions === 'all' || versions.has(releaseKey(release.version)),
        );
        const { events } = await recordNewReleases(ports.store, index, project, wanted, { triggers: context.triggers });
        if (isBackfill) options.metrics?.backfilledReleases.inc({ index: indexHost(index) }, wanted.length);
        // A version the feed announced that the page does not list yet (a CDN lag) is not dropped.
        const listed = new Set([...page.releases, ...known].map((release) => releaseKey(release.version)));
        const absent = versions === 'all' ? [] : [...versions].filter(([key]) => !listed.has(key)).map(([, version]) => version);
        return { events, absent };
      }).pipe(
        // The store failing for a while: try again with backoff...
        retry({
          count: options.retry.maxAttempts - 1,
          delay: (error: unknown, attempt: number) =>
            hasRetriableFlag(error)
              ? timer(backoffDelay(attempt, error, { ...options.retry, random: options.random ?? Math.random }), ports.scheduler)
              : throwError(() => error),
        }),
      );
      return context.stage('record', null, () => record).pipe(
        mergeMap(({ events, absent }) =>
          concat(
            events.length > 0 ? of<ReleasesOutcome>({ type: 'released', indexUrl, project, events, backfill: isBackfill }) : EMPTY,
            absent.length > 0 ? failed('RELEASE_NOT_ON_INDEX', `version(s) ${absent.join(', ')} of ${project} announced but not on ${indexUrl}`) : EMPTY,
          ),
        ),
        // ...and if it still fails, fail the pipeline rather than record attention: the poll's
        // checkpoint is not saved, and the restarted pipeline reads these items again. An
        // attention row would move the checkpoint past releases neither recorded nor announced.
        catchError((error: unknown) =>
          hasRetriableFlag(error) ? throwError(() => error) : failed(errorCode(error), error instanceof Error ? error.message : String(error)),
        ),
      );
    }),
  );
}
