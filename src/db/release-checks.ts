/**
 * Recording checks: the state transitions a check's changes describe, the artifacts'
 * present flags, last_checked_at and the next due time.
 *
 * A project's releases are recorded in one transaction (`applyChecks`): the rows are locked
 * in id order, the rare changed release syncs its artifacts on its own, and the common
 * unchanged ones share two set-based updates. A pass over a large table is bound by these
 * writes, so the round trips per project, not per release, are what keep it fast.
 */
import type pg from 'pg';
import { PkgstreamError } from '../domain/errors.js';
import type { AppliedCheck, ReleaseCheck } from '../domain/ports.js';
import type { ReleaseChange, ReleaseState } from '../domain/types.js';
import { DEFAULT_PRIORITY, nextDueAt, type PriorityOptions } from './priority.js';
import { fileMap } from './releases.js';
import { toId, withTransaction } from './sql.js';

/** What a check needs of a stored row besides its changes. */
export interface CheckedRow {
  state: ReleaseState;
  yanked_reason: string | null;
  released_at: Date | null;
  last_changed_at: Date | null;
  static_priority: number;
}

export interface ReleaseCheckOf {
  readonly releaseId: number;
  readonly check: ReleaseCheck;
}

/** The state and yank reason after `changes`, and whether any of them touches the artifacts. */
export function transition(
  row: Pick<CheckedRow, 'state' | 'yanked_reason'>,
  changes: readonly ReleaseChange[],
): { state: ReleaseState; yankedReason: string | null; touched: boolean } {
  let state = row.state;
  let yankedReason = row.yanked_reason;
  let touched = false;
  for (const change of changes) {
    switch (change.kind) {
      case 'unchanged':
        break;
      case 'missing-package':
      case 'missing-version':
        state = 'missing';
        touched = true;
        break;
      case 'reappeared':
        if (state === 'missing') state = yankedReason === null ? 'present' : 'yanked';
        touched = true;
        break;
      case 'package-yanked':
        state = 'yanked';
        yankedReason = change.reason;
        touched = true;
        break;
      case 'package-unyanked':
        state = 'present';
        yankedReason = null;
        touched = true;
        break;
      case 'hash-mismatch':
        touched = true;
        break;
    }
  }
  // A missing release keeps its last reason for when it reappears; others follow state.
  if (state === 'present') yankedReason = null;
  return { state, yankedReason, touched };
}

/**
 * Applies the checks of distinct releases in one transaction; results in input order.
 * Replaying the same checks changes nothing more and answers `changed: false`.
 */
export async function applyChecks(
  pool: pg.Pool,
  checks: readonly ReleaseCheckOf[],
  priority: PriorityOptions = DEFAULT_PRIORITY,
): Promise<AppliedCheck[]> {
  if (checks.length === 0) return [];
  const ids = checks.map(({ releaseId }) => releaseId);
  if (new Set(ids).size !== ids.length) throw new Error('applyChecks: each release at most once per call');
  // Bad hashes are refused before anything is written.
  const files = checks.map(({ check }) => (check.files === null ? null : fileMap(check.files)));
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<CheckedRow & { id: string }>(
      `SELECT id, state, yanked_reason, released_at, last_changed_at, static_priority
         FROM package_version WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
    const byId = new Map(rows.map((row) => [toId(row.id), row]));
    const seen: { id: number; at: Date }[] = [];
    const updates: { id: number; state: ReleaseState; reason: string | null; checkedAt: Date; changedAt: Date | null; due: Date }[] = [];
    const results: AppliedCheck[] = [];
    for (const [i, { releaseId, check }] of checks.entries()) {
      const row = byId.get(releaseId);
      if (!row) throw new PkgstreamError('RELEASE_NOT_FOUND', `no release with id ${releaseId}`);
      const { state, yankedReason, touched } = transition(row, check.changes);
      let changed = state !== row.state || yankedReason !== row.yanked_reason;
      const indexFiles = files[i]!;
      if (indexFiles !== null && touched) {
        changed = (await syncArtifacts(client, releaseId, indexFiles, check.checkedAt)) || changed;
      } else if (state !== 'missing') {
        seen.push({ id: releaseId, at: check.checkedAt });
      }
      const changedAt = changed ? check.checkedAt : row.last_changed_at;
      const due =
        check.nextDueAt ??
        nextDueAt(
          {
            checkedAt: check.checkedAt,
            releasedAt: row.released_at,
            lastChangedAt: changedAt,
            manualPriority: 0,
            staticPriority: row.static_priority,
          },
          check.checkedAt,
          priority,
        );
      updates.push({ id: releaseId, state, reason: yankedReason, checkedAt: check.checkedAt, changedAt, due });
      results.push({ state, changed, nextDueAt: due });
    }
    if (seen.length > 0) {
      await client.query(
        `UPDATE artifact a SET last_seen_at = t.at
           FROM unnest($1::bigint[], $2::timestamptz[]) AS t(id, at)
          WHERE a.package_version_id = t.id AND a.present`,
        [seen.map((s) => s.id), seen.map((s) => s.at)],
      );
    }
    await client.query(
      `UPDATE package_version v
          SET state = t.state, yanked_reason = t.reason, last_checked_at = t.checked_at,
              last_changed_at = t.changed_at, next_due_at = t.due, manual_priority = 0
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
              AS t(id, state, reason, checked_at, changed_at, due)
        WHERE v.id = t.id`,
      [
        updates.map((u) => u.id),
        updates.map((u) => u.state),
        updates.map((u) => u.reason),
        updates.map((u) => u.checkedAt),
        updates.map((u) => u.changedAt),
        updates.map((u) => u.due),
      ],
    );
    return results;
  });
}

/** Applies one check (see `applyChecks`). */
export async function applyCheck(
  pool: pg.Pool,
  releaseId: number,
  check: ReleaseCheck,
  priority: PriorityOptions = DEFAULT_PRIORITY,
): Promise<AppliedCheck> {
  const [applied] = await applyChecks(pool, [{ releaseId, check }], priority);
  return applied!;
}

/** Makes the present artifacts equal the index's files; true when anything changed. */
async function syncArtifacts(
  client: pg.PoolClient,
  releaseId: number,
  files: ReadonlyMap<string, string | null>,
  at: Date,
): Promise<boolean> {
  const { rows } = await client.query<{ filename: string; sha256: string | null; present: boolean }>(
    'SELECT filename, sha256, present FROM artifact WHERE package_version_id = $1',
    [releaseId],
  );
  const stored = new Map(rows.map((row) => [row.filename, row]));
  let changed = false;
  for (const [filename, sha256] of files) {
    const old = stored.get(filename);
    if (!old || !old.present || old.sha256 !== sha256) changed = true;
  }
  const gone = rows.filter((row) => row.present && !files.has(row.filename)).map((row) => row.filename);
  if (gone.length > 0) {
    changed = true;
    await client.query(
      'UPDATE artifact SET present = false WHERE package_version_id = $1 AND filename = ANY($2::text[])',
      [releaseId, gone],
    );
  }
  if (files.size > 0) {
    await client.query(
      `INSERT INTO artifact (package_version_id, filename, sha256, present, first_seen_at, last_seen_at)
       SELECT $1, t.filename, t.sha256, true, $4, $4
         FROM unnest($2::text[], $3::text[]) AS t(filename, sha256)
       ON CONFLICT (package_version_id, filename) DO UPDATE
         SET sha256 = EXCLUDED.sha256, present = true, last_seen_at = EXCLUDED.last_seen_at`,
      [releaseId, [...files.keys()], [...files.values()], at],
    );
  }
  return changed;
}
