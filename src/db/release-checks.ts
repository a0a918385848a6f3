/**
 * Recording checks: the state transitions a check's changes describe, the artifacts'
 * present flags, last_checked_at and the next due time.
 *
 * A pass over a large table is bound by these writes, so a project's releases are recorded
 * together (`applyChecks`) in a fixed number of round trips, not a transaction per release:
 * the common unchanged release costs no lock and no transaction of its own.
 */
import type pg from 'pg';
import { PkgstreamError } from '../domain/errors.js';
import type { AppliedCheck, ReleaseCheck } from '../domain/ports.js';
import type { ReleaseChange, ReleaseState } from '../domain/types.js';
import { DEFAULT_PRIORITY, nextDueAt, type PriorityOptions } from './priority.js';
import { insertEvents } from './events.js';
import { fileMap, syncArtifacts } from './artifacts.js';
import { toId, withTransaction, type Queryable } from './sql.js';
import { assertNever } from '../domain/exhaustive.js';

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
      case 'digests-learned':
        touched = true;
        break;
      default:
        return assertNever(change);
    }
  }
  // A missing release keeps its last reason for when it reappears; others follow state.
  if (state === 'present') yankedReason = null;
  return { state, yankedReason, touched };
}

interface LoadedRow extends CheckedRow {
  id: string;
  index_id: number;
  /** The files were last seen by this check (before the one being applied). */
  last_checked_at: Date | null;
  /** The row version (xmin): a write made after it was read changes it. */
  row_version: string;
}

interface PlannedWrite {
  readonly id: number;
  readonly rowVersion: string;
  readonly state: ReleaseState;
  readonly reason: string | null;
  readonly checkedAt: Date;
  readonly changedAt: Date | null;
  readonly due: Date;
  /**
   * The release went missing: its present files were last seen at its previous check,
   * written to them now (while listed, a file's last sighting is the release's last check).
   */
  readonly lastSeenAt: Date | null;
  readonly result: AppliedCheck;
}

async function loadRows(db: Queryable, ids: readonly number[], lock: boolean): Promise<Map<number, LoadedRow>> {
  const { rows } = await db.query<LoadedRow>(
    `SELECT id, index_id, xmin::text AS row_version, state, yanked_reason, released_at, last_checked_at, last_changed_at, static_priority
       FROM package_version WHERE id = ANY($1::bigint[]) ORDER BY id${lock ? ' FOR UPDATE' : ''}`,
    [ids],
  );
  const byId = new Map(rows.map((row) => [toId(row.id), row]));
  for (const id of ids) if (!byId.has(id)) throw new PkgstreamError('RELEASE_NOT_FOUND', `no release with id ${id}`);
  return byId;
}

type Transition = ReturnType<typeof transition>;

function plan(
  row: LoadedRow,
  { releaseId, check }: ReleaseCheckOf,
  { state, yankedReason }: Transition,
  artifacts: { readonly rewritten: boolean; readonly changed: boolean },
  priority: PriorityOptions,
): PlannedWrite {
  const changed = state !== row.state || yankedReason !== row.yanked_reason || artifacts.changed;
  const changedAt = changed ? check.checkedAt : row.last_changed_at;
  const due =
    check.nextDueAt ??
    nextDueAt(
      { checkedAt: check.checkedAt, releasedAt: row.released_at, lastChangedAt: changedAt, manualPriority: 0, staticPriority: row.static_priority },
      check.checkedAt,
      priority,
    );
  return {
    id: releaseId,
    rowVersion: row.row_version,
    state,
    reason: yankedReason,
    checkedAt: check.checkedAt,
    changedAt,
    due,
    lastSeenAt: state === 'missing' && row.state !== 'missing' ? row.last_checked_at : null,
    result: { state, changed, nextDueAt: due },
  };
}

