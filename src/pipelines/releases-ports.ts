/** The releases pipeline's ports, options and outcomes (releases.ts is the pipeline). */
import type { Observable, SchedulerLike } from 'rxjs';
import type { IndexClient, Leases, PackageStore, PageValidatorStore, SerialSyncStore } from '../domain/ports.js';
import type { FeedKind, PackageEvent } from '../domain/types.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { BackfillPlan } from './gap-backfill.js';
import type { RetryPolicy } from './project-fetcher.js';

export interface ReleasesPorts {
  readonly store: PackageStore;
  readonly index: IndexClient;
  readonly scheduler: SchedulerLike;
  /** Replicas sharing the database: an index's feeds are polled by the one holding its lease. Absent: this process alone. */
  readonly leases?: Leases;
  /** Where gap backfills stand in the index's serials; absent (a dry run): every backfill reads every project. */
  readonly serialSync?: SerialSyncStore;
  /** A backfill's checks store their pages' validators here (and ask conditionally); absent (a dry run): never. */
  readonly validators?: PageValidatorStore;
}

export interface ReleasesOptions {
  readonly pollIntervalMs: number;
  /** Projects handled at once. */
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  /**
   * Longest one poll waits for a project's page, its retries included: a page dripping or
   * held back by a long Retry-After goes to attention past it, and the poll's checkpoint
   * moves on with what is done (absent: no bound beyond the client's own timeouts).
   */
  readonly pageDeadlineMs?: number;
  /** Projects whose releases also go out as `release-trigger`. */
  readonly releaseTriggers?: readonly string[];
  readonly random?: () => number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** When it emits, polling stops; the pipeline completes once the current poll's work is done. */
  readonly stop$?: Observable<void>;
  /** Poll each feed once (and backfill on a gap), then complete: `pkgstream once releases`. */
  readonly onePoll?: boolean;
  /**
   * Between serial syncs of each watched index (a scheduled backfill: the listing, then the
   * projects whose serial rose); absent: only a gap backfills.
   */
  readonly syncIntervalMs?: number;
}

export type ReleasesOutcome =
  | { readonly type: 'released'; readonly indexUrl: string; readonly project: string; readonly events: readonly PackageEvent[]; readonly backfill: boolean }
  | { readonly type: 'failed'; readonly indexUrl: string; readonly project: string; readonly errorCode: string; readonly message: string }
  | { readonly type: 'gap'; readonly indexUrl: string; readonly feed: FeedKind }
  | { readonly type: 'synced'; readonly indexUrl: string; readonly basis: BackfillPlan['basis']; readonly projects: number; readonly gone: number }
  | { readonly type: 'poll'; readonly indexUrl: string; readonly feed: FeedKind; readonly items: number; readonly status: 'items' | 'not-modified' | 'error' };
