/**
 * Known releases: `package_version` and its `artifact` rows. Writes are idempotent upserts
 * in short transactions; the next due time is computed at write time (priority.ts).
 */
import type pg from 'pg';
import { canonicalizeName } from '../domain/pep503.js';
import type { RecordedRelease } from '../domain/ports.js';
import type { IndexFile, IndexRelease, PackageEvent, ReleaseState, StoredArtifact, StoredRelease } from '../domain/types.js';
import { requireVersion } from '../domain/version-check.js';
import { artifactColumns, fileMap, type ArtifactFile } from './artifacts.js';
import { insertEvents } from './events.js';
import { DEFAULT_PRIORITY, nextDueAt, type PriorityOptions } from './priority.js';
import { toId, withTransaction, type Queryable } from './sql.js';

/** Columns of a StoredRelease (`v` package_version, `i` package_index), artifacts included. */
export const RELEASE_COLUMNS = `
         v.id, v.index_id, i.simple_url, v.project, v.version, v.state, v.yanked_reason,
         v.last_checked_at, v.next_due_at, v.next_due_at::text AS due_key,
         COALESCE((SELECT json_agg(json_build_object('filename', a.filename, 'sha256', a.sha256) ORDER BY a.filename)
                     FROM artifact a
                    WHERE a.package_version_id = v.id AND a.present), '[]'::json) AS artifacts`;
export const RELEASE_FROM = 'FROM package_version v JOIN package_index i ON i.id = v.index_id';
export const RELEASE_SELECT = `SELECT ${RELEASE_COLUMNS} ${RELEASE_FROM}`;

export interface ReleaseRow {
  id: string;
  index_id: number;
  simple_url: string;
  project: string;
  version: string;
  state: ReleaseState;
  yanked_reason: string | null;
  last_checked_at: Date | null;
  next_due_at: Date;
  /** next_due_at as Postgres prints it, to the microsecond: the scan's keyset value. */
  due_key: string;
  artifacts: StoredArtifact[];
}

export function toStoredRelease(row: ReleaseRow): StoredRelease {
  return {
    id: toId(row.id),
    indexId: row.index_id,
    indexUrl: row.simple_url,
    project: row.project,
    version: row.version,
    state: row.state,
    yankedReason: row.yanked_reason,
    artifacts: row.artifacts,
    lastCheckedAt: row.last_checked_at,
    nextDueAt: row.next_due_at,
  };
}

export async function loadRelease(
  db: Queryable,
  indexId: number,
  project: string,
  version: string,
): Promise<StoredRelease | null> {
  const { rows } = await db.query<ReleaseRow>(
    `${RELEASE_SELECT} WHERE v.index_id = $1 AND v.project = $2 AND v.version = $3`,
    [indexId, canonicalizeName(project), version],
  );
  return rows[0] ? toStoredRelease(rows[0]) : null;
}

/** Every known release of a project on an index, in version-string order. */
export async function loadProjectReleases(db: Queryable, indexId: number, project: string): Promise<StoredRelease[]> {
  const { rows } = await db.query<ReleaseRow>(
    `${RELEASE_SELECT} WHERE v.index_id = $1 AND v.project = $2 ORDER BY v.version`,
    [indexId, canonicalizeName(project)],
  );
  return rows.map(toStoredRelease);
}

function earliestUpload(files: readonly IndexFile[]): Date | null {
  let earliest: number | null = null;
  for (const file of files) {
    if (file.uploadTime === null) continue;
    const time = Date.parse(file.uploadTime);
    if (!Number.isNaN(time) && (earliest === null || time < earliest)) earliest = time;
  }
  return earliest === null ? null : new Date(earliest);
}

export interface RecordReleasesOptions {
  readonly seenAt?: Date;
  /** Per version; default: the earliest upload time of its files. */
  readonly releasedAt?: ReadonlyMap<string, Date | null>;
  readonly priority?: PriorityOptions;
  /**
   * The events announcing a version, written in the same transaction for the versions this
   * call created only: whichever writer inserts the row announces it, exactly once.
   */
  readonly announce?: (version: string) => readonly PackageEvent[];
  /** `service_version` of the events' envelope. */
  readonly serviceVersion?: string;
}

/** The distinct new versions of one recording, sorted (one lock order for every writer), with their files, release and due times. */
interface VersionPlan {
  readonly versions: readonly string[];
  readonly files: ReadonlyMap<string, Map<string, ArtifactFile>>;
  readonly releasedAts: readonly (Date | null)[];
  readonly dueAts: readonly Date[];
}

type VersionRows = Map<string, { id: number; created: boolean }>;

function planVersions(releases: readonly IndexRelease[], seenAt: Date, options: RecordReleasesOptions): VersionPlan {
  const byVersion = new Map<string, { files: Map<string, ArtifactFile>; releasedAt: Date | null }>();
  for (const release of releases) {
    // Versions are checked where they enter (and a bad one skipped there): one reaching here
    // came by a path that skipped the check, and is refused before anything is written.
    requireVersion(release.version);
    if (byVersion.has(release.version)) continue;
    const releasedAt = options.releasedAt?.has(release.version)
      ? (options.releasedAt.get(release.version) ?? null)
      : earliestUpload(release.files);
    byVersion.set(release.version, { files: fileMap(release.files), releasedAt });
  }
  const versions = [...byVersion.keys()].sort();
  const releasedAts = versions.map((version) => byVersion.get(version)?.releasedAt ?? null);
  const priority = options.priority ?? DEFAULT_PRIORITY;
  const dueAts = releasedAts.map((releasedAt) =>
    nextDueAt({ checkedAt: seenAt, releasedAt, lastChangedAt: null, manualPriority: 0, staticPriority: 0 }, seenAt, priority),
  );
  return { versions, files: new Map([...byVersion].map(([version, { files }]) => [version, files])), releasedAts, dueAts };
}

