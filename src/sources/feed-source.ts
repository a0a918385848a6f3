/**
 * A Warehouse RSS feed as an Observable of feed events, polled on an interval driven by a
 * scheduler.
 *
 * - Only items newer than the checkpoint are emitted: by `publishedAt`, then by identity
 *   `(project, version)` among the items at the checkpoint's newest instant (PyPI's updates
 *   feed has no guid, and many releases share one second).
 * - A poll that does not overlap the checkpoint (none of its items was seen before: the
 *   oldest is newer than the newest seen) emits a `gap` first: releases may have been
 *   missed, and the releases pipeline backfills.
 * - Backpressure: an `items` event carries `ack()`; no poll starts until the consumer has
 *   made the items' effects durable, stored `event.checkpoint`, and called `ack()`. Ticks
 *   that fall while items are in flight are dropped (exhaustMap), not queued.
 * - The checkpoint advances only on `ack()`: a crash before it replays the items.
 * - A failed poll is an `error` event, never an error of the stream; a `Retry-After` the
 *   index sent (capped by the client) holds the next poll back at least that long.
 * - An item dated beyond now + `FUTURE_SKEW_MS` is bad input: named and counted, processed
 *   by its content, but never the checkpoint (one item dated 2099 would make every later
 *   release look old). Bad and future items are named and counted once (FeedItemMemory).
 */
import { asyncScheduler, concat, defer, from, ignoreElements, Observable, of, timer, type ObservableInput, type SchedulerLike } from 'rxjs';
import { catchError, exhaustMap, mergeMap } from 'rxjs/operators';
import type { ErrorCodeIn } from '../domain/errors.js';
import type { FeedCheckpoint, IndexClient } from '../domain/ports.js';
import type { FeedItem, FeedKind, FeedResult, PackageIndex, Validators } from '../domain/types.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { FeedItemMemory } from './feed-item-memory.js';
import { MAX_FEED_ITEMS } from './index-client/rss.js';

/** How far ahead of our clock an item's pubDate may be (clock skew) before it is bad input. */
export const FUTURE_SKEW_MS = 5 * 60_000;

/** The position of a checkpoint that cannot be trusted: older than any item, so the next poll is a gap. */
const UNKNOWN_SINCE = new Date(0);

export function isFutureDate(date: Date, now: number): boolean {
  return date.getTime() > now + FUTURE_SKEW_MS;
}

/**
 * Where a feed stands: what a consumer stores to resume after a restart (the store's
 * `FeedCheckpoint` row: see `positionFromCheckpoint` / `checkpointFromPosition`).
 */
export interface FeedPosition {
  /** `publishedAt` of the newest item seen; null before the first poll. */
  readonly newestAt: Date | null;
  /** Identities (`feedItemKey`) of the items seen at exactly `newestAt`. */
  readonly newestKeys: readonly string[];
  /** Validators of the last answer, for a conditional GET. */
  readonly validators: Validators;
}

export const EMPTY_POSITION: FeedPosition = { newestAt: null, newestKeys: [], validators: {} };

/**
 * The position a stored checkpoint row describes (null row: the feed was never polled). A
 * row dated in the future (stored before future dates were refused) says nothing about what
 * was seen: it is read as "unknown since", so the next poll is a gap and backfills.
 */
export function positionFromCheckpoint(row: FeedCheckpoint | null, now: number = Date.now()): FeedPosition {
  if (!row) return EMPTY_POSITION;
  const newestAt = row.newestPublishedAt;
  if (newestAt !== null && isFutureDate(newestAt, now)) return { newestAt: UNKNOWN_SINCE, newestKeys: [], validators: {} };
  const atNewest = newestAt === null ? [] : row.newestItems.filter((i) => i.publishedAt.getTime() === newestAt.getTime());
  return {
    newestAt,
    newestKeys: [...new Set(atNewest.map(feedItemKey))].sort(),
    validators: { etag: row.etag, lastModified: row.lastModified },
  };
}

/** The checkpoint row to store for a position (the items at the newest instant). */
export function checkpointFromPosition(indexId: number, feed: FeedKind, position: FeedPosition): FeedCheckpoint {
  const { newestAt } = position;
  return {
    indexId,
    feed,
    etag: position.validators.etag ?? null,
    lastModified: position.validators.lastModified ?? null,
    newestPublishedAt: newestAt,
    newestItems:
      newestAt === null
        ? []
        : position.newestKeys.map((key) => {
            const at = key.indexOf('|');
            const version = key.slice(at + 1);
            return { project: key.slice(0, at), version: version === '' ? null : version, publishedAt: newestAt };
          }),
  };
}

