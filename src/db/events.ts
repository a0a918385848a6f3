/**
 * Reading the `event` table (the outbox the pipelines write, see 0003_event_outbox.sql) as
 * the history the API, the UI and `pkgstream events` show: newest first, keyset-paged by
 * id. Written rows are the outbox's business; this module only reads.
 */
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
