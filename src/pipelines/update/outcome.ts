/** What the update pipeline emits: one outcome per project or skipped row, one per pass. */
import type { PackageEvent, StoredRelease } from '../../domain/types.js';

/**
 * Why a row is skipped. `project-checked`: done earlier in the pass (or in flight);
 * `project-failed`: failed earlier (row deferred); `project-claimed`: another replica
 * checks (or checked) it in its pass.
 */
export type SkipReason = 'project-checked' | 'project-failed' | 'project-claimed';

/** Where a project failed: the index lookup, the index request, or the store/sink work after it. */
export type FailStage = 'index' | 'fetch' | 'apply';

export type UpdateOutcome =
  | {
      readonly type: 'checked';
      readonly indexUrl: string;
      readonly project: string;
      /** Known releases re-checked. */
      readonly releases: number;
      /** Known releases whose stored state or artifacts changed. */
      readonly changed: number;
      /** New versions recorded from the page. */
      readonly newReleases: readonly string[];
      readonly notFound: boolean;
      readonly events: readonly PackageEvent[];
      /** Index requests for this project (retries included). */
      readonly attempts: number;
    }
  | {
      readonly type: 'skipped';
      readonly indexUrl: string;
      readonly project: string;
      readonly version: string;
      readonly reason: SkipReason;
    }
  | {
      readonly type: 'failed';
      readonly indexUrl: string;
      readonly project: string;
      readonly stage: FailStage;
      readonly errorCode: string;
      readonly error: unknown;
      readonly attempts: number;
    }
  | {
      readonly type: 'pass-complete';
      /** Rows taken from the scan. */
      readonly rows: number;
      /** Projects checked or failed. */
      readonly projects: number;
      /** Index requests (retries included). */
      readonly requests: number;
      readonly failed: number;
      readonly events: number;
      readonly startedAt: Date;
      readonly finishedAt: Date;
      /** True when `stop` ended the pass before the scan was exhausted. */
      readonly stopped: boolean;
    }
  | { readonly type: 'pass-failed'; readonly errorCode: string; readonly error: unknown };

export type FailedOutcome = Extract<UpdateOutcome, { type: 'failed' }>;
export type PassComplete = Extract<UpdateOutcome, { type: 'pass-complete' }>;

export function skipped(row: StoredRelease, reason: SkipReason): UpdateOutcome {
  return { type: 'skipped', indexUrl: row.indexUrl, project: row.project, version: row.version, reason };
}
