/**
 * Each index as the API and the UI show it: its settings, its feed checkpoints (where each
 * feed was left and when) and how many projects and releases it holds (kept in
 * index_counts by triggers on the writers' tables: migration 0011).
 */
import type { Queryable } from './sql.js';

export interface FeedCheckpointView {
  readonly feed: string;
  /** When a poll last stored this checkpoint (a poll that found new items, or a first poll). */
  readonly updatedAt: string;
  readonly newestPublishedAt: string | null;
}

export interface IndexOverview {
  readonly id: number;
  readonly simpleUrl: string;
  readonly jsonApiUrl: string | null;
  readonly rssUrl: string | null;
  readonly watchMode: string;
  readonly enabled: boolean;
  readonly projects: number;
  readonly releases: number;
  readonly feeds: FeedCheckpointView[];
}

export async function listIndexOverviews(db: Queryable): Promise<IndexOverview[]> {
  const [indexes, checkpoints] = await Promise.all([
    db.query<{ id: number; simple_url: string; json_api_url: string | null; rss_url: string | null; watch_mode: string; enabled: boolean; projects: number; releases: number }>(
      `SELECT i.id, i.simple_url, i.json_api_url, i.rss_url, i.watch_mode, i.enabled,
              coalesce(c.projects, 0)::int AS projects, coalesce(c.releases, 0)::int AS releases
         FROM package_index i LEFT JOIN index_counts c ON c.index_id = i.id ORDER BY i.id`,
    ),
    db.query<{ index_id: number; feed: string; updated_at: Date; newest_published_at: Date | null }>(
      'SELECT index_id, feed, updated_at, newest_published_at FROM feed_checkpoint ORDER BY index_id, feed',
    ),
  ]);
  return indexes.rows.map((row) => ({
    id: row.id,
    simpleUrl: row.simple_url,
    jsonApiUrl: row.json_api_url,
    rssUrl: row.rss_url,
    watchMode: row.watch_mode,
    enabled: row.enabled,
    projects: row.projects,
    releases: row.releases,
    feeds: checkpoints.rows
      .filter((checkpoint) => checkpoint.index_id === row.id)
      .map((checkpoint) => ({ feed: checkpoint.feed, updatedAt: checkpoint.updated_at.toISOString(), newestPublishedAt: checkpoint.newest_published_at?.toISOString() ?? null })),
  }));
}