/** Writes, in one statement, the planned rows nobody wrote since they were read; the ids written. */
async function writePlanned(db: Queryable, planned: readonly PlannedWrite[]): Promise<Set<number>> {
  const column = <K extends keyof PlannedWrite>(key: K) => planned.map((write) => write[key]);
  const { rows } = await db.query<{ id: string }>(
    `WITH t AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[])
         AS t(id, row_version, state, reason, checked_at, changed_at, due, last_seen_at)
     ), checked AS (
       UPDATE package_version v
          SET state = t.state, yanked_reason = t.reason, last_checked_at = t.checked_at,
              last_changed_at = t.changed_at, next_due_at = t.due, manual_priority = 0,
              recheck_queued_at = CASE WHEN v.recheck_queued_at <= t.checked_at THEN NULL ELSE v.recheck_queued_at END
         FROM t
        WHERE v.id = t.id AND v.xmin::text = t.row_version
       RETURNING v.id
     ), vanished AS (
       UPDATE artifact a SET last_seen_at = GREATEST(a.last_seen_at, t.last_seen_at)
         FROM t JOIN checked USING (id)
        WHERE a.package_version_id = t.id AND a.present AND t.last_seen_at IS NOT NULL
     )
     SELECT id FROM checked`,
    [
      column('id'),
      column('rowVersion'),
      column('state'),
      column('reason'),
      column('checkedAt'),
      column('changedAt'),
      column('due'),
      column('lastSeenAt'),
    ],
  );
  return new Set(rows.map((row) => toId(row.id)));
}

/**
 * Applies the checks of distinct releases (one project's), each atomically with the events
 * announcing it (`check.events`, written only when the check changed the stored release,
 * so a replay, or a change another writer recorded first, announces nothing); results in
 * input order. Replaying the same checks changes nothing more and answers `changed: false`.
 *
 * The common case (no artifact to rewrite, nothing to announce) is two statements and no
 * transaction: read the rows, then one write that applies where the row is still the
 * version read. The checks of rows written by someone else in between, of releases whose
 * artifacts must be rewritten and of changes to announce then run in a transaction that
 * locks their rows in id order.
 */
export async function applyChecks(
  pool: pg.Pool,
  checks: readonly ReleaseCheckOf[],
  priority: PriorityOptions = DEFAULT_PRIORITY,
  serviceVersion = 'unknown',
): Promise<AppliedCheck[]> {
  if (checks.length === 0) return [];
  const ids = checks.map(({ releaseId }) => releaseId);
  // programming error: a caller gives each release once (one check per release and pass).
  if (new Set(ids).size !== ids.length) throw new Error('applyChecks: each release at most once per call');
  // Bad hashes are refused before anything is written.
  const files = checks.map(({ check }) => (check.files === null ? null : fileMap(check.files)));
  /** The row's transition, and whether the release's artifacts must be rewritten. */
  const assess = (row: LoadedRow, i: number) => {
    const after = transition(row, checks[i]!.check.changes);
    return { after, rewrites: files[i] !== null && after.touched };
  };

  const results = new Map<number, AppliedCheck>();
  const read = await loadRows(pool, ids, false);
  const unlocked = checks.flatMap((check, i) => {
    const row = read.get(check.releaseId)!;
    const { after, rewrites } = assess(row, i);
    const planned = plan(row, check, after, { rewritten: false, changed: false }, priority);
    return rewrites || (planned.result.changed && (check.check.events?.length ?? 0) > 0) ? [] : [planned];
  });
  if (unlocked.length > 0) {
    const written = await writePlanned(pool, unlocked);
    for (const write of unlocked) if (written.has(write.id)) results.set(write.id, write.result);
  }

  const rest = [...checks.entries()].filter(([, check]) => !results.has(check.releaseId));
  if (rest.length > 0) {
    await withTransaction(pool, async (client) => {
      const locked = await loadRows(client, rest.map(([, check]) => check.releaseId), true);
      const planned: PlannedWrite[] = [];
      for (const [i, check] of rest) {
        const row = locked.get(check.releaseId)!;
        const { after, rewrites: rewritten } = assess(row, i);
        const changed = rewritten && (await syncArtifacts(client, check.releaseId, files[i]!, { at: check.check.checkedAt, lastCheckedAt: row.last_checked_at }));
        planned.push(plan(row, check, after, { rewritten, changed }, priority));
      }
      await writePlanned(client, planned);
      for (const [k, write] of planned.entries()) {
        results.set(write.id, write.result);
        const [, check] = rest[k]!;
        if (write.result.changed && check.check.events) {
          const indexId = locked.get(check.releaseId)!.index_id;
          await insertEvents(client, check.check.events, { indexId, serviceVersion, createdAt: check.check.checkedAt });
        }
      }
    });
  }
  return ids.map((id) => results.get(id)!);
}

/** Applies one check (see `applyChecks`). */
export async function applyCheck(
  pool: pg.Pool,
  releaseId: number,
  check: ReleaseCheck,
  priority: PriorityOptions = DEFAULT_PRIORITY,
  serviceVersion = 'unknown',
): Promise<AppliedCheck> {
  const [applied] = await applyChecks(pool, [{ releaseId, check }], priority, serviceVersion);
  return applied!;
}
