/**
 * A project's PEP 792 status on `package_project` (0017_project_status.sql). Recording a
 * status the row already holds writes nothing (one read, no lock: the common case of every
 * check). A different one is written in a transaction that locks the row and reads it
 * again, with the events announcing it (`announce`, given the status replaced), so that a
 * change is announced once, by the writer that made it, whatever runs beside it.
 *
 * Only a change of the status itself is announced: a new reason for the same status is
 * stored, and `status_changed_at` keeps the time of the last change of status.
 */
import type pg from 'pg';
import { canonicalizeName } from '../domain/pep503.js';
import type { PackageEvent, ProjectStatus, ProjectStatusName } from '../domain/types.js';
import { insertEvents } from './events.js';
import { withTransaction, type Queryable } from './sql.js';

interface StatusRow {
  status: ProjectStatusName;
  status_reason: string | null;
}

export interface StatusChange {
  /** The stored status before; null when the project is not known on the index (nothing written). */
  readonly previous: ProjectStatus | null;
  /** True when the status itself changed (and was announced). */
  readonly changed: boolean;
}

export interface RecordStatusOptions {
  readonly at: Date;
  readonly announce?: (previous: ProjectStatus) => readonly PackageEvent[];
  readonly serviceVersion?: string;
}

const toStatus = (row: StatusRow): ProjectStatus => ({ status: row.status, reason: row.status_reason });

/** The stored status of a known project; null when unknown on that index. */
export async function loadProjectStatus(db: Queryable, indexId: number, project: string, lock = false): Promise<ProjectStatus | null> {
  const { rows } = await db.query<StatusRow>(
    `SELECT status, status_reason FROM package_project WHERE index_id = $1 AND project = $2${lock ? ' FOR UPDATE' : ''}`,
    [indexId, canonicalizeName(project)],
  );
  return rows[0] ? toStatus(rows[0]) : null;
}

const same = (a: ProjectStatus, b: ProjectStatus): boolean => a.status === b.status && a.reason === b.reason;

export async function recordProjectStatus(
  pool: pg.Pool,
  target: { readonly indexId: number; readonly project: string },
  status: ProjectStatus,
  options: RecordStatusOptions,
): Promise<StatusChange> {
  const read = await loadProjectStatus(pool, target.indexId, target.project);
  if (read === null || same(read, status)) return { previous: read, changed: false };
  return withTransaction(pool, async (client) => {
    const previous = await loadProjectStatus(client, target.indexId, target.project, true);
    if (previous === null || same(previous, status)) return { previous, changed: false };
    const changed = previous.status !== status.status;
    await client.query(
      `UPDATE package_project SET status = $3, status_reason = $4, status_changed_at = CASE WHEN $5 THEN $6::timestamptz ELSE status_changed_at END
        WHERE index_id = $1 AND project = $2`,
      [target.indexId, canonicalizeName(target.project), status.status, status.reason, changed, options.at],
    );
    if (changed && options.announce) {
      await insertEvents(client, options.announce(previous), { indexId: target.indexId, serviceVersion: options.serviceVersion ?? 'unknown', createdAt: options.at });
    }
    return { previous, changed };
  });
}
