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
 *   index sent holds the next poll back at least that long.
 */
import { asyncScheduler, concat, defer, from, ignoreElements, Observable, of, timer, type SchedulerLike } from 'rxjs';
import { catchError, exhaustMap, mergeMap } from 'rxjs/operators';
import type { FeedCheckpoint, IndexClient } from '../domain/ports.js';
import type { FeedItem, FeedKind, FeedResult, PackageIndex, Validators } from '../domain/types.js';
import type { Metrics } from '../runtime/metrics.js';

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

/** The position a stored checkpoint row describes (null row: the feed was never polled). */
export function positionFromCheckpoint(row: FeedCheckpoint | null): FeedPosition {
  if (!row) return EMPTY_POSITION;
  const newestAt = row.newestPublishedAt;
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
  readonly client: Pick<IndexClient, 'fetchFeed'>;
  readonly index: PackageIndex;
  readonly feed: FeedKind;
  /** Milliseconds between polls (the first poll is immediate). */
  readonly interval: number;
  readonly scheduler?: SchedulerLike;
  /** Where the previous run stopped; null or absent: every item of the first poll is new. */
  readonly checkpoint?: FeedPosition | null;
  readonly metrics?: Metrics;
  /** Index label for metrics (the index host). */
  readonly indexLabel?: string;
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

export function feedSource(options: FeedSourceOptions): Observable<FeedEvent> {
  const { client, index, feed, metrics } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const label = { index: options.indexLabel ?? index.simpleUrl, feed };

  return defer(() => {
    let current = options.checkpoint ?? EMPTY_POSITION;

    const answered = (result: FeedResult): Observable<FeedEvent> => {
      if (result.notModified) {
        metrics?.feedPolls.inc({ ...label, outcome: 'not_modified' });
        return of({ type: 'not-modified', feed });
      }
      const evaluation = evaluateFeed(current, result.items, result.validators);
      metrics?.feedPolls.inc({ ...label, outcome: 'new' });
      metrics?.feedItems.inc({ ...label, outcome: 'new' }, evaluation.fresh.length);
      metrics?.feedItems.inc({ ...label, outcome: 'old' }, evaluation.old);
      metrics?.feedItems.inc({ ...label, outcome: 'bad' }, result.badItems.length);
      if (evaluation.gap) metrics?.feedGaps.inc(label);
      return new Observable<FeedEvent>((subscriber) => {
        let acked = false;
        if (evaluation.gap) subscriber.next({ type: 'gap', feed, ...evaluation.gap });
        subscriber.next({
          type: 'items',
          feed,
          items: evaluation.fresh,
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
