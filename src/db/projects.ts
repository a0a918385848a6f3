/**
 * Known ("seen") projects: the `package_project` table. A project is known on an index once
 * added by `package add` or once one of its releases was recorded there.
 */
import { BadInputError } from '../domain/errors.js';
import { canonicalizeName, parseProjectName } from '../domain/pep503.js';
import { getIndex } from './indexes.js';
import type { ProjectRef, Validators } from '../domain/types.js';
import type { Queryable } from './sql.js';

export type AddProjectResult = 'added' | 'known' | 'no-index';

/**
 * Registers a project (validated, made PEP 503 canonical) as seen on an index given by id
 * or simple URL: `added`, `known` when it already was, `no-index` when no such index.
 * Throws BadInputError `BAD_PROJECT_NAME` for an invalid name.
 */
export async function addProject(
  db: Queryable,
  input: { readonly project: string; readonly indexUrl?: string; readonly indexId?: number; readonly at?: Date },
): Promise<AddProjectResult> {
  const project = parseProjectName(input.project);
  let indexId = input.indexId;
  if (indexId === undefined) {
    // programming error: every caller gives one of the two (the type cannot say so).
    if (input.indexUrl === undefined) throw new TypeError('addProject: indexUrl or indexId is required');
    let index;
    try {
      index = await getIndex(db, input.indexUrl);
    } catch (error) {
      if (error instanceof BadInputError) return 'no-index';
      throw error;
    }
    if (!index) return 'no-index';
    indexId = index.id;
  }
  const result = await db.query<{ added: boolean }>(
    `WITH ins AS (
       INSERT INTO package_project (index_id, project, added_at)
       SELECT id, $2, COALESCE($3::timestamptz, now()) FROM package_index WHERE id = $1
       ON CONFLICT (index_id, project) DO NOTHING
       RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM ins) AS added, EXISTS (SELECT 1 FROM package_index WHERE id = $1) AS has_index`,
    [indexId, project, input.at ?? null],
  );
  const row = result.rows[0] as { added: boolean; has_index: boolean } | undefined;
  if (!row?.has_index) return 'no-index';
  return row.added ? 'added' : 'known';
}

/** Whether the project (any spelling) is known on that index, or on any index. */
export async function isKnownProject(db: Queryable, project: string, indexId?: number): Promise<boolean> {
  const name = canonicalizeName(project);
  const { rows } = await db.query<{ known: boolean }>(
    indexId === undefined
      ? 'SELECT EXISTS (SELECT 1 FROM package_project WHERE project = $1) AS known'
      : 'SELECT EXISTS (SELECT 1 FROM package_project WHERE project = $1 AND index_id = $2) AS known',
    indexId === undefined ? [name] : [name, indexId],
  );
  return rows[0]?.known ?? false;
}

/** One page of known project names in name order, after `after` (exclusive). */
/**
 * Projects registered on an enabled index without feeds that have no release recorded yet
 * (a `package add` there), after the keyset position `after` (`[indexId, project]`), in
 * that order. On an index with feeds the feeds announce a project's releases.
 */
export async function listUnrecordedProjects(
  db: Queryable,
  options: { readonly after?: readonly [number, string] | null; readonly limit?: number } = {},
): Promise<ProjectRef[]> {
  const [afterIndex, afterProject] = options.after ?? [0, ''];
  const { rows } = await db.query<{ index_id: number; simple_url: string; project: string }>(
    `SELECT p.index_id, i.simple_url, p.project
       FROM package_project p JOIN package_index i ON i.id = p.index_id
      WHERE i.enabled AND i.rss_url IS NULL AND (p.index_id, p.project) > ($1, $2)
        AND NOT EXISTS (SELECT 1 FROM package_version v WHERE v.index_id = p.index_id AND v.project = p.project)
      ORDER BY p.index_id, p.project LIMIT $3`,
    [afterIndex, afterProject, options.limit ?? 1000],
  );
  return rows.map((row) => ({ indexId: row.index_id, indexUrl: row.simple_url, project: row.project }));
}

export async function listKnownProjects(
  db: Queryable,
  options: { readonly indexId?: number; readonly after?: string | null; readonly limit?: number; readonly unreported?: boolean } = {},
): Promise<string[]> {
  const limit = options.limit ?? 1000;
  const after = options.after ?? '';
  const unreported = options.unreported
    ? ` AND EXISTS (SELECT 1 FROM package_version v WHERE v.index_id = p.index_id AND v.project = p.project AND v.state <> 'missing')`
    : '';
  const { rows } = await db.query<{ project: string }>(
    options.indexId === undefined
      ? `SELECT DISTINCT project FROM package_project p WHERE project > $1${unreported} ORDER BY project LIMIT $2`
      : `SELECT project FROM package_project p WHERE index_id = $3 AND project > $1${unreported} ORDER BY project LIMIT $2`,
    options.indexId === undefined ? [after, limit] : [after, limit, options.indexId],
  );
  return rows.map((row) => row.project);
}

/**
 * The validators of the project's last page whose check was applied in full; null when there
 * are none, or when no release of the project is recorded (a 304 would confirm nothing then).
 */
export async function loadPageValidators(db: Queryable, indexId: number, project: string): Promise<Validators | null> {
  const { rows } = await db.query<{ page_etag: string | null; page_last_modified: string | null }>(
    `SELECT p.page_etag, p.page_last_modified FROM package_project p
      WHERE p.index_id = $1 AND p.project = $2 AND (p.page_etag IS NOT NULL OR p.page_last_modified IS NOT NULL)
        AND EXISTS (SELECT 1 FROM package_version v WHERE v.index_id = p.index_id AND v.project = p.project)`,
    [indexId, project],
  );
  const row = rows[0];
  return row ? { etag: row.page_etag, lastModified: row.page_last_modified } : null;
}

/** The serial the root listing last promised of the project's page (queueRecheck); null: none. */
export async function loadPromisedSerial(db: Queryable, indexId: number, project: string): Promise<number | null> {
  const { rows } = await db.query<{ listed_serial: string | null }>('SELECT listed_serial FROM package_project WHERE index_id = $1 AND project = $2', [indexId, project]);
  const serial = rows[0]?.listed_serial;
  return serial === null || serial === undefined ? null : Number(serial);
}

/** Stores (or, with null, forgets) the validators of the project's page; a project not known here is left alone. */
export async function savePageValidators(db: Queryable, indexId: number, project: string, validators: Validators | null): Promise<void> {
  await db.query(
    `UPDATE package_project SET page_etag = $3::text, page_last_modified = $4::text
      WHERE index_id = $1 AND project = $2 AND (page_etag, page_last_modified) IS DISTINCT FROM ($3::text, $4::text)`,
    [indexId, project, validators?.etag ?? null, validators?.lastModified ?? null],
  );
}
