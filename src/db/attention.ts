/**
 * The `attention` table: items that failed after their retries, kept for a person. One open
 * row per (pipeline, item key): a new failure of an open item adds its attempts.
 */
import type { AttentionFailure, AttentionItem, AttentionQuery, AttentionRef } from '../domain/ports.js';
import { toId, type Queryable } from './sql.js';

interface AttentionRow {
  id: string;
  pipeline: string;
  item_key: string;
  error_code: string;
  error_message: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  resolved_at: Date | null;
  retry_requested_at: Date | null;
  payload: unknown;
}

const COLUMNS = `id, pipeline, item_key, error_code, error_message, attempts, first_failed_at, last_failed_at,
  resolved_at, retry_requested_at, payload`;

function toItem(row: AttentionRow): AttentionItem {
  return {
    id: toId(row.id),
    pipeline: row.pipeline,
    itemKey: row.item_key,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
    resolvedAt: row.resolved_at,
    retryRequestedAt: row.retry_requested_at,
    payload: row.payload,
  };
}

/** Records a failure: a new open row, or the open row of that item updated. */
export async function recordAttention(db: Queryable, failure: AttentionFailure): Promise<AttentionItem> {
  const { rows } = await db.query<AttentionRow>(
    `INSERT INTO attention (pipeline, item_key, error_code, error_message, attempts, first_failed_at, last_failed_at, payload)
     VALUES ($1, $2, $3, $4, $5, COALESCE($6::timestamptz, now()), COALESCE($6::timestamptz, now()), $7::jsonb)
     ON CONFLICT (pipeline, item_key) WHERE resolved_at IS NULL DO UPDATE SET
       error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
       attempts = attention.attempts + EXCLUDED.attempts,
       last_failed_at = GREATEST(attention.last_failed_at, EXCLUDED.last_failed_at),
       payload = COALESCE(EXCLUDED.payload, attention.payload),
       retry_requested_at = NULL
     RETURNING ${COLUMNS}`,
    [
      failure.pipeline,
      failure.itemKey,
      failure.errorCode,
      failure.errorMessage.slice(0, 4000),
      Math.max(1, failure.attempts ?? 1),
      failure.failedAt ?? null,
      failure.payload === undefined ? null : JSON.stringify(failure.payload),
    ],
  );
  const row = rows[0];
  // programming error: INSERT ... RETURNING returns the row.
  if (!row) throw new Error('recordAttention: no row returned');
  return toItem(row);
}

/** Newest failures first. */
export async function listAttention(db: Queryable, query: AttentionQuery = {}): Promise<AttentionItem[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const status = query.status ?? 'open';
  if (status === 'open') where.push('resolved_at IS NULL');
  if (status === 'resolved') where.push('resolved_at IS NOT NULL');
  if (query.pipeline !== undefined) {
    params.push(query.pipeline);
    where.push(`pipeline = $${params.length}`);
  }
  if (query.retryRequested === true) where.push('retry_requested_at IS NOT NULL AND resolved_at IS NULL');
  if (query.retryRequested === false) where.push('retry_requested_at IS NULL');
  params.push(query.limit ?? 100);
  const { rows } = await db.query<AttentionRow>(
    `SELECT ${COLUMNS} FROM attention ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY last_failed_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toItem);
}

function refCondition(ref: AttentionRef, first: number): { sql: string; params: unknown[] } {
  return typeof ref === 'number'
    ? { sql: `id = $${first}`, params: [ref] }
    : { sql: `pipeline = $${first} AND item_key = $${first + 1}`, params: [ref.pipeline, ref.itemKey] };
}

/** Marks an open item resolved; false when there is no such open item. */
export async function resolveAttention(db: Queryable, ref: AttentionRef, at: Date = new Date()): Promise<boolean> {
  const cond = refCondition(ref, 2);
  const result = await db.query(`UPDATE attention SET resolved_at = $1 WHERE resolved_at IS NULL AND ${cond.sql}`, [
    at,
    ...cond.params,
  ]);
  return (result.rowCount ?? 0) > 0;
}

/** Flags an open item for a retry (the pipeline picks flagged items up); false when none. */
export async function requestRetry(db: Queryable, ref: AttentionRef, at: Date = new Date()): Promise<boolean> {
  const cond = refCondition(ref, 2);
  const result = await db.query(
    `UPDATE attention SET retry_requested_at = $1 WHERE resolved_at IS NULL AND ${cond.sql}`,
    [at, ...cond.params],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function openAttentionCounts(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ pipeline: string; open: number }>(
    'SELECT pipeline, count(*)::int AS open FROM attention WHERE resolved_at IS NULL GROUP BY pipeline',
  );
  return Object.fromEntries(rows.map((row) => [row.pipeline, row.open]));
}

/** One item by id, open or resolved; null when there is none. */
export async function getAttention(db: Queryable, id: number): Promise<AttentionItem | null> {
  const { rows } = await db.query<AttentionRow>(`SELECT ${COLUMNS} FROM attention WHERE id = $1`, [id]);
  return rows[0] ? toItem(rows[0]) : null;
}
