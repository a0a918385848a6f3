/**
 * Fast seeding: `package_version` and `artifact` rows made by generate_series in SQL, and
 * the same projects on the local index (a wheel and an sdist per version). The rows' sha256
 * is that of `<project>/<version>/<filename>` (what bench/support/synthetic-index.ts serves);
 * against the local index, whose files are real bytes, storeIndexDigests then stores its
 * digests, so a re-check finds nothing changed.
 *
 * Project `i` is `<prefix><i>`, its versions `1.0` .. `1.<k-1>`; release `g` (0-based) is
 * version `1.<g % k>` of project `floor(g / k)`.
 */
import type pg from 'pg';
import type { IndexServer } from '../../test/support/index-server/index.js';

export interface SeedShape {
  readonly indexId: number;
  /** Rows in all: the last project may have fewer versions. */
  readonly rows: number;
  readonly versionsPerProject: number;
  readonly prefix: string;
  /** First release number (to add rows to an earlier seed). Default 0. */
  readonly from?: number;
  /**
   * Releases checked a moment ago and due again spread evenly over the next this many seconds
   * (in no order of their projects). Absent: never checked, all due since a day ago.
   */
  readonly dueWithinSeconds?: number;
}

export const projectName = (prefix: string, i: number): string => `${prefix}${i}`;
export const versionName = (j: number): string => `1.${j}`;
export const wheelFile = (project: string, version: string): string => `${project}-${version}-py3-none-any.whl`;
export const sdistFile = (project: string, version: string): string => `${project}-${version}.tar.gz`;

/** Inserts the rows (and their projects and two artifacts each) in a few statements. */
export async function seedReleases(pool: pg.Pool, shape: SeedShape): Promise<void> {
  const from = shape.from ?? 0;
  const to = shape.rows - 1;
  if (to < from) return;
  const k = shape.versionsPerProject;
  const params = [shape.indexId, shape.prefix, k, from, to];
  const due = shape.dueWithinSeconds === undefined ? `now() - interval '1 day', NULL::timestamptz` : `now() + ((g::bigint * 7919) % 10000) * $6::float8 / 10000 * interval '1 second', now()`;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO package_project (index_id, project)
       SELECT DISTINCT $1::int, $2::text || (g / $3::int)::text FROM generate_series($4::int, $5::int) AS g
       ON CONFLICT DO NOTHING`,
      params,
    );
    await client.query(
      `INSERT INTO package_version (index_id, project, version, next_due_at, last_checked_at, released_at)
       SELECT $1::int, $2::text || (g / $3::int)::text, '1.' || (g % $3::int)::text,
              ${due}, now() - interval '30 days'
         FROM generate_series($4::int, $5::int) AS g
       ON CONFLICT DO NOTHING`,
      shape.dueWithinSeconds === undefined ? params : [...params, shape.dueWithinSeconds],
    );
    await client.query(
      `INSERT INTO artifact (package_version_id, filename, sha256)
       SELECT v.id, f.filename, encode(sha256(convert_to(v.project || '/' || v.version || '/' || f.filename, 'UTF8')), 'hex')
         FROM package_version v
        CROSS JOIN LATERAL (VALUES (v.project || '-' || v.version || '-py3-none-any.whl'),
                                   (v.project || '-' || v.version || '.tar.gz')) AS f(filename)
        WHERE v.index_id = $1 AND v.id > (SELECT COALESCE(max(package_version_id), 0) FROM artifact)
       ON CONFLICT DO NOTHING`,
      [shape.indexId],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  await pool.query('ANALYZE package_version');
  await pool.query('ANALYZE artifact');
}

/** The same releases on the local index (default files: wheel + sdist). */
export function seedIndex(index: IndexServer, shape: SeedShape): void {
  const k = shape.versionsPerProject;
  const uploadTime = new Date('2024-01-01T00:00:00Z');
  for (let g = shape.from ?? 0; g < shape.rows; g += 1) {
    index.addRelease(projectName(shape.prefix, Math.floor(g / k)), versionName(g % k), undefined, { uploadTime });
  }
}

/** Stores the local index's sha256 of every seeded artifact (one statement). */
export async function storeIndexDigests(pool: pg.Pool, index: IndexServer, indexId: number): Promise<void> {
  const rows = index.model.allProjects().flatMap((p) => p.releases.flatMap((r) => r.files.map((f) => [p.name, r.version, f.filename, f.sha256])));
  const column = (i: number) => rows.map((row) => row[i]);
  await pool.query(
    `UPDATE artifact a SET sha256 = d.sha256
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS d(project, version, filename, sha256), package_version v
      WHERE v.id = a.package_version_id AND v.index_id = $1 AND v.project = d.project AND v.version = d.version AND a.filename = d.filename`,
    [indexId, column(0), column(1), column(2), column(3)],
  );
}
