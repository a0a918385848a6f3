/**
 * What the API, the UI and `pkgstream package list|show` read about projects: a search by
 * normalized name prefix (keyset pages of (project, index_id), in byte order), and a project's releases
 * with their digests, due times, priority and latest solver run per solver. Values are
 * JSON-ready (ISO times) so the same objects go over HTTP and to the terminal.
 */
import { compareParsed, tryParseVersion, type Version } from '../domain/pep440.js';
import { canonicalizeName } from '../domain/pep503.js';
import type { ProjectStatusName } from '../domain/types.js';
import { latestEventKinds } from './events.js';
import { priorityAt, type PriorityOptions } from './priority.js';
import { toId, type Queryable } from './sql.js';

export type ReleaseStateView = 'present' | 'missing' | 'yanked' | 'hash-changed';

export interface ProjectSummary {
  readonly indexId: number;
  readonly indexUrl: string;
  readonly project: string;
  readonly addedAt: string;
  readonly releases: number;
}

export interface ProjectSearch {
  readonly q?: string | undefined;
  readonly indexId?: number | undefined;
  /** Only projects with a release in this stored state. */
  readonly state?: 'present' | 'missing' | 'yanked' | undefined;
  readonly after?: { readonly project: string; readonly indexId: number } | undefined;
  readonly limit: number;
}

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/**
 * When a file was last seen on the index. A check that changes nothing writes no artifact
 * row, so a file still listed on a release that is not missing was seen at its last check.
 */
function lastSeenAt(file: { present: boolean; last_seen_at: Date }, release: { state: string; last_checked_at: Date | null }): Date {
  const listed = file.present && release.state !== 'missing' && release.last_checked_at !== null;
  return listed && release.last_checked_at! > file.last_seen_at ? release.last_checked_at! : file.last_seen_at;
}

/** `q` made canonical (PEP 503) and escaped for a LIKE prefix. */
function prefixPattern(q: string | undefined): string {
  const canonical = q === undefined ? '' : canonicalizeName(q.trim());
  return `${canonical.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function searchProjects(db: Queryable, search: ProjectSearch): Promise<{ items: ProjectSummary[]; next: { project: string; indexId: number } | null }> {
  const params: unknown[] = [prefixPattern(search.q)];
  const where = ['p.project COLLATE "C" LIKE $1'];
  if (search.indexId !== undefined) where.push(`p.index_id = $${params.push(search.indexId)}`);
  if (search.state !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM package_version s WHERE s.index_id = p.index_id AND s.project = p.project AND s.state = $${params.push(search.state)})`);
  }
  if (search.after !== undefined) {
    where.push(`(p.project COLLATE "C", p.index_id) > ($${params.push(search.after.project)}, $${params.push(search.after.indexId)})`);
  }
  const { rows } = await db.query<{ index_id: number; simple_url: string; project: string; added_at: Date; releases: number }>(
    `SELECT p.index_id, i.simple_url, p.project, p.added_at,
            (SELECT count(*)::int FROM package_version v WHERE v.index_id = p.index_id AND v.project = p.project) AS releases
       FROM package_project p JOIN package_index i ON i.id = p.index_id
      WHERE ${where.join(' AND ')}
      ORDER BY p.project COLLATE "C", p.index_id LIMIT $${params.push(search.limit)}`,
    params,
  );
  const items = rows.map((row) => ({ indexId: row.index_id, indexUrl: row.simple_url, project: row.project, addedAt: row.added_at.toISOString(), releases: row.releases }));
  const last = items[items.length - 1];
  return { items, next: items.length === search.limit && last ? { project: last.project, indexId: last.indexId } : null };
}

/** The indexes that know the project (canonical name), oldest index first. */
export async function projectIndexes(db: Queryable, project: string): Promise<{ indexId: number; indexUrl: string }[]> {
  const { rows } = await db.query<{ index_id: number; simple_url: string }>(
    `SELECT p.index_id, i.simple_url FROM package_project p JOIN package_index i ON i.id = p.index_id
      WHERE p.project = $1 ORDER BY p.index_id`,
    [canonicalizeName(project)],
  );
  return rows.map((row) => ({ indexId: row.index_id, indexUrl: row.simple_url }));
}

