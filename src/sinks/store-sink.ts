/**
 * The PackageStore port on Postgres: every write an idempotent upsert in a short
 * transaction (safe to replay), every scan a pulled keyset pager. Works on a real server
 * and on the embedded pool of one (no method holds a connection while waiting on another).
 */
import type pg from 'pg';
import { PkgstreamError } from '../domain/errors.js';
import type { SerialSyncStore, PackageStore, PageValidatorStore } from '../domain/ports.js';
import type { StoredRelease } from '../domain/types.js';
import * as attention from '../db/attention.js';
import * as checkpoints from '../db/checkpoints.js';
import { listIndexes, loadListingSerial, saveListingSerial } from '../db/indexes.js';
import { priorityOptions, type PriorityOptions } from '../db/priority.js';
import { isKnownProject, loadPageValidators, loadPromisedSerial, savePageValidators } from '../db/projects.js';
import { loadProjectStatus, recordProjectStatus } from '../db/project-status.js';
import { applyCheck, applyChecks } from '../db/release-checks.js';
import { deferCheck, loadProjectReleases, loadRelease, queueRecheck, recordReleases } from '../db/releases.js';
import { countDue, dueScan, knownProjectsScan, queuedScan, unrecordedProjectsScan, unsolvedScan } from '../db/scans.js';
import { readUnsolvedPage, recordFinished, recordScheduled } from '../db/solver-runs.js';
import { isConnectionError, type RetryOptions } from '../db/retry.js';

export interface PackageStoreOptions {
  /** Overrides of the re-check priority (recheck interval, boosts, ...). */
  readonly priority?: Partial<PriorityOptions>;
  /** Retry of scan pages after a dropped connection. */
  readonly retry?: RetryOptions;
  /** The clock for writes that take no explicit time (default: the wall clock). */
  readonly now?: () => Date;
  /**
   * Refresh planner statistics at the start of each due / unsolved scan. Set it for an
   * embedded database (`database.embedded`): PGlite has no autovacuum.
   */
  readonly analyzeBeforeScan?: boolean;
  /** `service_version` of the events' envelope. */
  readonly serviceVersion?: string;
  /** Called after a write that may have written events (the relay's wake-up). */
  readonly onEventsWritten?: () => void;
}

/** Postgres codes of a transaction that lost a race and can simply be run again. */
const CONFLICT_CODES = new Set(['40001', '40P01']);

/**
 * Marks database errors the pipelines' retry operator may retry: a lost connection
 * (`DB_UNAVAILABLE`) or a serialization failure / deadlock (`DB_CONFLICT`). Every write here
 * is idempotent, so running it again is safe. Other errors pass through unchanged.
 */
