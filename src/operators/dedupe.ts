/**
 * `dedupe`: pass the first item of each key, drop repeats.
 *
 * Contract:
 * - Memory is bounded: keys live in an LRU of `max` entries (lru-cache); a key pushed out
 *   of it can pass again.
 * - With `ttlMs`, a key is forgotten `ttlMs` after it was first let through, measured in
 *   the given scheduler's time (`scheduler.now()`, never lru-cache's clock).
 * - With `isKnown(key)`, a key that is not in memory is looked up (e.g. "is this release
 *   already in the database?"): `true` drops the item, `false` (or no value) passes it.
 *   At most `lookupConcurrency` lookups run at once; items leave in arrival order, so an
 *   item waits behind earlier ones still being looked up. A repeat that arrives while its
 *   key is being looked up is dropped at once (only the first of a key can pass).
 * - `onDropped(item, key, reason)`: `reason` is `'repeat'` (in memory) or `'known'`.
 * - `onInflight(n)`: items held waiting for a lookup or for an earlier item.
 * - Completes when the source has and nothing is held; a lookup error errors the stream;
 *   unsubscription unsubscribes the source and the lookups.
 */
import { LRUCache } from 'lru-cache';
import { asyncScheduler, defer, Observable, Subscription, take, type ObservableInput, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { requireInteger } from './option-range.js';

export type DedupeDropReason = 'repeat' | 'known';

export interface DedupeOptions<T, K extends NonNullable<unknown>> {
  readonly key: (item: T) => K;
  /** Most keys held in memory; an integer >= 1. */
  readonly max: number;
  /** Forget a key this long after it passed, in scheduler time. */
  readonly ttlMs?: number;
  readonly scheduler?: SchedulerLike;
  /** Lookup for keys not in memory; `true` means already known (drop). */
  readonly isKnown?: (key: K) => ObservableInput<boolean>;
  /** Most lookups at once (default 4). */
  readonly lookupConcurrency?: number;
  readonly onDropped?: (item: T, key: K, reason: DedupeDropReason) => void;
  readonly onInflight?: (held: number) => void;
}

interface Held<T, K> {
  readonly item: T;
  readonly key: K;
  state: 'waiting' | 'looking' | 'pass' | 'drop';
}

export function dedupe<T, K extends NonNullable<unknown>>(options: DedupeOptions<T, K>): OperatorFunction<T, T> {
  const { key: keyOf, max, ttlMs, isKnown, onDropped, onInflight } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const lookupConcurrency = options.lookupConcurrency ?? 4;
  requireInteger('dedupe', 'max', max);
  requireInteger('dedupe', 'lookupConcurrency', lookupConcurrency);

  return (source) =>
    new Observable<T>((subscriber) => {
      const seen = new LRUCache<K, number>({ max }); // key -> expiry (scheduler time)
      const held: Held<T, K>[] = []; // arrival order
      const waiting: Held<T, K>[] = []; // not yet looked up
      let looking = 0;
      let sourceDone = false;
      let draining = false;
      let again = false;

      const remembered = (key: K): boolean => {
        const expiry = seen.get(key);
        if (expiry !== undefined && expiry > scheduler.now()) return true;
        seen.set(key, ttlMs === undefined ? Infinity : scheduler.now() + ttlMs);
        return false;
      };

      const lookup = (entry: Held<T, K>, isKnownFn: (key: K) => ObservableInput<boolean>): void => {
        entry.state = 'looking';
        looking += 1;
        let known = false;
        const holder = new Subscription(); // removed when the lookup ends: no growth over time
        subscriber.add(holder);
        holder.add(
          defer(() => isKnownFn(entry.key))
            .pipe(take(1))
            .subscribe({
              next: (value) => (known = value),
              error: (error: unknown) => subscriber.error(error),
              complete: () => {
                subscriber.remove(holder);
                looking -= 1;
                entry.state = known ? 'drop' : 'pass';
                drain();
              },
            }),
        );
      };

      // Trampolined: emits decided items from the head, starts lookups, completes.
      function drain(): void {
        if (draining) {
          again = true;
          return;
        }
        draining = true;
        try {
          do {
            again = false;
            let head = held[0];
            while (head && (head.state === 'pass' || head.state === 'drop')) {
              held.shift();
              if (head.state === 'pass') subscriber.next(head.item);
              else onDropped?.(head.item, head.key, 'known');
              head = held[0];
            }
            while (isKnown && looking < lookupConcurrency && waiting.length > 0 && !subscriber.closed) {
              lookup(waiting.shift()!, isKnown);
            }
          } while (again);
          onInflight?.(held.length);
          if (sourceDone && held.length === 0) subscriber.complete();
        } finally {
          draining = false;
        }
      }

      subscriber.add(
        source.subscribe({
          next: (item) => {
            const key = keyOf(item);
            if (remembered(key)) {
              onDropped?.(item, key, 'repeat');
              return;
            }
            if (!isKnown && held.length === 0) {
              subscriber.next(item);
              return;
            }
            const entry: Held<T, K> = { item, key, state: isKnown ? 'waiting' : 'pass' };
            held.push(entry);
            if (isKnown) waiting.push(entry);
            drain();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            sourceDone = true;
            drain();
          },
        }),
      );
    });
}
