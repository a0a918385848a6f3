/**
 * The `event` table (0003_event_outbox.sql): the history of every event and the
 * transactional outbox. Writers insert an event in the transaction of the change it
 * announces (`insertEvents`, which also NOTIFYs the relays of other processes on commit);
 * the relay reads unsent rows in id order, publishes them and marks them sent; old sent
 * rows are deleted in bounded batches. The API, the UI and `pkgstream events` read the
 * same rows as the history: newest first, keyset-paged by id.
 */
import { eventEnvelope, eventKey, inEnvelopeOrder, type EventEnvelope, type OutboxEvent } from '../domain/event-record.js';
import type { EventKind, PackageEvent } from '../domain/types.js';
import { toId, type Queryable } from './sql.js';

export interface EventView {
  readonly id: number;
  readonly kind: string;
  readonly key: string;
  readonly indexUrl: string;
  readonly project: string;
  readonly version: string | null;
  readonly solver: string | null;
  /** The JSON value as published. */
  readonly record: Record<string, unknown>;
  readonly createdAt: string;
  readonly sentAt: string | null;
}

export interface EventQuery {
  readonly project?: string | undefined;
  readonly version?: string | undefined;
  readonly kind?: string | undefined;
  readonly indexId?: number | undefined;
  readonly since?: Date | undefined;
  /** Only events older than this id (the previous page's last id). */
  readonly before?: number | undefined;
  readonly limit: number;
}

interface EventRow {
  id: string;
  kind: string;
  event_key: string;
  index_url: string;
  project: string;
  version: string | null;
  solver: string | null;
  record: Record<string, unknown>;
  created_at: Date;
  sent_at: Date | null;
}

function toView(row: EventRow): EventView {
  return {
    id: toId(row.id),
    kind: row.kind,
    key: row.event_key,
    indexUrl: row.index_url,
    project: row.project,
    version: row.version,
    solver: row.solver,
    record: row.record,
    createdAt: row.created_at.toISOString(),
    sentAt: row.sent_at?.toISOString() ?? null,
  };
}

/** One page of events, newest first; `next` is the cursor of the following page. */
export async function listEvents(db: Queryable, query: EventQuery): Promise<{ items: EventView[]; next: number | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (query.project !== undefined) add('project = ?', query.project);
  if (query.version !== undefined) add('version = ?', query.version);
  if (query.kind !== undefined) add('kind = ?', query.kind);
  if (query.indexId !== undefined) add('index_id = ?', query.indexId);
  if (query.since !== undefined) add('created_at >= ?', query.since);
  if (query.before !== undefined) add('id < ?', query.before);
  params.push(query.limit);
  const { rows } = await db.query<EventRow>(
    `SELECT id, kind, event_key, index_url, project, version, solver, record, created_at, sent_at
       FROM event ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  const items = rows.map(toView);
  const last = items[items.length - 1];
  return { items, next: items.length === query.limit && last ? last.id : null };
}

/** Events created since `since`, counted by kind ("changes found today"). */
export async function countEventsSince(db: Queryable, since: Date): Promise<Record<string, number>> {
  const { rows } = await db.query<{ kind: string; count: number }>(
    'SELECT kind, count(*)::int AS count FROM event WHERE created_at >= $1 GROUP BY kind ORDER BY kind',
    [since],
  );
  return Object.fromEntries(rows.map((row) => [row.kind, row.count]));
}

/** The kind of the newest event of each version of a project on an index. */
export async function latestEventKinds(db: Queryable, indexId: number, project: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ version: string; kind: string }>(
    `SELECT DISTINCT ON (version) version, kind FROM event
      WHERE project = $1 AND index_id = $2 AND version IS NOT NULL AND solver IS NULL
      ORDER BY version, id DESC`,
    [project, indexId],
  );
  return new Map(rows.map((row) => [row.version, row.kind]));
}

/** The NOTIFY channel of written events (src/sinks/event-relay.ts LISTENs on it). */
export const EVENT_CHANNEL = 'pkgstream_event';

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
  // Delivered on commit: the relays LISTENing in other processes look now.
  await db.query(`SELECT pg_notify('${EVENT_CHANNEL}', '')`);
  return events.length;
}

interface OutboxRow {
  id: string;
  kind: EventKind;
  event_key: string;
  record: EventEnvelope;
}

const toOutboxEvent = (row: OutboxRow): OutboxEvent => ({ id: toId(row.id), kind: row.kind, key: row.event_key, record: inEnvelopeOrder(row.record) });

/** Up to `limit` unsent rows, oldest first. */
export async function readUnsent(db: Queryable, limit: number): Promise<OutboxEvent[]> {
  const { rows } = await db.query<OutboxRow>('SELECT id, kind, event_key, record FROM event WHERE sent_at IS NULL ORDER BY id LIMIT $1', [limit]);
  return rows.map(toOutboxEvent);
}

/**
 * Makes the calling transaction the only relay publishing (until it ends): several relays
 * on one server (replicas, a `check` beside `run`) then publish one batch at a time, in id
 * order, instead of overtaking each other.
 */
export async function lockRelay(db: Queryable): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext('pkgstream_event_relay'))");
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

/** The rows of one project on one index after `afterId`, in id order, sent or not (what a command produced). */
export async function eventsAfter(db: Queryable, afterId: number, of: { readonly project: string; readonly indexId: number }): Promise<OutboxEvent[]> {
  const { rows } = await db.query<OutboxRow>(
    'SELECT id, kind, event_key, record FROM event WHERE id > $1 AND project = $2 AND index_id = $3 ORDER BY id',
    [afterId, of.project, of.indexId],
  );
  return rows.map(toOutboxEvent);
}
