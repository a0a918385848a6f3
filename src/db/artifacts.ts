/**
 * `artifact` rows: the files of a release, with their sha256 and the PEP 700 size and
 * upload time the index gave. Written when a release is recorded and when a check finds its
 * files changed; never by an unchanged check (a pass over 1M releases would rewrite 2M rows).
 */
import type pg from 'pg';
import { BadInputError } from '../domain/errors.js';
import type { IndexFile } from '../domain/types.js';

const SHA256 = /^[0-9a-f]{64}$/;

/** What an artifact row holds of one index file. */
export interface ArtifactFile {
  /** Lowercase hex; null when the index gave none. */
  readonly sha256: string | null;
  readonly size: number | null;
  /** ISO 8601, checked by the parser; Postgres reads it to the microsecond. */
  readonly uploadTime: string | null;
}

/** Lowercase sha256 or null; anything else is bad input. */
function checkSha256(file: IndexFile): string | null {
  if (file.sha256 === null) return null;
  const sha = file.sha256.toLowerCase();
  if (!SHA256.test(sha)) {
    throw new BadInputError('BAD_SHA256', `not a sha256 for ${file.filename}: ${JSON.stringify(file.sha256.slice(0, 80))}`);
  }
  return sha;
}

/** Files by filename (the last of a repeated name wins), hashes checked. */
export function fileMap(files: readonly IndexFile[]): Map<string, ArtifactFile> {
  const map = new Map<string, ArtifactFile>();
  for (const file of files) map.set(file.filename, { sha256: checkSha256(file), size: file.size, uploadTime: file.uploadTime });
  return map;
}

/** The columns of artifact rows to write, one array each (for `unnest`). */
export function artifactColumns(rows: readonly { readonly filename: string; readonly file: ArtifactFile }[]) {
  return {
    filenames: rows.map((row) => row.filename),
    hashes: rows.map((row) => row.file.sha256),
    sizes: rows.map((row) => row.file.size),
    uploadTimes: rows.map((row) => row.file.uploadTime),
  };
}

/**
 * Makes the present artifacts equal the index's files; true when anything changed. A file
 * gone from the page was last seen at the release's previous check. A size or upload time
 * the index stops giving keeps the stored one, as a digest does.
 */
export async function syncArtifacts(
  client: pg.PoolClient,
  releaseId: number,
  files: ReadonlyMap<string, ArtifactFile>,
  { at, lastCheckedAt }: { readonly at: Date; readonly lastCheckedAt: Date | null },
): Promise<boolean> {
  const { rows } = await client.query<{ filename: string; sha256: string | null; present: boolean }>(
    'SELECT filename, sha256, present FROM artifact WHERE package_version_id = $1',
    [releaseId],
  );
  const stored = new Map(rows.map((row) => [row.filename, row]));
  let changed = false;
  for (const [filename, { sha256 }] of files) {
    const old = stored.get(filename);
    // Only two digests that differ are a change: one learned where none was stored, or one
    // the index stopped giving (the stored one is kept), is not.
    const differs = sha256 !== null && old?.sha256 != null && old.sha256 !== sha256;
    if (!old || !old.present || differs) changed = true;
  }
  const gone = rows.filter((row) => row.present && !files.has(row.filename)).map((row) => row.filename);
  if (gone.length > 0) {
    changed = true;
    await client.query(
      'UPDATE artifact SET present = false, last_seen_at = GREATEST(last_seen_at, $3) WHERE package_version_id = $1 AND filename = ANY($2::text[])',
      [releaseId, gone, lastCheckedAt],
    );
  }
  if (files.size > 0) {
    const columns = artifactColumns([...files].map(([filename, file]) => ({ filename, file })));
    await client.query(
      `INSERT INTO artifact (package_version_id, filename, sha256, size, upload_time, present, first_seen_at, last_seen_at)
       SELECT $1, t.filename, t.sha256, t.size, t.upload_time, true, $6, $6
         FROM unnest($2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) AS t(filename, sha256, size, upload_time)
       ON CONFLICT (package_version_id, filename) DO UPDATE
         SET sha256 = COALESCE(EXCLUDED.sha256, artifact.sha256), size = COALESCE(EXCLUDED.size, artifact.size),
             upload_time = COALESCE(EXCLUDED.upload_time, artifact.upload_time), present = true, last_seen_at = EXCLUDED.last_seen_at`,
      [releaseId, columns.filenames, columns.hashes, columns.sizes, columns.uploadTimes, at],
    );
  }
  return changed;
}
