/** Ports the benchmarks share: an event sink that only counts, and the update pass's settings. */
import type { EventSink, PackageEvent } from '../../src/domain/index.js';

export interface CountingSink extends EventSink {
  readonly events: () => number;
  readonly byKind: () => Record<string, number>;
}

export function countingSink(): CountingSink {
  let events = 0;
  const kinds: Record<string, number> = {};
  return {
    publish(list: readonly PackageEvent[]) {
      events += list.length;
      for (const event of list) kinds[event.kind] = (kinds[event.kind] ?? 0) + 1;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
    events: () => events,
    byKind: () => ({ ...kinds }),
  };
}

/** The retry policy the service uses for index requests (src/commands/pipeline-factories.ts). */
export const INDEX_RETRY = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 } as const;
