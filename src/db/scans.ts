/**
 * Keyset-paged reads of the tables the pipelines walk, and pulled scans over them
 * (paged-scan.ts): due releases, unsolved (release, solver) pairs, known projects.
 */
import { PkgstreamError } from '../domain/errors.js';
import type { UnsolvedCursor, UnsolvedItem } from '../domain/ports.js';
import type { ProjectRef, StoredRelease } from '../domain/types.js';
import { pagedScan, type Page, type PagedScanOptions, type ScanIterable } from './paged-scan.js';
import { analyzeTables } from './maintenance.js';
import { listKnownProjects, listUnrecordedProjects } from './projects.js';
import { RELEASE_COLUMNS, RELEASE_FROM, RELEASE_SELECT, toStoredRelease, type ReleaseRow } from './releases.js';
import { readUnsolvedPage } from './solver-runs.js';
import { toId, type Queryable } from './sql.js';

/**
 * Position in the due scan: the last row's due time as Postgres printed it (microseconds
 * kept, unlike a JS Date) and its id; in an `all` scan only the id counts.
 */
export interface DueKey {
  readonly dueKey: string;
  readonly id: number;
}

export interface DuePageOptions {
  /** Rows due at or before this time (ignored with `all`). */
  readonly now: Date;
  readonly limit: number;
  /** Every release of the enabled indexes, in id order, due or not. */
  readonly all?: boolean;
  readonly indexId?: number;
}

/**
 * One page of due releases of enabled indexes, most due first (`ORDER BY next_due_at, id`),
 * with their present artifacts, after `after`.
 */
export async function readDuePage(
  db: Queryable,
  after: DueKey | null,
  options: DuePageOptions,
): Promise<Page<StoredRelease, DueKey>> {
  const params: unknown[] = [options.limit];
  const where = ['i.enabled'];
  if (options.indexId !== undefined) {
    params.push(options.indexId);
    where.push(`v.index_id = $${params.length}`);
  }
  let order: string;
  if (options.all) {
    order = 'v.id';
    if (after !== null) {
      params.push(after.id);
      where.push(`v.id > $${params.length}`);
    }
  } else {
    order = 'v.next_due_at, v.id';
    params.push(options.now);
    where.push(`v.next_due_at <= $${params.length}`);
    if (after !== null) {
      params.push(after.dueKey, after.id);
      where.push(`(v.next_due_at, v.id) > ($${params.length - 1}::timestamptz, $${params.length}::bigint)`);
    }
  }
  const { rows } = await db.query<ReleaseRow>(
    `${RELEASE_SELECT} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT $1`,
    params,
  );
  const last = rows[rows.length - 1];
  const next = rows.length < options.limit || !last ? null : { dueKey: last.due_key, id: toId(last.id) };
  return { rows: rows.map(toStoredRelease), next };
}

/**
 * The releases a serial sync queued for a re-check (queueRecheck), the most recently queued
 * first, page by page: keyset on (recheck_queued_at, id) descending, the time as Postgres
 * prints it (microseconds kept).
 */
export function queuedScan(db: Queryable, options: PagedScanOptions & { readonly pageSize: number }): ScanIterable<StoredRelease> {
  checkPageSize(options.pageSize);
  return pagedScan(async (after: { readonly queuedKey: string; readonly id: number } | null) => {
    const params: unknown[] = [options.pageSize];
    const where = ['i.enabled', 'v.recheck_queued_at IS NOT NULL'];
    if (after) {
      params.push(after.queuedKey, after.id);
      where.push('(v.recheck_queued_at, v.id) < ($2::timestamptz, $3::bigint)');
    }
    const { rows } = await db.query<ReleaseRow & { queued_key: string }>(
      `SELECT ${RELEASE_COLUMNS}, v.recheck_queued_at::text AS queued_key ${RELEASE_FROM} WHERE ${where.join(' AND ')}
        ORDER BY v.recheck_queued_at DESC, v.id DESC LIMIT $1`,
      params,
    );
    const last = rows[rows.length - 1];
    return { rows: rows.map(toStoredRelease), next: rows.length < options.pageSize || !last ? null : { queuedKey: last.queued_key, id: toId(last.id) } };
  }, options);
}

