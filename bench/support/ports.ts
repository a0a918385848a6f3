/**
 * Ports the benchmarks share: an event sink that only counts (fed by the outbox's relay, as
 * in the service), and the update pass's settings.
 */
import type pg from 'pg';
import type { EventSink, OutboxEvent } from '../../src/domain/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createEventRelay, type EventRelay } from '../../src/sinks/event-relay.js';

export interface CountingSink extends EventSink {
  readonly events: () => number;
  readonly byKind: () => Record<string, number>;
  /** Events that said what an earlier one said (the same kind and key: index, project, version). */
  readonly repeats: () => number;
}

export function countingSink(): CountingSink {
  let events = 0;
  let repeats = 0;
  const kinds: Record<string, number> = {};
  const said = new Set<string>();
  return {
    publish(list: readonly OutboxEvent[]) {
      events += list.length;
      for (const event of list) {
        kinds[event.kind] = (kinds[event.kind] ?? 0) + 1;
        const key = `${event.kind}|${event.key}`;
        if (said.has(key)) repeats += 1;
        said.add(key);
      }
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
    events: () => events,
    byKind: () => ({ ...kinds }),
    repeats: () => repeats,
  };
}

/** The retry policy the service uses for index requests (src/commands/pipeline-factories.ts). */
export const INDEX_RETRY = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

/** The outbox's relay to `sink`, not started: `flush()` publishes what the store wrote. */
export function outboxRelay(pool: pg.Pool, sink: EventSink): EventRelay {
  return createEventRelay({ pool, sink, logger: silentLogger(), lockRows: false, retentionMs: 90 * 86_400_000 });
}