/** Inserts the versions not known yet; answers every version's row id and whether this call created it. */
async function upsertVersions(client: Queryable, indexId: number, project: string, seenAt: Date, plan: VersionPlan): Promise<VersionRows> {
  const inserted = await client.query<{ id: string; version: string }>(
    `INSERT INTO package_version (index_id, project, version, first_seen_at, released_at, next_due_at)
     SELECT $1, $2, t.version, $3, t.released_at, t.next_due_at
       FROM unnest($4::text[], $5::timestamptz[], $6::timestamptz[]) AS t(version, released_at, next_due_at)
     ORDER BY t.version
     ON CONFLICT (index_id, project, version) DO NOTHING
     RETURNING id, version`,
    [indexId, project, seenAt, plan.versions, plan.releasedAts, plan.dueAts],
  );
  const rows: VersionRows = new Map();
  for (const row of inserted.rows) rows.set(row.version, { id: toId(row.id), created: true });
  const rest = plan.versions.filter((version) => !rows.has(version));
  if (rest.length > 0) {
    const known = await client.query<{ id: string; version: string }>(
      'SELECT id, version FROM package_version WHERE index_id = $1 AND project = $2 AND version = ANY($3::text[])',
      [indexId, project, rest],
    );
    for (const row of known.rows) rows.set(row.version, { id: toId(row.id), created: false });
  }
  return rows;
}

/** The artifacts of the versions this call created (a known version's files are the update pipeline's). */
async function insertCreatedArtifacts(client: Queryable, rows: VersionRows, plan: VersionPlan, seenAt: Date): Promise<void> {
  const artifacts = [...rows].flatMap(([version, { id, created }]) =>
    created ? [...(plan.files.get(version) ?? [])].map(([filename, file]) => ({ id, filename, file })) : [],
  );
  if (artifacts.length === 0) return;
  const columns = artifactColumns(artifacts);
  await client.query(
    `INSERT INTO artifact (package_version_id, filename, sha256, size, upload_time, present, first_seen_at, last_seen_at)
     SELECT t.id, t.filename, t.sha256, t.size, t.upload_time, true, $6, $6
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) AS t(id, filename, sha256, size, upload_time)
     ON CONFLICT (package_version_id, filename) DO NOTHING`,
    [artifacts.map(({ id }) => id), columns.filenames, columns.hashes, columns.sizes, columns.uploadTimes, seenAt],
  );
}

/**
 * Records releases of one project on one index in one transaction: the project becomes
 * known, every new version gets a row (due as if checked when seen), its artifacts and its
 * announcing events. Known versions are left alone (re-checking them is the update
 * pipeline's job), so a replay changes nothing, announces nothing and answers `created: false`.
 * Answers one entry per distinct version, in the order given.
 */
export async function recordReleases(
  pool: pg.Pool,
  indexId: number,
  projectName: string,
  releases: readonly IndexRelease[],
  options: RecordReleasesOptions = {},
): Promise<RecordedRelease[]> {
  const project = canonicalizeName(projectName);
  const seenAt = options.seenAt ?? new Date();
  const plan = planVersions(releases, seenAt, options);
  const rows = await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO package_project (index_id, project, added_at) VALUES ($1, $2, $3)
       ON CONFLICT (index_id, project) DO NOTHING`,
      [indexId, project, seenAt],
    );
    if (plan.versions.length === 0) return new Map() as VersionRows;
    const rows = await upsertVersions(client, indexId, project, seenAt, plan);
    await insertCreatedArtifacts(client, rows, plan, seenAt);
    const created = [...new Set(releases.map((release) => release.version))].filter((version) => rows.get(version)?.created === true);
    const events = options.announce ? created.flatMap(options.announce) : [];
    await insertEvents(client, events, { indexId, serviceVersion: options.serviceVersion ?? 'unknown', createdAt: seenAt });
    return rows;
  });
  return [...new Set(releases.map((release) => release.version))].map((version) => {
    const row = rows.get(version);
    // programming error: the upsert returns a row for every release.
    if (!row) throw new Error(`recordReleases: no row for ${project} ${version}`);
    return { id: row.id, version, created: row.created };
  });
}

/** Moves a release's due time (a lease while it is worked on, or a back-off). */
export async function deferCheck(db: Queryable, releaseId: number, until: Date): Promise<boolean> {
  const result = await db.query('UPDATE package_version SET next_due_at = $2, recheck_queued_at = NULL WHERE id = $1', [releaseId, until]);
  return (result.rowCount ?? 0) > 0;
}


/** Brings a project's releases due by `at` (never later than they were): the index says it changed. */
export async function queueRecheck(db: Queryable, indexId: number, project: string, at: Date, serial: number | null): Promise<void> {
  await db.query('UPDATE package_version SET next_due_at = LEAST(next_due_at, $3), recheck_queued_at = $3 WHERE index_id = $1 AND project = $2', [indexId, project, at]);
  if (serial === null) return;
  await db.query(
    'UPDATE package_project SET listed_serial = $3 WHERE index_id = $1 AND project = $2 AND (listed_serial IS NULL OR listed_serial < $3)',
    [indexId, project, serial],
  );
}