export interface DigestView {
  readonly filename: string;
  readonly sha256: string | null;
  /** false once the index stopped listing the file. */
  readonly present: boolean;
  readonly lastSeenAt: string;
  /** PEP 700, as the index last gave them (null: not given). */
  readonly size: number | null;
  readonly uploadTime: string | null;
}

export interface SolverRunView {
  readonly solver: string;
  readonly state: string;
  readonly jobName: string | null;
  readonly attempts: number;
  readonly scheduledAt: string | null;
  readonly finishedAt: string | null;
}

export interface ReleaseView {
  readonly version: string;
  readonly state: ReleaseStateView;
  readonly yankedReason: string | null;
  readonly digests: DigestView[];
  readonly firstSeenAt: string;
  readonly releasedAt: string | null;
  readonly lastCheckedAt: string | null;
  readonly lastChangedAt: string | null;
  readonly nextDueAt: string;
  /** The Koschei-style priority now; null when never checked (due at once). */
  readonly priority: number | null;
  readonly manualPriority: number;
  readonly staticPriority: number;
  readonly solverRuns: SolverRunView[];
}

export interface ProjectDetail {
  readonly indexId: number;
  readonly indexUrl: string;
  readonly project: string;
  /** PEP 792 status on the index (`active` unless a page said otherwise), its reason, when it last changed. */
  readonly status: ProjectStatusName;
  readonly statusReason: string | null;
  readonly statusChangedAt: string | null;
  /** Newest version first (PEP 440). */
  readonly releases: ReleaseView[];
}

interface VersionRow {
  id: string;
  version: string;
  state: 'present' | 'missing' | 'yanked';
  yanked_reason: string | null;
  first_seen_at: Date;
  released_at: Date | null;
  last_checked_at: Date | null;
  last_changed_at: Date | null;
  next_due_at: Date;
  manual_priority: number;
  static_priority: number;
}

/** Rows of `table` belonging to the project's releases, grouped by release id. */
async function byRelease<R extends { package_version_id: string }>(db: Queryable, sql: string, params: unknown[]): Promise<Map<number, R[]>> {
  const { rows } = await db.query<R>(sql, params);
  const grouped = new Map<number, R[]>();
  for (const row of rows) {
    const id = toId(row.package_version_id);
    const list = grouped.get(id);
    if (list) list.push(row);
    else grouped.set(id, [row]);
  }
  return grouped;
}

/**
 * The project's releases on one index (every version, or the one given); null when unknown
 * there. `priority`: the options the service computes due times with (the configured recheck
 * interval), so that a shown priority agrees with the shown next due time.
 */
export async function loadProjectDetail(
  db: Queryable,
  target: { readonly indexId: number; readonly project: string; readonly version?: string | undefined },
  priority: PriorityOptions,
): Promise<ProjectDetail | null> {
  const { indexId, version } = target;
  const project = canonicalizeName(target.project);
  const { rows: known } = await db.query<{ simple_url: string; status: ProjectStatusName; status_reason: string | null; status_changed_at: Date | null }>(
    `SELECT i.simple_url, p.status, p.status_reason, p.status_changed_at
       FROM package_project p JOIN package_index i ON i.id = p.index_id WHERE p.index_id = $1 AND p.project = $2`,
    [indexId, project],
  );
  if (!known[0]) return null;
  const params = version === undefined ? [indexId, project] : [indexId, project, version];
  const only = version === undefined ? '' : ' AND v.version = $3';
  const [versions, latest] = await Promise.all([
    db.query<VersionRow>(
      `SELECT v.id, v.version, v.state, v.yanked_reason, v.first_seen_at, v.released_at, v.last_checked_at, v.last_changed_at,
              v.next_due_at, v.manual_priority, v.static_priority
         FROM package_version v WHERE v.index_id = $1 AND v.project = $2${only}`,
      params,
    ),
    latestEventKinds(db, indexId, project),
  ]);
  // By the release ids just read, not a join on (index, project): the planner then reads the
  // (package_version_id, ...) unique indexes instead of hashing the whole artifact table
  // (a parallel seq scan of 2M artifacts made a 2,000-release page take 600 ms).
  const ids = versions.rows.map((row) => row.id);
  const [artifacts, runs] = await Promise.all([
    byRelease<ArtifactRow>(
      db,
      `SELECT a.package_version_id, a.filename, a.sha256, a.present, a.last_seen_at, a.size, a.upload_time
         FROM artifact a WHERE a.package_version_id = ANY($1::bigint[]) ORDER BY a.filename`,
      [ids],
    ),
    byRelease<SolverRunRow>(
      db,
      `SELECT r.package_version_id, r.solver, r.state, r.job_name, r.attempts, r.scheduled_at, r.finished_at
         FROM solver_run r WHERE r.package_version_id = ANY($1::bigint[]) ORDER BY r.solver`,
      [ids],
    ),
  ]);
  const now = new Date();
  const releases = versions.rows.map((row) => {
    const id = toId(row.id);
    return releaseView(row, { artifacts: artifacts.get(id) ?? [], runs: runs.get(id) ?? [], latestEvent: latest.get(row.version) }, now, priority);
  });
  const { simple_url: indexUrl, status, status_reason: statusReason, status_changed_at: changedAt } = known[0];
  return { indexId, indexUrl, project, status, statusReason, statusChangedAt: iso(changedAt), releases: newestFirst(releases) };
}