/** How many rows a due scan started now would hand out (its pass's `rows due`). */
export async function countDue(db: Queryable, options: Omit<DuePageOptions, 'limit'>): Promise<number> {
  const params: unknown[] = [];
  const where = ['i.enabled'];
  if (options.indexId !== undefined) {
    params.push(options.indexId);
    where.push(`v.index_id = $${params.length}`);
  }
  if (!options.all) {
    params.push(options.now);
    where.push(`v.next_due_at <= $${params.length}`);
  }
  const { rows } = await db.query<{ due: string }>(
    `SELECT count(*) AS due FROM package_version v JOIN package_index i ON i.id = v.index_id WHERE ${where.join(' AND ')}`,
    params,
  );
  return Number(rows[0]?.due ?? 0);
}

export interface DueScanOptions extends PagedScanOptions {
  readonly pageSize: number;
  readonly now: Date;
  readonly all?: boolean;
  readonly indexId?: number;
  /**
   * Refresh the planner's statistics of the scanned tables before the first page. Needed on
   * embedded PGlite, which has no autovacuum: with stale statistics the keyset page query
   * turns from an index range scan into a sort of every remaining row.
   */
  readonly analyze?: boolean;
}

export function dueScan(db: Queryable, options: DueScanOptions): ScanIterable<StoredRelease> {
  checkPageSize(options.pageSize);
  const page: DuePageOptions = {
    now: options.now,
    limit: options.pageSize,
    ...(options.all === undefined ? {} : { all: options.all }),
    ...(options.indexId === undefined ? {} : { indexId: options.indexId }),
  };
  const before = options.analyze ? () => analyzeTables(db, ['package_version', 'artifact']) : options.before;
  return pagedScan((after: DueKey | null) => readDuePage(db, after, page), { ...options, ...(before ? { before } : {}) });
}

export interface UnsolvedScanOptions extends PagedScanOptions {
  readonly pageSize: number;
  readonly solvers: readonly string[];
  /** As for the due scan: refresh statistics first (embedded PGlite has no autovacuum). */
  readonly analyze?: boolean;
}

export function unsolvedScan(db: Queryable, options: UnsolvedScanOptions): ScanIterable<UnsolvedItem> {
  checkPageSize(options.pageSize);
  const before = options.analyze ? () => analyzeTables(db, ['package_version', 'solver_run']) : options.before;
  return pagedScan(
    async (after: UnsolvedCursor | null) => {
      const page = await readUnsolvedPage(db, { solvers: options.solvers, after, limit: options.pageSize });
      return { rows: [...page.items], next: page.next };
    },
    { ...options, ...(before ? { before } : {}) },
  );
}

export interface KnownProjectsScanOptions extends PagedScanOptions {
  readonly pageSize?: number;
  readonly indexId?: number;
  readonly unreported?: boolean;
}

export function knownProjectsScan(db: Queryable, options: KnownProjectsScanOptions = {}): ScanIterable<string> {
  const limit = options.pageSize ?? 1000;
  checkPageSize(limit);
  return pagedScan(async (after: string | null) => {
    const rows = await listKnownProjects(db, {
      after,
      limit,
      ...(options.indexId === undefined ? {} : { indexId: options.indexId }),
      ...(options.unreported ? { unreported: true } : {}),
    });
    const last = rows[rows.length - 1];
    return { rows, next: rows.length < limit || last === undefined ? null : last };
  }, options);
}

/** Feedless indexes' registered projects without a recorded release (listUnrecordedProjects), page by page. */
export function unrecordedProjectsScan(db: Queryable, options: PagedScanOptions & { readonly pageSize?: number } = {}): ScanIterable<ProjectRef> {
  const limit = options.pageSize ?? 1000;
  checkPageSize(limit);
  return pagedScan(async (after: readonly [number, string] | null) => {
    const rows = await listUnrecordedProjects(db, { after, limit });
    const last = rows[rows.length - 1];
    return { rows, next: rows.length < limit || last === undefined ? null : ([last.indexId, last.project] as const) };
  }, options);
}

function checkPageSize(pageSize: number): void {
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new PkgstreamError('OPTION_RANGE', `page size must be a positive integer, not ${pageSize}`);
}
