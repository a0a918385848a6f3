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
import { asyncScheduler, defer, Observable, take, type ObservableInput, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { DedupeLedger, type Lookup } from './dedupe-ledger.js';
import { subscribeInner } from './inner-subscription.js';
import { requireInteger } from './option-range.js';
import { trampoline } from './trampoline.js';

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

export function dedupe<T, K extends NonNullable<unknown>>(options: DedupeOptions<T, K>): OperatorFunction<T, T> {
  const { key: keyOf, max, ttlMs, isKnown, onDropped, onInflight } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const lookupConcurrency = options.lookupConcurrency ?? 4;
  requireInteger('dedupe', 'max', max);
  requireInteger('dedupe', 'lookupConcurrency', lookupConcurrency);

  return (source) =>
    new Observable<T>((subscriber) => {
      const ledger = new DedupeLedger<T, K>({ max, ttlMs, lookupConcurrency });
      let sourceDone = false;

      const lookUp = ({ key, answer }: Lookup<K>, isKnownFn: (key: K) => ObservableInput<boolean>): void => {
        let known = false; // a lookup that completes empty means "not known"
        subscribeInner(subscriber, defer(() => isKnownFn(key)).pipe(take(1)), {
          next: (value) => (known = value),
          error: (error) => subscriber.error(error),
          complete: () => {
            answer(known);
            drain();
          },
        });
      };

      // Emits the decided items from the head, starts the lookups that may start, completes.
      const drain = trampoline(() => {
        for (let head = ledger.takeDecided(); head; head = ledger.takeDecided()) {
          if (head.known) onDropped?.(head.item, head.key, 'known');
          else subscriber.next(head.item);
        }
        while (isKnown && !subscriber.closed) {
          const next = ledger.startLookup();
          if (!next) break;
          lookUp(next, isKnown);
        }
        onInflight?.(ledger.heldCount);
        if (sourceDone && ledger.heldCount === 0) subscriber.complete();
      });

      const admit = (item: T): void => {
        const key = keyOf(item);
        if (ledger.isRepeat(key, scheduler.now())) onDropped?.(item, key, 'repeat');
        else if (!isKnown) subscriber.next(item);
        else {
          ledger.hold(item, key);
          drain();
        }
      };
      const sourceEnded = (): void => {
        sourceDone = true;
        drain();
      };
      subscriber.add(source.subscribe({ next: admit, error: (error: unknown) => subscriber.error(error), complete: sourceEnded }));
    });
}
