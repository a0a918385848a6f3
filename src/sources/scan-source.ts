/**
 * The Postgres cursor sources: due releases for the update pipeline and unsolved
 * (release, solver) pairs for the dispatch pipeline, as pulled async iterables.
 *
 * Each reads keyset pages (`ORDER BY next_due_at, id`, `(next_due_at, id) > last`), every
 * page in its own short query: no transaction or connection is held between pages, so it
 * also runs on an embedded pool of one while the consumer writes. The next page is read
 * only when the consumer has taken every row of the previous one, so memory is bounded by
 * page size + the consumer's concurrency. A page whose connection dropped is asked again
 * from the same key. `stats` counts pages, rows read and handed out, and retries.
 */
import type pg from 'pg';
import type { UnsolvedItem } from '../domain/ports.js';
import type { StoredRelease } from '../domain/types.js';
import type { PagedScanOptions, ScanIterable } from '../db/paged-scan.js';
import { dueScan, knownProjectsScan, unsolvedScan } from '../db/scans.js';

export type { ScanIterable, ScanStats } from '../db/paged-scan.js';

export interface ScanDueOptions extends PagedScanOptions {
  readonly pool: pg.Pool;
  readonly pageSize: number;
  /** Releases due at or before `now`; with `all`, every release in id order. */
  readonly now: Date;
  readonly all?: boolean;
  /** Only this index's releases. */
  readonly indexId?: number;
  /** Refresh planner statistics first: set it on embedded PGlite (no autovacuum). */
  readonly analyze?: boolean;
}

export function scanDue(options: ScanDueOptions): ScanIterable<StoredRelease> {
  const { pool, ...rest } = options;
  return dueScan(pool, rest);
}

export interface ScanUnsolvedOptions extends PagedScanOptions {
  readonly pool: pg.Pool;
  readonly pageSize: number;
  readonly solvers: readonly string[];
  /** Refresh planner statistics first: set it on embedded PGlite (no autovacuum). */
  readonly analyze?: boolean;
}

/** (release × solver) pairs without a solver run, newest release first. */
export function scanUnsolved(options: ScanUnsolvedOptions): ScanIterable<UnsolvedItem> {
  const { pool, ...rest } = options;
  return unsolvedScan(pool, rest);
}

export interface ScanKnownProjectsOptions extends PagedScanOptions {
  readonly pool: pg.Pool;
  readonly pageSize?: number;
  readonly indexId?: number;
}

/** Known project names in name order (of one index, or of all). */
export function scanKnownProjects(options: ScanKnownProjectsOptions): ScanIterable<string> {
  const { pool, ...rest } = options;
  return knownProjectsScan(pool, rest);
}
