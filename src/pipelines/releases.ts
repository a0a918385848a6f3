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
 *
 * A poll's items are read in releases-poll.ts, a backfill in releases-backfill.ts. Both
 * entry points take the adapters (`ReleasesPorts`), or the edge over them (`ReleasesEdge`,
 * releases-edge.ts: each call an ObservableInput, what a marble spec drives in virtual time).
 */
import { EMPTY, NEVER, concat, defer, from, merge, of, timer, type Observable } from 'rxjs';
import { concatMap, exhaustMap, ignoreElements, mergeMap, takeUntil, takeWhile, tap, toArray } from 'rxjs/operators';
import { errorCode } from '../domain/errors.js';
import type { FeedKind, PackageIndex } from '../domain/types.js';
import { whileLeased } from '../operators/while-leased.js';
import { checkpointFromPosition, feedSource, positionFromCheckpoint, type FeedEvent } from '../sources/feed-source.js';
import { indexHost } from '../domain/index-host.js';
import { backfill } from './releases-backfill.js';
import { afterWrite, createReleasesContext, RELEASES_PIPELINE, type ReleasesContext } from './releases-context.js';
import { releasesEdgeOf, type ReleasesEdge } from './releases-edge.js';
import { releasesOfPoll } from './releases-poll.js';
import type { ReleasesOptions, ReleasesOutcome, ReleasesPorts } from './releases-ports.js';

export type { ReleasesOptions, ReleasesOutcome, ReleasesPorts } from './releases-ports.js';
export type { ReleasesBackfill, ReleasesEdge, ReleasesIndex, ReleasesStore } from './releases-edge.js';

const PIPELINE = RELEASES_PIPELINE;

export function releasesPipeline(ports: ReleasesPorts | ReleasesEdge, options: ReleasesOptions): Observable<ReleasesOutcome> {
  const context = createReleasesContext(edgeOf(ports), options);
  return defer(() => context.ports.store.listIndexes({ enabledOnly: true })).pipe(
    mergeMap((indexes) => {
      const watched = indexes.filter((index) => index.rssUrl !== null);
      const synced = options.syncIntervalMs === undefined || options.onePoll ? [] : indexes.filter((index) => index.rssUrl === null);
      if (watched.length > 0) options.logger?.info({ indexes: watched.map((index) => index.simpleUrl) }, 'watching feeds');
      if (synced.length > 0) options.logger?.info({ indexes: synced.map((index) => index.simpleUrl) }, 'no feeds: syncing by the root listing every sync interval');
      const watching = [...watched, ...synced].map((index) => watchIndex(context, index));
      return watched.length > 0 ? merge(...watching) : merge(idle(context, indexes), ...watching);
    }),
  );
}

/**
 * No feed to poll is not a failure: a long-running pipeline waits (for the stop), rather
 * than completing, which its supervisor would take for a crash. Each poll interval is a
 * completed pass over no feeds, so no stall alert fires on it.
 */
function idle(context: ReleasesContext, indexes: readonly PackageIndex[]): Observable<never> {
  const { options, ports } = context;
  options.logger?.info({ indexes: indexes.map((index) => index.simpleUrl) }, 'no enabled index has feeds: releases polls none (the update pipeline re-checks the projects of indexes without feeds)');
  if (options.onePoll) return EMPTY;
  return timer(0, options.pollIntervalMs, ports.scheduler).pipe(
    takeUntil(options.stop$ ?? NEVER),
    tap(() => options.metrics?.lastSuccessfulPass.set({ pipeline: PIPELINE }, ports.scheduler.now() / 1000)),
    ignoreElements(),
  );
}

/**
 * The index's feeds and syncs, run by one replica at a time: the holder of its lease (the
 * others stand by). An index without feeds is synced from the start, one with feeds after
 * its first interval (its feeds give the news until then).
 */
function watchIndex(context: ReleasesContext, index: PackageIndex): Observable<ReleasesOutcome> {
  const { ports, options } = context;
  // Each (re)start reads the checkpoint afresh: a replica taking over goes on where the last holder left off.
  const feeds = () => merge(watchFeed(context, index, 'updates'), index.watchMode === 'all' ? watchFeed(context, index, 'packages') : EMPTY);
  const watch = () => merge(index.rssUrl === null ? EMPTY : feeds(), syncEvery(context, index, index.rssUrl === null ? 0 : options.syncIntervalMs));
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

function watchFeed(context: ReleasesContext, index: PackageIndex, feed: FeedKind): Observable<ReleasesOutcome> {
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
function passCompleted(context: ReleasesContext, index: PackageIndex, feed: FeedKind): void {
  context.passes.set(passKey(index, feed), context.ports.scheduler.now());
  const oldest = Math.min(...context.passes.values());
  if (oldest > 0) context.options.metrics?.lastSuccessfulPass.set({ pipeline: PIPELINE }, oldest / 1000);
}

function onFeedEvent(context: ReleasesContext, index: PackageIndex, event: FeedEvent): Observable<ReleasesOutcome> {
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
          mergeMap((outcomes) =>
            afterWrite(
              () => context.ports.store.saveCheckpoint(checkpointFromPosition(index.id, event.feed, event.checkpoint)),
              () => {
                event.ack();
                passCompleted(context, index, event.feed);
                return from(outcomes);
              },
            ),
          ),
        ),
      );
  }
}

/** A serial sync of the index every `syncIntervalMs`, the first after `firstMs` (one at a time with its gaps' backfills). */
function syncEvery(context: ReleasesContext, index: PackageIndex, firstMs: number | undefined): Observable<ReleasesOutcome> {
  const { options, ports } = context;
  if (options.syncIntervalMs === undefined || firstMs === undefined || options.onePoll) return EMPTY;
  return timer(firstMs, options.syncIntervalMs, ports.scheduler).pipe(
    takeUntil(options.stop$ ?? NEVER),
    exhaustMap(() => syncIndex(context, index)),
  );
}

function syncIndex(context: ReleasesContext, index: PackageIndex): Observable<ReleasesOutcome> {
  return context.backfills(index.id, () => backfill(context, index, { kind: 'sync' }));
}

/** `pkgstream once sync`: one serial sync of every enabled index (with feeds or not), then complete. */
export function syncOnce(ports: ReleasesPorts | ReleasesEdge, options: ReleasesOptions): Observable<ReleasesOutcome> {
  const context = createReleasesContext(edgeOf(ports), options);
  return defer(() => context.ports.store.listIndexes({ enabledOnly: true })).pipe(
    mergeMap((indexes) => merge(...indexes.map((index) => syncIndex(context, index)))),
    takeUntil(options.stop$ ?? NEVER),
  );
}

/** The adapters are wrapped in their edge here; a marble spec gives the edge itself. */
const edgeOf = (ports: ReleasesPorts | ReleasesEdge): ReleasesEdge => ('backfill' in ports ? ports : releasesEdgeOf(ports));
