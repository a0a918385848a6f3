/** Package indexes: the `package_index` table. */
import { BadInputError } from '../domain/errors.js';
import type { PackageIndex, WatchMode } from '../domain/types.js';
import type { Queryable } from './sql.js';

export interface IndexRow {
  id: number;
  simple_url: string;
  json_api_url: string | null;
  rss_url: string | null;
  verify_tls: boolean;
  enabled: boolean;
  watch_mode: WatchMode;
}

export const INDEX_COLUMNS = 'id, simple_url, json_api_url, rss_url, verify_tls, enabled, watch_mode';

export function toIndex(row: IndexRow): PackageIndex {
  return {
    id: row.id,
    simpleUrl: row.simple_url,
    jsonApiUrl: row.json_api_url,
    rssUrl: row.rss_url,
    verifyTls: row.verify_tls,
    enabled: row.enabled,
    watchMode: row.watch_mode,
  };
}

/** An index URL as stored: http(s), no query or fragment, no trailing slash. */
export function normalizeIndexUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new BadInputError('BAD_INDEX_URL', `not a URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new BadInputError('BAD_INDEX_URL', `not an http(s) URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new BadInputError('BAD_INDEX_URL', 'index URLs must not carry credentials');
  }
  parsed.hash = '';
  parsed.search = '';
  return parsed.toString().replace(/\/+$/, '');
}

/** Warehouse JSON API and RSS bases of an index: `<origin>/pypi` and `<origin>/rss`. */
export function warehouseUrls(simpleUrl: string): { jsonApiUrl: string; rssUrl: string } {
  const origin = new URL(simpleUrl).origin;
  return { jsonApiUrl: `${origin}/pypi`, rssUrl: `${origin}/rss` };
}

export interface AddIndexInput {
  readonly simpleUrl: string;
  /** A Warehouse (PyPI-like) index: derives its JSON API and RSS URLs. */
  readonly warehouse?: boolean;
  readonly watchMode?: WatchMode;
  readonly enabled?: boolean;
  readonly verifyTls?: boolean;
}

/**
 * Adds an index, or updates the settings of the index with that (normalized) URL; `created`
 * tells which.
 */
export async function addIndex(db: Queryable, input: AddIndexInput): Promise<PackageIndex & { created: boolean }> {
  const simpleUrl = normalizeIndexUrl(input.simpleUrl);
  const watchMode = input.watchMode ?? 'seen';
  if (watchMode !== 'all' && watchMode !== 'seen') {
    throw new BadInputError('BAD_WATCH_MODE', `watch mode must be 'all' or 'seen', not ${JSON.stringify(watchMode)}`);
  }
  const urls = input.warehouse ? warehouseUrls(simpleUrl) : { jsonApiUrl: null, rssUrl: null };
  const { rows } = await db.query<IndexRow & { created: boolean }>(
    `INSERT INTO package_index (simple_url, json_api_url, rss_url, verify_tls, enabled, watch_mode)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (simple_url) DO UPDATE SET
       json_api_url = EXCLUDED.json_api_url, rss_url = EXCLUDED.rss_url, verify_tls = EXCLUDED.verify_tls,
       enabled = EXCLUDED.enabled, watch_mode = EXCLUDED.watch_mode
     RETURNING ${INDEX_COLUMNS}, (xmax = 0) AS created`,
    [simpleUrl, urls.jsonApiUrl, urls.rssUrl, input.verifyTls ?? true, input.enabled ?? true, watchMode],
  );
  const row = rows[0];
  // programming error: the upsert returns the row.
  if (!row) throw new Error('addIndex: no row returned');
  return { ...toIndex(row), created: row.created };
}

export async function listIndexes(db: Queryable, options: { enabledOnly?: boolean } = {}): Promise<PackageIndex[]> {
  const { rows } = await db.query<IndexRow>(
    `SELECT ${INDEX_COLUMNS} FROM package_index ${options.enabledOnly ? 'WHERE enabled' : ''} ORDER BY id`,
  );
  return rows.map(toIndex);
}

/** The index with that simple URL (normalized), or null. */
export async function getIndex(db: Queryable, simpleUrl: string): Promise<PackageIndex | null> {
  const { rows } = await db.query<IndexRow>(`SELECT ${INDEX_COLUMNS} FROM package_index WHERE simple_url = $1`, [
    normalizeIndexUrl(simpleUrl),
  ]);
  return rows[0] ? toIndex(rows[0]) : null;
}

/** Enables or disables an index; false when no index has that URL. */
export async function setIndexEnabled(db: Queryable, simpleUrl: string, enabled: boolean): Promise<boolean> {
  const result = await db.query('UPDATE package_index SET enabled = $2 WHERE simple_url = $1', [
    normalizeIndexUrl(simpleUrl),
    enabled,
  ]);
  return (result.rowCount ?? 0) > 0;
}

/** The root listing's serial the last gap backfill of the index started from (null: none yet). */
export async function loadListingSerial(db: Queryable, indexId: number): Promise<number | null> {
  const { rows } = await db.query<{ listing_serial: string | null }>('SELECT listing_serial FROM package_index WHERE id = $1', [indexId]);
  const serial = rows[0]?.listing_serial ?? null;
  return serial === null ? null : Number(serial);
}

/** Stores the serial a completed gap backfill read its listing at; it never moves back. */
export async function saveListingSerial(db: Queryable, indexId: number, serial: number): Promise<void> {
  await db.query('UPDATE package_index SET listing_serial = GREATEST(COALESCE(listing_serial, 0), $2::bigint) WHERE id = $1', [indexId, serial]);
}
