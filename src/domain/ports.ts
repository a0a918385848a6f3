/**
 * The ports a pipeline is a function of. Adapters in src/sources and src/sinks implement
 * them against real peers; marble tests implement them with TestScheduler observables.
 */
import type { Observable } from 'rxjs';
import type { OutboxEvent } from './event-record.js';
import type {
  FeedKind,
  FeedResult,
  JobOutcome,
  JobStatus,
  PackageEvent,
  PackageIndex,
  ListingFilter,
  ProjectListing,
  ProjectPage,
  SolverJobRequest,
  Validators,
} from './types.js';

/**
 * Work that one replica at a time must do, when several share one database: `take` takes
 * or renews the named lease for this replica for `ttlMs` (true: it holds it now). Renew it
 * well within the TTL; a replica that stops renewing loses it to another after the TTL.
 */
export interface Leases {
  readonly ttlMs: number;
  take(name: string): Promise<boolean>;
}

/** How replicas split an update pass (src/db/claims.ts): one replica checks each project. */
export interface ProjectClaims {
  /** A claim not renewed for this long runs out (the lease TTL). */
  readonly ttlMs: number;
  /** Claims those of `projects` nobody else holds and nobody checked since `since`; returns them. */
  claim(projects: readonly ProjectRef[], since: Date): Promise<ProjectRef[]>;
  /** Extends this replica's claims on `projects` by the lease TTL (their checks still run). */
  renew(projects: readonly ProjectRef[]): Promise<void>;
  /** Gives this replica's claims on `projects` up (their checks ended). */
  release(projects: readonly ProjectRef[]): Promise<void>;
}

export interface IndexClient {
  /** Reads one RSS feed of a Warehouse index; 304 answers `{ notModified: true }`. */
  fetchFeed(index: PackageIndex, feed: FeedKind, validators?: Validators): Promise<FeedResult>;
  /**
   * Reads a project's page (PEP 691 JSON, PEP 503 HTML as fallback). A project the index
   * does not know rejects with code `INDEX_NOT_FOUND`; a 304 resolves to `null`.
   */
  fetchProject(index: PackageIndex, project: string, validators?: Validators): Promise<ProjectPage | null>;
  /** Reads the index's root listing (PEP 691 JSON with Warehouse's serials, PEP 503 HTML as fallback). */
  fetchProjectList(index: PackageIndex, keep?: ListingFilter): Promise<ProjectListing>;
  close(): Promise<void>;
}

