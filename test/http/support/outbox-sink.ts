/**
 * An EventSink that writes each event as a row of the `event` table (0003_event_outbox.sql),
 * as the transactional outbox does in the service, so that the history the API and the UI
 * show is fed by real checks in these tests.
 */
import type pg from 'pg';
import type { EventSink } from '../../../src/domain/ports.js';
import { eventEnvelope, eventKey } from '../../../src/sinks/event-format.js';

export function outboxSink(pool: pg.Pool): EventSink {
  return {
    async publish(events) {
      for (const event of events) {
        const solver = typeof event.fields?.solver === 'string' ? event.fields.solver : null;
        await pool.query(
          `INSERT INTO event (kind, event_key, index_id, index_url, project, version, solver, record)
           SELECT $1, $2, (SELECT id FROM package_index WHERE simple_url = $3), $3, $4, $5, $6, $7::jsonb`,
          [event.kind, eventKey(event) + (solver === null ? '' : `|${solver}`), event.indexUrl, event.project, event.version, solver, JSON.stringify(eventEnvelope(event, 'test', new Date()))],
        );
      }
    },
    close: async () => {},
  };
}
