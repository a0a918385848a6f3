/**
 * The requests an index saw, by kind and arrival time (ms, performance.now()): the busiest
 * 1-second window (what a rate limit bounds from outside) and the rate over a span.
 */
import { busiestWindow } from '../../test/support/time-windows.js';
import type { RequestKind } from './synthetic-index.js';
import { now } from './util.js';

export interface Arrivals {
  add(kind: RequestKind): void;
  /** Every arrival so far, of one kind or all. */
  times(kind?: RequestKind): readonly number[];
  byKind(): Record<RequestKind, number>;
  /** The most arrivals in any window of 1 s, and where it starts (ms). */
  busiest(): { readonly count: number; readonly start: number };
  /** Arrivals in [from, to) over its length in seconds. */
  ratePerSecond(from: number, to: number): number;
}

export function arrivals(): Arrivals {
  const log: { readonly kind: RequestKind; readonly at: number }[] = [];
  const times = (kind?: RequestKind) => log.filter((entry) => kind === undefined || entry.kind === kind).map((entry) => entry.at);
  return {
    add: (kind) => void log.push({ kind, at: now() }),
    times,
    byKind() {
      const counts: Record<RequestKind, number> = { feed: 0, root: 0, page: 0, other: 0 };
      for (const entry of log) counts[entry.kind] += 1;
      return counts;
    },
    busiest: () => busiestWindow(times(), 1000),
    ratePerSecond: (from, to) => log.filter((entry) => entry.at >= from && entry.at < to).length / ((to - from) / 1000),
  };
}
