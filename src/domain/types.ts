/** The plain data that flows between sources, operators, sinks and pipelines. */
import type { EVENT_KINDS } from './event-record.js';

export type WatchMode = 'all' | 'seen';

/** A package index as registered in the database. */
export interface PackageIndex {
  readonly id: number;
  /** The simple API base, e.g. `https://pypi.org/simple`; the index's identity. */
  readonly simpleUrl: string;
  /** Warehouse JSON API base (`<origin>/pypi`), when the index is a Warehouse. */
  readonly jsonApiUrl: string | null;
  /** RSS base (`<origin>/rss`), when the index has feeds. */
  readonly rssUrl: string | null;
  readonly verifyTls: boolean;
  readonly enabled: boolean;
  readonly watchMode: WatchMode;
}

export type FeedKind = 'updates' | 'packages';

/** One item of an RSS feed, already split and canonicalized. */
export interface FeedItem {
  /** PEP 503 canonical project name. */
  readonly project: string;
  /** Version string as published; absent on a `packages` (new project) item. */
  readonly version: string | null;
  readonly publishedAt: Date;
  readonly link: string | null;
}

/** Validators for a conditional GET. */
export interface Validators {
  readonly etag?: string | null;
  readonly lastModified?: string | null;
}

export type FeedResult =
  | { readonly notModified: true }
  | {
      readonly notModified: false;
      readonly items: readonly FeedItem[];
      /** Items of the feed that could not be read, each with the reason; never thrown. */
      readonly badItems: readonly { readonly raw: string; readonly reason: string }[];
      readonly validators: Validators;
    };

/** One file of a release, as the index reports it. */
export interface IndexFile {
  readonly filename: string;
  /** Lowercase hex sha256, or null when the index gave none. */
  readonly sha256: string | null;
  readonly yanked: boolean;
  readonly yankedReason: string | null;
  /** PEP 700 `upload-time`, ISO 8601 as the index gave it (checked where it enters); null when absent or unreadable. */
  readonly uploadTime: string | null;
  /** PEP 700 `size` in bytes; null when absent or unreadable. */
  readonly size: number | null;
}

export interface IndexRelease {
  /** Version string as the index publishes it. */
  readonly version: string;
  readonly files: readonly IndexFile[];
}

/** PEP 792 project status markers (src/domain/project-status.ts lists them). */
export type ProjectStatusName = 'active' | 'archived' | 'quarantined' | 'deprecated';

/** A project's PEP 792 status and its optional free-form reason. */
export interface ProjectStatus {
  readonly status: ProjectStatusName;
  readonly reason: string | null;
}

/** Everything one project page (PEP 691/503, or Warehouse JSON) says about a project. */
export interface ProjectPage {
  /** PEP 503 canonical name. */
  readonly project: string;
  readonly releases: readonly IndexRelease[];
  readonly validators: Validators;
  /**
   * The project's serial the page was made at (Warehouse's `X-PyPI-Last-Serial`); null when
   * the index keeps none. Below the serial the root listing gave, the page is a stale cache.
   */
  readonly serial?: number | null;
  /**
   * The PEP 792 status a simple-API page gives (no marker: `active`); absent when the page
   * cannot say (Warehouse's JSON API) or said something unreadable (a problem was reported).
   */
  readonly status?: ProjectStatus;
}

/** One project of an index's root listing (PEP 503/691), with its serial where the index keeps one (Warehouse's `_last-serial`). */
export interface ListedProject {
  /** PEP 503 canonical name. */
  readonly project: string;
  readonly lastSerial: number | null;
}

/** An index's root listing: the projects kept of it, and the index's serial when it was read (null: the index keeps none). */
export interface ProjectListing {
  readonly projects: readonly ListedProject[];
  /** Entries listed, kept or not. */
  readonly listed: number;
  readonly lastSerial: number | null;
}

/** Which listed projects a reader keeps (the rest are counted, never held): a listing of 600,000 stays small. */
export type ListingFilter = (project: ListedProject) => boolean;

export type ReleaseState = 'present' | 'missing' | 'yanked';

export interface StoredArtifact {
  readonly filename: string;
  /** null when the index listed the file without a sha256. */
  readonly sha256: string | null;
}

/** A known `(index, project, version)` row with what the database holds about it. */
/** A project on an index, as the pipelines name it. */
export interface ProjectRef {
  readonly indexId: number;
  readonly indexUrl: string;
  readonly project: string;
}

export interface StoredRelease {
  readonly id: number;
  readonly indexId: number;
  readonly indexUrl: string;
  readonly project: string;
  readonly version: string;
  readonly state: ReleaseState;
  readonly yankedReason: string | null;
  readonly artifacts: readonly StoredArtifact[];
  readonly lastCheckedAt: Date | null;
  readonly nextDueAt: Date;
}

/** One change of state found by comparing a stored release with its index. */
export type ReleaseChange =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'missing-package' }
  | { readonly kind: 'missing-version' }
  | { readonly kind: 'reappeared' }
  /** Files stored without a digest now have one on the index: stored, not announced (the artifact did not change). */
  | { readonly kind: 'digests-learned'; readonly filenames: readonly string[] }
  | {
      readonly kind: 'hash-mismatch';
      /** sha256 digests the database holds that the index no longer lists. */
      readonly missingFromSource: readonly string[];
      /** sha256 digests the index lists that the database does not hold. */
      readonly missingFromDatabase: readonly string[];
    }
  | { readonly kind: 'package-yanked'; readonly reason: string | null }
  | { readonly kind: 'package-unyanked' };

/** The kinds of event, one topic each (the catalogue: `EVENT_KINDS` in event-record.ts). */
export type EventKind = (typeof EVENT_KINDS)[number];

/** An event before it is put on the wire: the sink adds the envelope fields. */
export interface PackageEvent {
  readonly kind: EventKind;
  readonly indexUrl: string;
  readonly project: string;
  readonly version: string | null;
  /** The solver of a solver event: part of its key and of its envelope. */
  readonly solver?: string;
  /** Kind-specific fields, already in the wire's snake_case (e.g. `missing_from_source`). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** A solver Job to create: one per (release, solver). */
export interface SolverJobRequest {
  readonly indexUrl: string;
  readonly project: string;
  readonly version: string;
  readonly solver: string;
  /** Reverse solving uses its own template. */
  readonly template?: 'solver' | 'reverse';
  /** A retry of a failed Job is a new Job: attempts after the first get their own name. */
  readonly attempt?: number;
}

export type JobOutcome = 'created' | 'exists' | 'dry-run';

export type JobPhase = 'active' | 'succeeded' | 'failed';

/** What the Jobs watch reports about one solver Job. */
export interface JobStatus {
  readonly name: string;
  readonly phase: JobPhase;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}
