import type { EventSink } from '../domain/ports.js';
import type { Logger } from '../runtime/logger.js';

/** An EventSink for dry runs: each event is logged as what would have been published. */
export function createLogEventSink(logger: Logger): EventSink {
  const log = logger.child({ component: 'events', dryRun: true });
  return {
    async publish(events) {
      for (const event of events) log.info({ event }, `dry run: would publish ${event.kind}`);
    },
    async close() {},
  };
}