/** Where the outbox relay publishes stored events (src/sinks/event-relay.ts). */
export interface EventSink {
  /** Resolves once the events are durable (Kafka acks=all, or written to stdout). */
  publish(events: readonly OutboxEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface JobScheduler {
  /** Creates the Job; an existing Job of the same deterministic name is `exists`. */
  schedule(request: SolverJobRequest): Promise<{ readonly jobName: string; readonly outcome: JobOutcome }>;
  /** Active Job count and Job transitions from a list+watch of the solver Jobs. */
  watch(): Observable<JobsWatchEvent>;
  close(): Promise<void>;
}

export type JobsWatchEvent =
  | { readonly type: 'active'; readonly count: number }
  | { readonly type: 'finished'; readonly job: JobStatus };

// ---------------------------------------------------------------------------------------
// PackageStore: what the pipelines need from the database (src/sinks/store-sink.ts).
// Every write is an idempotent upsert in a short transaction, safe to replay; the events a
// write announces go into the `event` outbox in the same transaction (only when it changed
// something), and the relay publishes them.

import type {
  IndexFile,
  IndexRelease,
  ProjectRef,
  ProjectStatus,
  ReleaseChange,
  ReleaseState,
  StoredRelease,
} from './types.js';

export interface RecordedRelease {
  readonly id: number;
  readonly version: string;
  /** True when this call created the row (false on a replay or an already known release). */
  readonly created: boolean;
}

export interface RecordReleaseOptions {
  /** When the release was seen (default: now); also the base of its first due time. */
  readonly seenAt?: Date;
  /** When the index says it was released (default: earliest file upload time). */
  readonly releasedAt?: Date | null;
  /**
   * The events announcing a version, written in the transaction that creates its row, for
   * the versions this call created only (so a release is announced once per recording).
   */
  readonly announce?: (version: string) => readonly PackageEvent[];
}

/** What recording a project's PEP 792 status did. */
export interface ProjectStatusChange {
  /** The status stored before; null when the project is not known on the index (nothing recorded). */
  readonly previous: ProjectStatus | null;
  /** True when the status itself changed: the change was announced with the write. */
  readonly changed: boolean;
}

/** The result of comparing one stored release with its index. */
export interface ReleaseCheck {
  readonly checkedAt: Date;
  /** The changes found (`[{kind:'unchanged'}]` or `[]` when nothing changed). */
  readonly changes: readonly ReleaseChange[];
  /** The release's files as the index lists them now; null when the project or version is missing. */
  readonly files: readonly IndexFile[] | null;
  /** Overrides the due time the store would compute from the priority. */
  readonly nextDueAt?: Date;
  /** The events announcing the changes: written with the check, when it changed the release. */
  readonly events?: readonly PackageEvent[];
}

export interface AppliedCheck {
  readonly state: ReleaseState;
  /** True when the stored state or artifacts changed. */
  readonly changed: boolean;
  readonly nextDueAt: Date;
}

export interface CheckpointItem {
  readonly project: string;
  readonly version: string | null;
  readonly publishedAt: Date;
}

export interface FeedCheckpoint {
  readonly indexId: number;
  readonly feed: FeedKind;
  readonly etag: string | null;
  readonly lastModified: string | null;
  /** The newest items of the last poll, newest first, to tell whether the next poll overlaps. */
  readonly newestItems: readonly CheckpointItem[];
  readonly newestPublishedAt: Date | null;
  readonly updatedAt?: Date;
}

export interface AttentionFailure {
  readonly pipeline: string;
  /** The item's key, e.g. `index_url|project|version`. */
  readonly itemKey: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** Attempts made by this failure (default 1); added to an open row's count. */
  readonly attempts?: number;
  readonly payload?: unknown;
  readonly failedAt?: Date;
}

export interface AttentionItem {
  readonly id: number;
  readonly pipeline: string;
  readonly itemKey: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly attempts: number;
  readonly firstFailedAt: Date;
  readonly lastFailedAt: Date;
  readonly resolvedAt: Date | null;
  readonly retryRequestedAt: Date | null;
  readonly payload: unknown;
}

export interface AttentionQuery {
  readonly pipeline?: string;
  /** Default `open`. */
  readonly status?: 'open' | 'resolved' | 'all';
  /** Only items whose retry was requested (and not yet resolved). */
  readonly retryRequested?: boolean;
  /** Default 100. */
  readonly limit?: number;
}

/** An attention row by id, or the open row of an item. */
export type AttentionRef = number | { readonly pipeline: string; readonly itemKey: string };

/** One `(release, solver)` pair with no solver run yet. */
export interface UnsolvedItem {
  readonly releaseId: number;
  readonly indexId: number;
  readonly indexUrl: string;
  readonly project: string;
  readonly version: string;
  readonly solver: string;
}

/** Keyset position in the unsolved scan (newest release first, then solver name). */
export interface UnsolvedCursor {
  readonly releaseId: number;
  readonly solver: string;
}

export interface UnsolvedPage {
  readonly items: readonly UnsolvedItem[];
  /** Where the next page starts; null when this page was the last. */
  readonly next: UnsolvedCursor | null;
}

export interface SolverScheduled {
  readonly releaseId: number;
  readonly solver: string;
  readonly jobName: string;
  readonly scheduledAt?: Date;
  /** `solver-scheduled`, written with the run when this call created or changed it. */
  readonly event?: PackageEvent;
}

export interface SolverFinished {
  readonly jobName: string;
  readonly phase: 'succeeded' | 'failed' | 'cancelled';
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** When given, a run unknown by job name is created (its scheduling was not recorded). */
  readonly releaseId?: number;
  readonly solver?: string;
  /** `solver-finished`, written with the run when this call changed it. */
  readonly event?: PackageEvent;
}

/**
 * The ETag/Last-Modified of each project's last page whose check was applied in full, so
 * that the next request for it is conditional (update pipeline only: a `check` shows the real page).
 */
export interface PageValidatorStore {
  /** Null when there are none, or when no release of the project is recorded (a 304 would confirm nothing). */
  pageValidators(indexId: number, project: string): Promise<Validators | null>;
  /** Null forgets them (the project is gone from its index). */
  savePageValidators(indexId: number, project: string, validators: Validators | null): Promise<void>;
  /** The serial the root listing last gave the project (its page must be at least as new); null: none. */
  promisedSerial(indexId: number, project: string): Promise<number | null>;
}

/** Where the serial sync (and a gap's backfill) stands in an index's serials (Warehouse's `_last-serial`). */
export interface SerialSyncStore {
  /** The listing serial the last completed sync started from; null: none (read every project). */
  listingSerial(indexId: number): Promise<number | null>;
  saveListingSerial(indexId: number, serial: number): Promise<void>;
  /**
   * The project changed on the index (its serial rose to `serial`): its releases come due for
   * a re-check now, and the page that check reads must be at least that new.
   */
  queueRecheck(indexId: number, project: string, at: Date, serial: number | null): Promise<void>;
}

export interface KnownProjectsQuery {
  readonly indexId?: number;
  readonly pageSize?: number;
  /** Only the projects with a release not reported missing (so a deleted project is confirmed once, not every sync). */
  readonly unreported?: boolean;
}

export interface PackageStore {
  listIndexes(options?: { readonly enabledOnly?: boolean }): Promise<PackageIndex[]>;
  /** Whether the project (canonical name) is known on that index, or on any index. */
  isKnownProject(project: string, indexId?: number): Promise<boolean>;
  /** Known project names in name order, pulled page by page. */
  knownProjects(options?: KnownProjectsQuery): AsyncIterable<string>;
  /** Creates the release and its artifacts unless known; marks the project known. */
  recordRelease(
    index: PackageIndex,
    project: string,
    release: IndexRelease,
    options?: RecordReleaseOptions,
  ): Promise<RecordedRelease>;
  /** Many releases of one project in one transaction; results in input order. */
  recordReleases(
    index: PackageIndex,
    project: string,
    releases: readonly IndexRelease[],
    options?: Omit<RecordReleaseOptions, 'releasedAt'>,
  ): Promise<RecordedRelease[]>;
  loadRelease(indexId: number, project: string, version: string): Promise<StoredRelease | null>;
  /** Every known release of a project on an index: one index request checks them all. */
  loadProjectReleases(indexId: number, project: string): Promise<StoredRelease[]>;
  /** Registered projects of enabled indexes without feeds with no release recorded yet, page by page. */
  unrecordedProjects(options?: { readonly pageSize?: number }): AsyncIterable<ProjectRef>;
  /** Due releases (all releases with `all`), most due first, pulled one keyset page at a time. */
  scanDue(options: { readonly now: Date; readonly pageSize: number; readonly all?: boolean }): AsyncIterable<StoredRelease>;
  /** The releases a serial sync queued for a re-check, most recently queued first (absent: none are kept). */
  scanQueued?(options: { readonly pageSize: number }): AsyncIterable<StoredRelease>;
  /** How many rows `scanDue` with these options would hand out now (a pass's rows due). */
  countDue(options: { readonly now: Date; readonly all?: boolean }): Promise<number>;
  /** Records a check: state transitions, artifacts, last_checked_at and the next due time. */
  applyCheck(release: StoredRelease | number, check: ReleaseCheck): Promise<AppliedCheck>;
  /** Records the checks of distinct releases (one project's), each release atomically; results in input order. */
  applyChecks(
    checks: readonly { readonly release: StoredRelease | number; readonly check: ReleaseCheck }[],
  ): Promise<AppliedCheck[]>;
  /** Moves a release's due time (a lease, or a back-off after a failure). */
  deferCheck(releaseId: number, until: Date): Promise<void>;
  /**
   * PEP 792: stores the status a project's page gives; a change of status is written with
   * the events `announce` makes of the status it replaces, in one transaction (a new reason
   * alone is stored, not announced). Absent from a store that keeps no project status (a
   * pipeline test's fake): the status is then not recorded.
   */
  recordProjectStatus?(
    index: PackageIndex,
    project: string,
    status: ProjectStatus,
    options: { readonly at: Date; readonly announce: (previous: ProjectStatus) => readonly PackageEvent[] },
  ): Promise<ProjectStatusChange>;
  /** The stored status of a known project (null: unknown on that index). */
  loadProjectStatus?(indexId: number, project: string): Promise<ProjectStatus | null>;
  getCheckpoint(indexId: number, feed: FeedKind): Promise<FeedCheckpoint | null>;
  saveCheckpoint(checkpoint: FeedCheckpoint): Promise<void>;
  recordAttention(failure: AttentionFailure): Promise<AttentionItem>;
  listAttention(query?: AttentionQuery): Promise<AttentionItem[]>;
  resolveAttention(ref: AttentionRef, at?: Date): Promise<boolean>;
  requestRetry(ref: AttentionRef, at?: Date): Promise<boolean>;
  /** Open attention rows per pipeline (for the `pkgstream_attention_open` gauge). */
  openAttentionCounts(): Promise<Record<string, number>>;
  unsolvedPage(options: {
    readonly solvers: readonly string[];
    readonly after: UnsolvedCursor | null;
    readonly limit: number;
  }): Promise<UnsolvedPage>;
  scanUnsolved(options: { readonly solvers: readonly string[]; readonly pageSize: number }): AsyncIterable<UnsolvedItem>;
  /** Idempotent: the same job name again changes nothing; a new job name is a new attempt. */
  recordScheduled(run: SolverScheduled): Promise<{ readonly attempts: number }>;
  /** Returns whether a run was found (or created, with releaseId and solver). */
  recordFinished(run: SolverFinished): Promise<boolean>;
}
