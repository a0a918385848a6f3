/**
 * `pullMap`: a pull-driven concurrent map over an (async) iterator.
 *
 * Contract:
 * - The next item is pulled (`iterator.next()`) only while fewer than `concurrency` items
 *   are in flight, and at most one pull is outstanding at a time; a pull counts as in
 *   flight. So at every instant `pulled <= finished + concurrency`, and memory is bounded by
 *   `concurrency` whatever the size of the source (a cursor of a million rows included).
 * - Each item is projected to an `ObservableInput`; its values are emitted as they come
 *   (unordered across items, like `mergeMap`); the item is finished when it completes.
 * - Completes when the iterator is exhausted and every item has finished.
 * - An error of the iterator or of a projection errors the result.
 * - Unsubscription (and an error of a projection) stops pulling, unsubscribes the
 *   projections and calls `iterator.return()` once, so a generator's `finally` (a cursor's
 *   close) runs. An exhausted or failed iterator is not returned.
 * - `onInflight(n)` is called with the in-flight count whenever it changes.
 *
 * A sync `Iterable` is pulled synchronously (handy for marble tests); an `AsyncIterable`
 * is pulled through its promises.
 */
import { defer, Observable, type ObservableInput } from 'rxjs';
import { subscribeInner, type InnerObserver } from './inner-subscription.js';
import { requireInteger } from './option-range.js';
import { PullDemand } from './pull-demand.js';
import { trampoline } from './trampoline.js';

export interface PullMapOptions {
  /** Most items in flight (pulled and not finished); an integer >= 1. */
  readonly concurrency: number;
  /** Called with the in-flight count whenever it changes. */
  readonly onInflight?: (inflight: number) => void;
}

export function pullMap<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  project: (item: T, index: number) => ObservableInput<R>,
  options: PullMapOptions,
): Observable<R> {
  const { concurrency, onInflight } = options;
  requireInteger('pullMap', 'concurrency', concurrency);
  return new Observable<R>((subscriber) => {
    const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
    const demand = new PullDemand(concurrency);
    const settled = (): void => {
      onInflight?.(demand.inflight);
      if (demand.isDone()) subscriber.complete();
    };

    // One observer of the items' projections, one of the pulls' answers: nothing allocated per item but its subscription.
    const projection: InnerObserver<R> = {
      next: (value) => subscriber.next(value),
      error: (error) => subscriber.error(error),
      complete: () => {
        demand.itemFinished();
        settled();
        pump();
      },
    };
    const answer: PullAnswer<T> = {
      result: (result) => {
        if (subscriber.closed) return;
        if (result.done) {
          demand.pulledEnd();
          settled();
        } else {
          const index = demand.pulledItem();
          subscribeInner(subscriber, defer(() => project(result.value, index)), projection); // a throw errors it
        }
        pump();
      },
      error: (error) => {
        demand.pullFailed(); // a failed iterator is not returned
        if (!subscriber.closed) subscriber.error(error);
      },
    };

    // Trampolined so that synchronous projections and sync iterators never recurse.
    const pump = trampoline(() => {
      while (!subscriber.closed && demand.canPull()) {
        demand.pullStarted();
        onInflight?.(demand.inflight);
        pullNext(iterator, answer);
      }
    });

    pump();
    return () => {
      if (demand.stop()) returnQuietly(iterator);
    };
  });
}

/** One `next()`: a sync iterator answers at once, an async one through its promise. */
interface PullAnswer<T> {
  readonly result: (result: IteratorResult<T>) => void;
  readonly error: (error: unknown) => void;
}

function pullNext<T>(iterator: Iterator<T> | AsyncIterator<T>, answer: PullAnswer<T>): void {
  let next: IteratorResult<T> | Promise<IteratorResult<T>>;
  try {
    next = iterator.next();
  } catch (error) {
    answer.error(error);
    return;
  }
  if ('then' in next) next.then(answer.result, answer.error);
  else answer.result(next);
}

/** Stops the iterator (a generator's `finally`, a cursor's close); a failing `return()` must not break teardown. */
function returnQuietly<T>(iterator: Iterator<T> | AsyncIterator<T>): void {
  try {
    const done = iterator.return?.();
    if (done instanceof Promise) done.catch(() => undefined);
  } catch {
    // nothing to do: the subscriber is gone
  }
}
