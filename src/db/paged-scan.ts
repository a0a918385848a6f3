/**
 * A pull-based scan over keyset pages: the next page is read only when the previous one is
 * used up, each page in its own short query (no transaction or connection is held between
 * pages), and a page whose connection dropped is asked again from the same key. Memory is
 * one page plus whatever the consumer holds.
 */
import { withConnectionRetry, type RetryOptions } from './retry.js';

export interface Page<T, K> {
  readonly rows: readonly T[];
  /** The key after the page's last row; null when there is no further page. The scan
   * lets go of each row as it hands it out (the array is cleared in place). */
  readonly next: K | null;
}

export interface ScanStats {
  /** Pages read so far. */
  pages: number;
  /** Rows read from the database so far. */
  rowsRead: number;
  /** Rows handed to the consumer so far. */
  rowsYielded: number;
  /** Rows read but not yet handed out (the current page's rest). */
  buffered: number;
  /** The largest `buffered` seen. */
  maxBuffered: number;
  /** Page queries asked again after a connection error. */
  retries: number;
}

export interface ScanIterable<T> extends AsyncIterable<T> {
  /** Counters of all iterations of this scan. */
  readonly stats: ScanStats;
}

export interface PagedScanOptions extends RetryOptions {
  /** Stop after this many pages (for tests and bounded passes). */
  readonly maxPages?: number;
  /** Runs once at the start of each iteration, before the first page. */
  readonly before?: () => Promise<void>;
}

export function pagedScan<T, K>(
  readPage: (after: K | null) => Promise<Page<T, K>>,
  options: PagedScanOptions = {},
): ScanIterable<T> {
  const stats: ScanStats = { pages: 0, rowsRead: 0, rowsYielded: 0, buffered: 0, maxBuffered: 0, retries: 0 };
  const retry: RetryOptions = {
    ...options,
    onRetry: (error, attempt) => {
      stats.retries++;
      options.onRetry?.(error, attempt);
    },
  };
  async function* iterate(): AsyncGenerator<T, void, undefined> {
    let after: K | null = null;
    let pages = 0;
    if (options.before) await withConnectionRetry(options.before, retry);
    for (;;) {
      if (options.maxPages !== undefined && pages >= options.maxPages) return;
      const key: K | null = after;
      const page: Page<T, K> = await withConnectionRetry(() => readPage(key), retry);
      pages++;
      stats.pages++;
      stats.rowsRead += page.rows.length;
      // Each row is let go as it is handed out: the scan holds only the page's rest.
      const rows = page.rows as (T | undefined)[];
      stats.buffered = rows.length;
      stats.maxBuffered = Math.max(stats.maxBuffered, stats.buffered);
      try {
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i] as T;
          rows[i] = undefined;
          stats.buffered = rows.length - i - 1;
          stats.rowsYielded++;
          yield row;
        }
      } finally {
        stats.buffered = 0;
      }
      if (page.next === null) return;
      after = page.next;
    }
  }
  return { stats, [Symbol.asyncIterator]: iterate };
}