export type FeedEvent =
  | {
      readonly type: 'items';
      readonly feed: FeedKind;
      /** New items, oldest first. */
      readonly items: readonly FeedItem[];
      readonly badItems: readonly { readonly raw: string; readonly reason: string }[];
      readonly validators: Validators;
      /** Newest `publishedAt` in the feed after this poll. */
      readonly newest: Date | null;
      /** The checkpoint to store once the items' effects are durable. */
      readonly checkpoint: FeedPosition;
      /** Call after storing `checkpoint`: advances the source and lets the next poll start. */
      readonly ack: () => void;
    }
  | {
      readonly type: 'gap';
      readonly feed: FeedKind;
      /** Newest instant seen before: releases after it and before `until` may be missing. */
      readonly since: Date;
      /** Oldest item of this poll. */
      readonly until: Date;
    }
  | { readonly type: 'not-modified'; readonly feed: FeedKind }
  | { readonly type: 'error'; readonly feed: FeedKind; readonly error: unknown };

export interface FeedSourceOptions {
  /** The index client, or an edge answering with an Observable (a marble spec's, in virtual time). */
  readonly client: { fetchFeed(...args: Parameters<IndexClient['fetchFeed']>): ObservableInput<FeedResult> };
  readonly index: PackageIndex;
  readonly feed: FeedKind;
  /** Milliseconds between polls (the first poll is immediate). */
  readonly interval: number;
  readonly scheduler?: SchedulerLike;
  /** Where the previous run stopped; null or absent: every item of the first poll is new. */
  readonly checkpoint?: FeedPosition | null;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** Index label for metrics (the index host). */
  readonly indexLabel?: string;
  /** Wall-clock time for pubDates (default Date.now): feed dates are wall-clock, not scheduler time. */
  readonly clock?: () => number;
}

/** An item's identity: `(project, version)`, since the updates feed has no guid. */
export function feedItemKey(item: Pick<FeedItem, 'project' | 'version'>): string {
  return `${item.project}|${item.version ?? ''}`;
}

function seenBy(checkpoint: FeedPosition, keys: ReadonlySet<string>) {
  return (item: FeedItem): boolean => {
    if (checkpoint.newestAt === null) return false;
    const t = item.publishedAt.getTime();
    const newest = checkpoint.newestAt.getTime();
    return t < newest || (t === newest && keys.has(feedItemKey(item)));
  };
}

export interface FeedEvaluation {
  readonly fresh: FeedItem[];
  readonly old: number;
  /** Set when no item of the poll was seen before (and something had been seen). */
  readonly gap: { since: Date; until: Date } | null;
  readonly next: FeedPosition;
}

/** Compares one poll's items with the checkpoint (pure). */
export function evaluateFeed(checkpoint: FeedPosition, items: readonly FeedItem[], validators: Validators): FeedEvaluation {
  const keys = new Set(checkpoint.newestKeys);
  const seen = seenBy(checkpoint, keys);
  // Oldest first; among equal times, the feed's order reversed (the feed is newest first).
  const ordered = items.map((item, at) => ({ item, at }));
  ordered.sort((a, b) => a.item.publishedAt.getTime() - b.item.publishedAt.getTime() || b.at - a.at);
  const fresh = ordered.filter(({ item }) => !seen(item)).map(({ item }) => item);

  let gap: FeedEvaluation['gap'] = null;
  const oldest = ordered[0]?.item;
  if (checkpoint.newestAt !== null && oldest !== undefined && fresh.length === items.length) {
    gap = { since: checkpoint.newestAt, until: oldest.publishedAt };
  }

  let newestAt = checkpoint.newestAt;
  let newestKeys = new Set(keys);
  for (const item of items) {
    const t = item.publishedAt.getTime();
    if (newestAt === null || t > newestAt.getTime()) {
      newestAt = item.publishedAt;
      newestKeys = new Set([feedItemKey(item)]);
    } else if (t === newestAt.getTime()) {
      newestKeys.add(feedItemKey(item));
    }
  }
  return {
    fresh,
    old: items.length - fresh.length,
    gap,
    next: { newestAt, newestKeys: [...newestKeys].sort(), validators },
  };
}

