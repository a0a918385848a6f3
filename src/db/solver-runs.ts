/**
 * Solver runs: one row per (release, solver) once a solver Job was scheduled for it. A
 * write that changes a run writes its event (`solver-scheduled`, `solver-finished`) in the
 * same transaction; a replay changes nothing and announces nothing.
 */
import type pg from 'pg';
import type { SolverFinished, SolverScheduled, UnsolvedCursor, UnsolvedItem, UnsolvedPage } from '../domain/ports.js';
import type { PackageEvent } from '../domain/types.js';
import { insertEvents } from './events.js';
import { toId, withTransaction, type Queryable } from './sql.js';

/** How a solver-run write announces itself. */
export interface SolverRunEvent {
  readonly event?: PackageEvent;
  readonly serviceVersion?: string;
}

async function announce(db: Queryable, releaseId: number, { event, serviceVersion }: SolverRunEvent, at: Date): Promise<void> {
  if (!event) return;
  const { rows } = await db.query<{ index_id: number }>('SELECT index_id FROM package_version WHERE id = $1', [releaseId]);
  await insertEvents(db, [event], { indexId: rows[0]?.index_id ?? null, serviceVersion: serviceVersion ?? 'unknown', createdAt: at });
}

interface UnsolvedRow {
  id: string;
  index_id: number;
  simple_url: string;
  project: string;
  version: string;
  solver: string;
}

/**
 * One page of (release × configured solver) pairs with no solver run, newest release first
 * then solver name, after `after`. Missing releases and disabled indexes are skipped.
 */
export async function readUnsolvedPage(
  db: Queryable,
  options: { readonly solvers: readonly string[]; readonly after: UnsolvedCursor | null; readonly limit: number },
): Promise<UnsolvedPage> {
  if (options.solvers.length === 0) return { items: [], next: null };
  const solvers = [...new Set(options.solvers)].sort();
  const params: unknown[] = [solvers, options.limit];
  let keyset = '';
  if (options.after !== null) {
    params.push(options.after.releaseId, options.after.solver);
    keyset = 'AND v.id <= $3 AND (v.id < $3 OR s.solver > $4)';
  }
  const { rows } = await db.query<UnsolvedRow>(
    `SELECT v.id, v.index_id, i.simple_url, v.project, v.version, s.solver
       FROM package_version v
       JOIN package_index i ON i.id = v.index_id AND i.enabled
      CROSS JOIN unnest($1::text[]) AS s(solver)
      WHERE v.state <> 'missing' ${keyset}
        AND NOT EXISTS (SELECT 1 FROM solver_run r WHERE r.package_version_id = v.id AND r.solver = s.solver)
      ORDER BY v.id DESC, s.solver
      LIMIT $2`,
    params,
  );
  const items: UnsolvedItem[] = rows.map((row) => ({
    releaseId: toId(row.id),
    indexId: row.index_id,
    indexUrl: row.simple_url,
    project: row.project,
    version: row.version,
    solver: row.solver,
  }));
  const last = items[items.length - 1];
  return { items, next: items.length < options.limit || !last ? null : { releaseId: last.releaseId, solver: last.solver } };
}

/**
 * Records that a Job was created. The same job name again changes nothing (a replay); a
 * different job name is a new attempt and resets the run to `scheduled`.
 */
export async function recordScheduled(
  pool: pg.Pool,
  run: SolverScheduled,
  announcing: SolverRunEvent = {},
): Promise<{ attempts: number }> {
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<{ attempts: number; changed: boolean }>(
    `WITH up AS (
       INSERT INTO solver_run (package_version_id, solver, job_name, state, attempts, scheduled_at)
       VALUES ($1, $2, $3, 'scheduled', 1, COALESCE($4::timestamptz, now()))
       ON CONFLICT (package_version_id, solver) DO UPDATE SET
         job_name = EXCLUDED.job_name, state = 'scheduled', attempts = solver_run.attempts + 1,
         scheduled_at = EXCLUDED.scheduled_at, started_at = NULL, finished_at = NULL
       WHERE solver_run.job_name IS DISTINCT FROM EXCLUDED.job_name
       RETURNING attempts)
     SELECT attempts, true AS changed FROM up
     UNION ALL
     SELECT attempts, false AS changed FROM solver_run WHERE package_version_id = $1 AND solver = $2 AND NOT EXISTS (SELECT 1 FROM up)`,
      [run.releaseId, run.solver, run.jobName, run.scheduledAt ?? null],
    );
    if (rows[0]?.changed) await announce(db, run.releaseId, announcing, run.scheduledAt ?? new Date());
    return { attempts: rows[0]?.attempts ?? 1 };
  });
}

/**
 * Records a Job's outcome by job name; with releaseId and solver, a run whose scheduling
 * was never recorded is created. False when nothing matched. The event is written when the
 * run's state or finish time changed (not on a replay of the same outcome).
 */
export async function recordFinished(pool: pg.Pool, run: SolverFinished, announcing: SolverRunEvent = {}): Promise<boolean> {
  return withTransaction(pool, async (db) => {
    const updated = await db.query<{ package_version_id: string; changed: boolean }>(
      `UPDATE solver_run r SET state = $2, started_at = COALESCE($3::timestamptz, r.started_at), finished_at = $4
         FROM (SELECT id, state, finished_at FROM solver_run WHERE job_name = $1 FOR UPDATE) old
        WHERE r.id = old.id
       RETURNING r.package_version_id, (old.state IS DISTINCT FROM $2 OR old.finished_at IS DISTINCT FROM $4::timestamptz) AS changed`,
      [run.jobName, run.phase, run.startedAt, run.finishedAt],
    );
    const at = new Date();
    if (updated.rows.length > 0) {
      const changed = updated.rows.find((row) => row.changed);
      if (changed) await announce(db, toId(changed.package_version_id), announcing, at);
      return true;
    }
    if (run.releaseId === undefined || run.solver === undefined) return false;
    const inserted = await db.query(
      `INSERT INTO solver_run (package_version_id, solver, job_name, state, attempts, scheduled_at, started_at, finished_at)
       SELECT $1::bigint, $2::text, $3::text, $4::text, 1, COALESCE($5::timestamptz, $6::timestamptz),
              $5::timestamptz, $6::timestamptz
        WHERE EXISTS (SELECT 1 FROM package_version WHERE id = $1::bigint)
       ON CONFLICT (package_version_id, solver) DO UPDATE SET
         job_name = EXCLUDED.job_name, state = EXCLUDED.state,
         started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at`,
      [run.releaseId, run.solver, run.jobName, run.phase, run.startedAt, run.finishedAt],
    );
    if ((inserted.rowCount ?? 0) === 0) return false;
    await announce(db, run.releaseId, announcing, at);
    return true;
  });
}
