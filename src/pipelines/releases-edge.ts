/**
 * The releases pipeline's edge: what it asks of the store, the index and the backfill
 * plans, each call answering with an ObservableInput. The adapters (`ReleasesPorts`) answer
 * with Promises, and the page reads, `planBackfill` and `checkProject` await them inside;
 * the pipeline only ever calls its edge through `defer`, so a marble spec can answer with
 * cold observables and sync iterables in virtual time (releases.marbles.test.ts).
 */
import type { ObservableInput, SchedulerLike } from 'rxjs';
import type { AttentionFailure, FeedCheckpoint, Leases, PackageStore, RecordedRelease } from '../domain/ports.js';
import type { FeedKind, FeedResult, PackageIndex, StoredRelease, Validators } from '../domain/types.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { planBackfill, type BackfillPlan } from './gap-backfill.js';
import { pageReads, type CheckedPage, type FetchedPage, type PageRead } from './project-fetcher.js';
import type { ReleasesPorts } from './releases-ports.js';
import { checkProject, type ProjectCheckInput, type ProjectCheckResult } from './update-project.js';

/** What the pipeline asks of the store itself (`PackageStore` is one). */
export interface ReleasesStore {
  listIndexes(options: { readonly enabledOnly: true }): ObservableInput<readonly PackageIndex[]>;
  getCheckpoint(indexId: number, feed: FeedKind): ObservableInput<FeedCheckpoint | null>;
  saveCheckpoint(checkpoint: FeedCheckpoint): ObservableInput<unknown>;
  isKnownProject(project: string, indexId: number): ObservableInput<boolean>;
  loadProjectReleases(indexId: number, project: string): ObservableInput<readonly Pick<StoredRelease, 'version'>[]>;
  recordReleases(...args: Parameters<PackageStore['recordReleases']>): ObservableInput<RecordedRelease[]>;
  recordAttention(failure: AttentionFailure): ObservableInput<unknown>;
}

export interface ReleasesIndex {
  /** One poll of a feed (feed-source.ts compares its items with the checkpoint). */
  fetchFeed(index: PackageIndex, feed: FeedKind, validators?: Validators): ObservableInput<FeedResult>;
  /** One attempt at a project's page for a feed poll: the pipeline retries it. */
  readonly readPage: PageRead<FetchedPage>;
  /** One conditional attempt for a backfill's check (the validators the store keeps). */
  readonly readCheckedPage: PageRead<CheckedPage>;
}

export interface ReleasesBackfill {
  /** What a gap's backfill (or a serial sync) reads (gap-backfill.ts). */
  plan(index: PackageIndex, purpose: 'gap' | 'sync', observe: { logger?: Logger; metrics?: Metrics }): ObservableInput<BackfillPlan>;
  /** One project's page checked whole against the store (update-project.ts). */
  check(input: ProjectCheckInput): ObservableInput<ProjectCheckResult>;
}

export interface ReleasesEdge {
  readonly store: ReleasesStore;
  readonly index: ReleasesIndex;
  readonly backfill: ReleasesBackfill;
  readonly scheduler: SchedulerLike;
  /** As `ReleasesPorts.leases`. */
  readonly leases?: Leases | undefined;
}

/** The edge over the adapters: each call their Promise, which the pipeline's `defer` subscribes to. */
export function releasesEdgeOf(ports: ReleasesPorts): ReleasesEdge {
  const { store, index, validators } = ports;
  return {
    store,
    index: {
      fetchFeed: (target, feed, sent) => index.fetchFeed(target, feed, sent),
      readPage: pageReads(index).read,
      readCheckedPage: pageReads(index, validators).read,
    },
    backfill: {
      plan: (target, purpose, observe) => planBackfill(ports, target, observe, purpose),
      check: (input) => checkProject({ store, validators }, input),
    },
    scheduler: ports.scheduler,
    leases: ports.leases,
  };
}