/** Splits off the items dated in the future; names and counts each (bad, future) the first time only. */
function screen(result: Extract<FeedResult, { notModified: false }>, memory: FeedItemMemory, options: FeedSourceOptions, now: number) {
  const { metrics, logger, feed } = options;
  const label = { index: options.indexLabel ?? options.index.simpleUrl, feed };
  const report = (code: ErrorCodeIn<'input'>, detail: string, message: string) => {
    metrics?.badInput.inc({ source: 'feed', code });
    metrics?.feedItems.inc({ ...label, outcome: 'bad' });
    logger?.warn({ index: options.index.simpleUrl, feed, code, detail }, message);
  };
  for (const bad of result.badItems) {
    if (memory.firstTime('bad', bad.reason, bad.raw)) report('BAD_FEED_ITEM', `${bad.reason}: ${bad.raw}`, 'unreadable part of an index answer');
  }
  const dated: FeedItem[] = [];
  const future: FeedItem[] = [];
  let repeats = 0;
  for (const item of result.items) {
    if (!isFutureDate(item.publishedAt, now)) dated.push(item);
    else if (!memory.firstTime('future', feedItemKey(item), item.publishedAt.toISOString())) repeats += 1;
    else {
      future.push(item);
      const what = item.version === null ? item.project : `${item.project} ${item.version}`;
      const detail = `${what} dated ${item.publishedAt.toISOString()}, after now + ${FUTURE_SKEW_MS / 1000} s`;
      report('FUTURE_PUBDATE', detail, 'feed item dated in the future: read, never used as the checkpoint');
    }
  }
  metrics?.feedItems.inc({ ...label, outcome: 'old' }, repeats);
  return { dated, future };
}

export function feedSource(options: FeedSourceOptions): Observable<FeedEvent> {
  const { client, index, feed, metrics } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const clock = options.clock ?? Date.now;
  const label = { index: options.indexLabel ?? index.simpleUrl, feed };

  return defer(() => {
    // Every outcome starts at 0, so the first failing poll is an increase an alert can see.
    for (const outcome of ['new', 'not_modified', 'error']) metrics?.feedPolls.inc({ ...label, outcome }, 0);
    for (const outcome of ['new', 'old', 'bad']) metrics?.feedItems.inc({ ...label, outcome }, 0);
    metrics?.feedGaps.inc(label, 0);
    let current = options.checkpoint ?? EMPTY_POSITION;
    const memory = new FeedItemMemory(2 * MAX_FEED_ITEMS);

    const answered = (result: FeedResult): Observable<FeedEvent> => {
      if (result.notModified) {
        metrics?.feedPolls.inc({ ...label, outcome: 'not_modified' });
        return of({ type: 'not-modified', feed });
      }
      const { dated, future } = screen(result, memory, options, clock());
      const evaluation = evaluateFeed(current, dated, result.validators);
      const fresh = [...evaluation.fresh, ...future];
      metrics?.feedPolls.inc({ ...label, outcome: 'new' });
      metrics?.feedItems.inc({ ...label, outcome: 'new' }, fresh.length);
      metrics?.feedItems.inc({ ...label, outcome: 'old' }, evaluation.old);
      if (evaluation.gap) metrics?.feedGaps.inc(label);
      return new Observable<FeedEvent>((subscriber) => {
        let acked = false;
        if (evaluation.gap) subscriber.next({ type: 'gap', feed, ...evaluation.gap });
        subscriber.next({
          type: 'items',
          feed,
          items: fresh,
          badItems: result.badItems,
          validators: result.validators,
          newest: evaluation.next.newestAt,
          checkpoint: evaluation.next,
          ack: () => {
            if (acked) return;
            acked = true;
            current = evaluation.next;
            subscriber.complete();
          },
        });
      });
    };

    const poll = (): Observable<FeedEvent> =>
      defer(() => from(client.fetchFeed(index, feed, current.validators))).pipe(
        mergeMap(answered),
        catchError((error: unknown) => {
          metrics?.feedPolls.inc({ ...label, outcome: 'error' });
          const event: FeedEvent = { type: 'error', feed, error };
          const retryAfterMs = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
          if (typeof retryAfterMs === 'number' && retryAfterMs > 0) {
            return concat(of(event), timer(retryAfterMs, scheduler).pipe(ignoreElements()));
          }
          return of(event);
        }),
      );

    return timer(0, options.interval, scheduler).pipe(exhaustMap(poll));
  });
}