type ArtifactRow = { package_version_id: string; filename: string; sha256: string | null; present: boolean; last_seen_at: Date; size: string | null; upload_time: Date | null };
type SolverRunRow = { package_version_id: string; solver: string; state: string; job_name: string | null; attempts: number; scheduled_at: Date | null; finished_at: Date | null };

/** One release as shown: its digests, solver runs and priority now (a changed hash shown as such until its next check). */
function releaseView(
  row: VersionRow,
  of: { readonly artifacts: readonly ArtifactRow[]; readonly runs: readonly SolverRunRow[]; readonly latestEvent: string | undefined },
  now: Date,
  priority: PriorityOptions,
): ReleaseView {
  const priorityNow = priorityAt(
    { checkedAt: row.last_checked_at, releasedAt: row.released_at, lastChangedAt: row.last_changed_at, manualPriority: row.manual_priority, staticPriority: row.static_priority },
    now,
    priority,
  );
  return {
    version: row.version,
    state: row.state === 'present' && of.latestEvent === 'hash-mismatch' ? 'hash-changed' : row.state,
    yankedReason: row.yanked_reason,
    digests: of.artifacts.map((a) => ({ filename: a.filename, sha256: a.sha256, present: a.present, lastSeenAt: lastSeenAt(a, row).toISOString(), size: a.size === null ? null : Number(a.size), uploadTime: iso(a.upload_time) })),
    firstSeenAt: row.first_seen_at.toISOString(),
    releasedAt: iso(row.released_at),
    lastCheckedAt: iso(row.last_checked_at),
    lastChangedAt: iso(row.last_changed_at),
    nextDueAt: row.next_due_at.toISOString(),
    priority: Number.isFinite(priorityNow) ? Math.round(priorityNow * 10) / 10 : null,
    manualPriority: row.manual_priority,
    staticPriority: row.static_priority,
    solverRuns: of.runs.map((r) => ({ solver: r.solver, state: r.state, jobName: r.job_name, attempts: r.attempts, scheduledAt: iso(r.scheduled_at), finishedAt: iso(r.finished_at) })),
  };
}

/**
 * Newest first in PEP 440 order, each version parsed once (parsing in the comparator cost
 * ~22,000 parses for a 2,000-release page); a version PEP 440 cannot read sorts by its
 * string, after the rest.
 */
function newestFirst(releases: ReleaseView[]): ReleaseView[] {
  const keyed = releases.map((release) => ({ release, parsed: tryParseVersion(release.version) }));
  keyed.sort((a, b) => compareNewestFirst(a.parsed, b.parsed, a.release.version, b.release.version));
  return keyed.map(({ release }) => release);
}

function compareNewestFirst(a: Version | null, b: Version | null, aText: string, bText: string): number {
  if (a && b) return compareParsed(b, a);
  if (a) return -1;
  if (b) return 1;
  return aText < bText ? 1 : aText > bText ? -1 : 0;
}