export async function retriableDbErrors<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isConnectionError(error)) {
      throw new PkgstreamError('DB_UNAVAILABLE', `database connection lost: ${(error as Error).message}`, { cause: error });
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && CONFLICT_CODES.has(code)) {
      throw new PkgstreamError('DB_CONFLICT', `database conflict: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}

const releaseIdOf = (release: StoredRelease | number): number => (typeof release === 'number' ? release : release.id);

/** What every role's methods share: the pool, the policies, and the relay's wake-up after an announcing write. */
interface StoreContext {
  readonly pool: pg.Pool;
  readonly priority: PriorityOptions;
  readonly retry: RetryOptions;
  readonly now: () => Date;
  readonly analyze: boolean;
  readonly serviceVersion: string;
  readonly options: PackageStoreOptions;
  /** Runs the write; wakes the relay once it committed, when it carried events. */
  readonly announcing: <T>(hasEvents: boolean, write: Promise<T>) => Promise<T>;
}

export function createPackageStore(pool: pg.Pool, options: PackageStoreOptions = {}): PackageStore {
  const context: StoreContext = {
    pool,
    priority: priorityOptions(options.priority),
    retry: options.retry ?? {},
    now: options.now ?? (() => new Date()),
    analyze: options.analyzeBeforeScan ?? false,
    serviceVersion: options.serviceVersion ?? 'unknown',
    options,
    announcing: async (hasEvents, write) => {
      const result = await retriableDbErrors(write);
      if (hasEvents) options.onEventsWritten?.();
      return result;
    },
  };
  return { ...catalogMethods(context), ...releaseMethods(context), ...checkMethods(context), ...attentionMethods(context), ...solverRunMethods(context) };
}

/** Indexes, known projects, feed checkpoints. */
function catalogMethods({ pool, retry }: StoreContext) {
  return {
    listIndexes: (query) => retriableDbErrors(listIndexes(pool, query)),
    isKnownProject: (project, indexId) => retriableDbErrors(isKnownProject(pool, project, indexId)),
    knownProjects: (query = {}) => knownProjectsScan(pool, { ...retry, ...query }),
    unrecordedProjects: (query = {}) => unrecordedProjectsScan(pool, { ...retry, ...query }),
    getCheckpoint: (indexId, feed) => retriableDbErrors(checkpoints.getCheckpoint(pool, indexId, feed)),
    saveCheckpoint: (checkpoint) => retriableDbErrors(checkpoints.saveCheckpoint(pool, checkpoint)),
  } satisfies Partial<PackageStore>;
}

/** New releases recorded (with their announcing events), and the stored ones read. */
function releaseMethods({ pool, priority, now, serviceVersion, announcing }: StoreContext) {
  return {
    async recordRelease(index, project, release, recordOptions = {}) {
      const releasedAt =
        recordOptions.releasedAt === undefined ? undefined : new Map([[release.version, recordOptions.releasedAt]]);
      const [recorded] = await announcing(
        recordOptions.announce !== undefined,
        recordReleases(pool, index.id, project, [release], {
          seenAt: recordOptions.seenAt ?? now(),
          priority,
          serviceVersion,
          ...(recordOptions.announce ? { announce: recordOptions.announce } : {}),
          ...(releasedAt ? { releasedAt } : {}),
        }),
      );
      // programming error: recordReleases answers for every release it is given.
      if (!recorded) throw new Error('recordRelease: nothing recorded');
      return recorded;
    },
    recordReleases: (index, project, releases, recordOptions = {}) =>
      announcing(
        recordOptions.announce !== undefined,
        recordReleases(pool, index.id, project, releases, {
          seenAt: recordOptions.seenAt ?? now(),
          priority,
          serviceVersion,
          ...(recordOptions.announce ? { announce: recordOptions.announce } : {}),
        }),
      ),
    loadRelease: (indexId, project, version) => retriableDbErrors(loadRelease(pool, indexId, project, version)),
    loadProjectReleases: (indexId, project) => retriableDbErrors(loadProjectReleases(pool, indexId, project)),
  } satisfies Partial<PackageStore>;
}

/** The re-checks: what is due, and each check's outcome (transitions, due times, project status). */
function checkMethods({ pool, priority, retry, analyze, serviceVersion, announcing, options }: StoreContext) {
  return {
    scanDue: (scan) => dueScan(pool, { ...retry, analyze, ...scan }),
    scanQueued: (scan) => queuedScan(pool, { ...retry, ...scan }),
    countDue: (scan) => retriableDbErrors(countDue(pool, scan)),
    applyCheck: (release, check) => announcing((check.events?.length ?? 0) > 0, applyCheck(pool, releaseIdOf(release), check, priority, serviceVersion)),
    applyChecks: (checks) =>
      announcing(checks.some(({ check }) => (check.events?.length ?? 0) > 0), applyChecks(pool, checks.map(({ release, check }) => ({ releaseId: releaseIdOf(release), check })), priority, serviceVersion)),
    async deferCheck(releaseId, until) {
      await retriableDbErrors(deferCheck(pool, releaseId, until));
    },
    async recordProjectStatus(index, project, status, { at, announce }) {
      const change = await retriableDbErrors(recordProjectStatus(pool, { indexId: index.id, project }, status, { at, announce, serviceVersion }));
      // Most checks change no status: the relay is woken only by one that wrote its event.
      if (change.changed) options.onEventsWritten?.();
      return change;
    },
    loadProjectStatus: (indexId, project) => retriableDbErrors(loadProjectStatus(pool, indexId, project)),
  } satisfies Partial<PackageStore>;
}

/** What failed for good, until resolved or retried. */
function attentionMethods({ pool, now }: StoreContext) {
  return {
    recordAttention: (failure) => retriableDbErrors(attention.recordAttention(pool, { ...failure, failedAt: failure.failedAt ?? now() })),
    listAttention: (query) => retriableDbErrors(attention.listAttention(pool, query)),
    resolveAttention: (ref, at) => retriableDbErrors(attention.resolveAttention(pool, ref, at ?? now())),
    requestRetry: (ref, at) => retriableDbErrors(attention.requestRetry(pool, ref, at ?? now())),
    openAttentionCounts: () => retriableDbErrors(attention.openAttentionCounts(pool)),
  } satisfies Partial<PackageStore>;
}

/** The solver runs: the releases still to solve, and each Job scheduled and finished. */
function solverRunMethods({ pool, retry, analyze, now, serviceVersion, announcing }: StoreContext) {
  return {
    unsolvedPage: (page) => retriableDbErrors(readUnsolvedPage(pool, page)),
    scanUnsolved: (scan) => unsolvedScan(pool, { ...retry, analyze, ...scan }),
    recordScheduled: ({ event, ...run }) =>
      announcing(event !== undefined, recordScheduled(pool, { ...run, scheduledAt: run.scheduledAt ?? now() }, { event, serviceVersion })),
    recordFinished: ({ event, ...run }) => announcing(event !== undefined, recordFinished(pool, run, { event, serviceVersion })),
  } satisfies Partial<PackageStore>;
}

export function createSerialSyncStore(pool: pg.Pool): SerialSyncStore {
  return {
    listingSerial: (indexId) => retriableDbErrors(loadListingSerial(pool, indexId)),
    saveListingSerial: (indexId, serial) => retriableDbErrors(saveListingSerial(pool, indexId, serial)),
    queueRecheck: (indexId, project, at, serial) => retriableDbErrors(queueRecheck(pool, indexId, project, at, serial)),
  };
}

export function createPageValidatorStore(pool: pg.Pool): PageValidatorStore {
  return {
    pageValidators: (indexId, project) => retriableDbErrors(loadPageValidators(pool, indexId, project)),
    savePageValidators: (indexId, project, validators) => retriableDbErrors(savePageValidators(pool, indexId, project, validators)),
    promisedSerial: (indexId, project) => retriableDbErrors(loadPromisedSerial(pool, indexId, project)),
  };
}
