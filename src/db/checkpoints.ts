/** Feed checkpoints: where each RSS feed of each index was left (`feed_checkpoint`). */
import type { CheckpointItem, FeedCheckpoint } from '../domain/ports.js';
import type { FeedKind } from '../domain/types.js';
import type { Queryable } from './sql.js';

interface CheckpointRow {
  index_id: number;
  feed: FeedKind;
  etag: string | null;
  last_modified: string | null;
  newest_items: { project: string; version: string | null; publishedAt: string }[];
  newest_published_at: Date | null;
  updated_at: Date;
}

export async function getCheckpoint(db: Queryable, indexId: number, feed: FeedKind): Promise<FeedCheckpoint | null> {
  const { rows } = await db.query<CheckpointRow>(
    `SELECT index_id, feed, etag, last_modified, newest_items, newest_published_at, updated_at
       FROM feed_checkpoint WHERE index_id = $1 AND feed = $2`,
    [indexId, feed],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    indexId: row.index_id,
    feed: row.feed,
    etag: row.etag,
    lastModified: row.last_modified,
    newestItems: row.newest_items.map(
      (item): CheckpointItem => ({
        project: item.project,
        version: item.version ?? null,
        publishedAt: new Date(item.publishedAt),
      }),
    ),
    newestPublishedAt: row.newest_published_at,
    updatedAt: row.updated_at,
  };
}

/** Saves (replaces) a feed's checkpoint. */
export async function saveCheckpoint(db: Queryable, checkpoint: FeedCheckpoint): Promise<void> {
  const items = checkpoint.newestItems.map((item) => ({
    project: item.project,
    version: item.version,
    publishedAt: item.publishedAt.toISOString(),
  }));
  await db.query(
    `INSERT INTO feed_checkpoint (index_id, feed, etag, last_modified, newest_items, newest_published_at, updated_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, COALESCE($7::timestamptz, now()))
     ON CONFLICT (index_id, feed) DO UPDATE SET
       etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified, newest_items = EXCLUDED.newest_items,
       newest_published_at = EXCLUDED.newest_published_at, updated_at = EXCLUDED.updated_at`,
    [
      checkpoint.indexId,
      checkpoint.feed,
      checkpoint.etag,
      checkpoint.lastModified,
      JSON.stringify(items),
      checkpoint.newestPublishedAt,
      checkpoint.updatedAt ?? null,
    ],
  );
}
