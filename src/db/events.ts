/**
 * The `event` table: the history of every event and the transactional outbox. Writers
 * insert an event in the transaction of the change it announces (`insertEvents`); the
 * relay reads unsent rows in id order, publishes them and marks them sent; old sent rows
 * are deleted in bounded batches.
 */
import { eventEnvelope, eventKey, type EventEnvelope, type OutboxEvent } from '../domain/event-record.js';
import type { EventKind, PackageEvent } from '../domain/types.js';
import { toId, type Queryable } from './sql.js';

/** What a writer needs to turn a PackageEvent into its row. */
export interface EventWriteContext {
  readonly indexId: number | null;
  readonly serviceVersion: string;
  readonly createdAt: Date;
}

/** Inserts the events (the record built here is exactly what will be published). */
export async function insertEvents(db: Queryable, events: readonly PackageEvent[], context: EventWriteContext): Promise<number> {
  if (events.length === 0) return 0;
  const column = <T>(fn: (event: PackageEvent) => T): T[] => events.map(fn);
  await db.query(
    `INSERT INTO event (kind, event_key, index_id, index_url, project, version, solver, record, created_at)
     SELECT t.kind, t.event_key, $1, t.index_url, t.project, t.version, t.solver, t.record, $9
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
         AS t(kind, event_key, index_url, project, version, solver, record)`,
    [
      context.indexId,
      column((event) => event.kind),
      column(eventKey),
      column((event) => event.indexUrl),
      column((event) => event.project),
      column((event) => event.version),
      column((event) => event.solver ?? null),
      column((event) => JSON.stringify(eventEnvelope(event, context.serviceVersion, context.createdAt))),
      context.createdAt,
    ],
  );
  return events.length;
}

interface EventRow {
  id: string;
  kind: EventKind;
  event_key: string;
  record: EventEnvelope;
}

const toOutboxEvent = (row: EventRow): OutboxEvent => ({ id: toId(row.id), kind: row.kind, key: row.event_key, record: row.record });

/**
 * Up to `limit` unsent rows, oldest first. With `lock` (a transaction on a server shared by
 * several relays), rows another relay holds are skipped rather than published twice.
 */
export async function readUnsent(db: Queryable, limit: number, lock = false): Promise<OutboxEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT id, kind, event_key, record FROM event WHERE sent_at IS NULL ORDER BY id LIMIT $1${lock ? ' FOR UPDATE SKIP LOCKED' : ''}`,
    [limit],
  );
  return rows.map(toOutboxEvent);
}

export async function markSent(db: Queryable, ids: readonly number[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.query('UPDATE event SET sent_at = $2 WHERE id = ANY($1::bigint[]) AND sent_at IS NULL', [ids, at]);
}

/** Deletes up to `limit` sent rows created before `before`; the count deleted. */
export async function deleteSentBefore(db: Queryable, before: Date, limit: number): Promise<number> {
  const result = await db.query(
    `DELETE FROM event WHERE id IN (
       SELECT id FROM event WHERE created_at < $1 AND sent_at IS NOT NULL ORDER BY created_at, id LIMIT $2)`,
    [before, limit],
  );
  return result.rowCount ?? 0;
}

/** The newest event id (0 when there is none): where a command's own events start. */
export async function lastEventId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: string | null }>('SELECT max(id) AS id FROM event');
  return rows[0]?.id == null ? 0 : toId(rows[0].id);
}

/** The rows after `afterId` in id order, sent or not (what a command produced). */
export async function eventsAfter(db: Queryable, afterId: number): Promise<OutboxEvent[]> {
  const { rows } = await db.query<EventRow>('SELECT id, kind, event_key, record FROM event WHERE id > $1 ORDER BY id', [afterId]);
  return rows.map(toOutboxEvent);
}
