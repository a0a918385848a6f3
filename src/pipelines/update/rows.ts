/**
 * The store's scans as the pass reads them: async iterables (cursors), or sync ones (a
 * marble spec's arrays, pulled synchronously by `pullMap` in virtual time). Each helper
 * keeps a sync source sync.
 */
export type Rows<T> = AsyncIterable<T> | Iterable<T>;

const isAsync = <T>(rows: Rows<T>): rows is AsyncIterable<T> => Symbol.asyncIterator in rows;

export function mapRows<T, R>(rows: Rows<T>, project: (row: T) => R): Rows<R> {
  if (isAsync(rows)) {
    return (async function* () {
      for await (const row of rows) yield project(row);
    })();
  }
  return (function* () {
    for (const row of rows) yield project(row);
  })();
}

/** Each source read to its end, one after the other (async as soon as one of them is). */
export function concatRows<T>(sources: readonly Rows<T>[]): Rows<T> {
  if (sources.some(isAsync)) {
    return (async function* () {
      for (const source of sources) yield* source;
    })();
  }
  return (function* () {
    for (const source of sources as readonly Iterable<T>[]) yield* source;
  })();
}

/**
 * Ends the rows early once `stopped()` holds when the next one is pulled, closing the
 * source (its `finally` runs); `onStop` says it did.
 */
export function stoppable<T>(rows: Rows<T>, stopped: () => boolean, onStop: () => void): Rows<T> {
  const stopNow = (): boolean => {
    if (!stopped()) return false;
    onStop();
    return true;
  };
  if (isAsync(rows)) {
    return (async function* () {
      if (stopNow()) return;
      for await (const row of rows) {
        yield row;
        if (stopNow()) return; // leaving the loop closes the source
      }
    })();
  }
  return (function* () {
    if (stopNow()) return;
    for (const row of rows) {
      yield row;
      if (stopNow()) return;
    }
  })();
}
