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
import { from, Observable, Subscription, type ObservableInput } from 'rxjs';
import { trampoline } from './trampoline.js';
import { requireInteger } from './option-range.js';

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
    let asyncIterator: AsyncIterator<T> | null = null;
    let syncIterator: Iterator<T> | null = null;
    if (Symbol.asyncIterator in source) asyncIterator = source[Symbol.asyncIterator]();
    else syncIterator = source[Symbol.iterator]();
    let inflight = 0; // items started and not finished, plus an outstanding pull
    let index = 0;
    let pulling = false;
    let exhausted = false;

    const setInflight = (delta: number): void => {
      inflight += delta;
      onInflight?.(inflight);
    };
    const failSource = (error: unknown): void => {
      exhausted = true; // a failed iterator is not returned
      subscriber.error(error);
    };
    const maybeComplete = (): void => {
      if (exhausted && inflight === 0) subscriber.complete();
    };

    const start = (item: T): void => {
      let input: ObservableInput<R>;
      try {
        input = project(item, index++);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      const holder = new Subscription();
      subscriber.add(holder);
      holder.add(
        from(input).subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            subscriber.remove(holder);
            setInflight(-1);
            maybeComplete();
            pump();
          },
        }),
      );
    };

    // Settles one pull: the slot the pull held becomes the item's slot (or is freed).
    const settle = (result: IteratorResult<T>): void => {
      if (result.done) {
        exhausted = true;
        setInflight(-1);
        maybeComplete();
      } else {
        start(result.value);
      }
    };

    const pullOnce = (): void => {
      setInflight(1);
      if (syncIterator) {
        let result: IteratorResult<T>;
        try {
          result = syncIterator.next();
        } catch (error) {
          failSource(error);
          return;
        }
        settle(result);
        return;
      }
      pulling = true;
      asyncIterator!.next().then(
        (result) => {
          pulling = false;
          if (subscriber.closed) return;
          settle(result);
          pump();
        },
        (error: unknown) => {
          pulling = false;
          if (!subscriber.closed) failSource(error);
        },
      );
    };

    // Trampolined so that synchronous projections and sync iterators never recurse.
    const pump = trampoline(() => {
      while (!subscriber.closed && !exhausted && !pulling && inflight < concurrency) pullOnce();
    });

    pump();

    return () => {
      if (exhausted) return;
      exhausted = true;
      try {
        const done = (syncIterator ?? asyncIterator)?.return?.();
        if (done instanceof Promise) done.catch(() => undefined);
      } catch {
        // a failing return() must not break teardown
      }
    };
  });
}
