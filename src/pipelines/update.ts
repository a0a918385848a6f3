/**
 * The `update` pipeline: re-checks every known `(index, project, version)` against its
 * index, most due first, and turns each change of state into one event and a database
 * update (it replaces the integrity-checker batch job).
 *
 * One pass (`updatePass`):
 * - Reads `store.listIndexes()` once (again once for an index id it does not know), then
 *   pulls `store.scanDue({ now, pageSize, all })` with `pullMap`: a row is taken only when
 *   one of `concurrency` slots is free, so at most `concurrency` rows plus the store's
 *   page are held, whatever the size of the table.
 * - First, every registered project of an index without feeds that has no release
 *   recorded yet (a `package add` there) has its page read and its releases recorded, so
 *   an index without feeds is watched too.
 * - ONE index request per project, not per version: the first row of a project
 *   (`indexId|project`) in the pass fetches the project page (rate-limited per index
 *   host, retried on retriable errors, a 429's Retry-After pausing the host, a 404 read as
 *   `'not-found'`) and re-checks every known release of the project (`checkProject`:
 *   `applyChecks` on its releases with their events, then record the page's new
 *   versions). Every later row of that project in the pass is `skipped`. The projects
 *   done in the pass are remembered in a bounded LRU (`maxProjectsRemembered`).
 * - A project whose fetch, or whose store/sink work, still fails after its retries goes to
 *   the attention table (`indexUrl|project`), every due row of it seen in the pass is
 *   deferred to `now + deferOnFailureMs`, a `failed` outcome is emitted and the pass goes
 *   on: one item never errors the stream (a failed `listIndexes` fails the project that
 *   asked, and is read again by the next). Only the scan itself failing errors a pass.
 * - Ends with a `pass-complete` outcome and sets `pkgstream_last_successful_pass_...`.
 *
 * `updatePipeline` runs passes forever: the next starts `intervalMs` (scheduler time)
 * after the previous one completed; a pass that errors becomes a `pass-failed` outcome
 * (logged, counted as a restart) and the next pass still comes. The rate-limit buckets
 * are shared by all its passes.
 *
 * `stop` (both): once it emits, no new row is taken (the scan is closed), the projects in
 * flight finish, the pass completes, and no new pass starts.
 */
import { LRUCache } from 'lru-cache';
import {
  catchError,
  concat,
  defer,
  EMPTY,
  finalize,
  from,
  map,
  merge,
  mergeMap,
  Observable,
  of,
  repeat,
  Subject,
  takeUntil,
  timer,
  type ObservableInput,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { errorCode } from '../domain/errors.js';
import type { IndexClient, PackageStore, PageValidatorStore, ProjectClaims } from '../domain/ports.js';
import type { PackageEvent, PackageIndex, ProjectRef, StoredRelease } from '../domain/types.js';
import { pullMap } from '../operators/pull-map.js';
import { retryEach, type RetryOutcome } from '../operators/retry-backoff.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { passTracker, type ProgressOptions } from './pass-progress.js';
import { stageMeter } from './stage-meter.js';
import { createProjectFetcher, type CheckedPage, type ProjectFetcher, type RetryPolicy } from './project-fetcher.js';
import { checkProject, type ProjectCheckResult } from './update-project.js';
import { claimedScan, type Claimed, type ClaimedScan } from './claimed-scan.js';
import { requireInteger, requireNumber } from '../operators/option-range.js';

export const UPDATE_PIPELINE = 'update';

export interface UpdatePorts {
  readonly store: PackageStore;
  readonly index: Pick<IndexClient, 'fetchProject'>;
  readonly scheduler: SchedulerLike;
  /** When given, page requests are conditional and a 304 is an unchanged check. */
  readonly validators?: PageValidatorStore;
  /**
   * Where the re-checks a serial sync queued (the index said the project changed) ask, when
   * not `index`: outside the verification share of the rate (PKGSTREAM_VERIFY_SHARE).
   */
  readonly changes?: Pick<IndexClient, 'fetchProject'>;
  /** Replicas sharing the database: each project of a pass is checked by the one that claims it. */
  readonly claims?: ProjectClaims;
}

export interface UpdateOptions {
  /** Projects checked at once (rows in flight); an integer >= 1. */
  readonly concurrency: number;
  /** Rows per page of the due scan. */
  readonly pageSize: number;
  /** Re-check every row, due or not. */
  readonly all?: boolean;
  /** Retries of an index request, and of a project's store/sink work. */
  readonly retry: RetryPolicy;
  /** Jitter source in [0, 1) (default Math.random). */
  readonly random?: () => number;
  /**
   * When set, a checked release is next due `recheckIntervalMs` after its check; when
   * absent the store computes the due time from its priority (Koschei-style aging).
   */
  readonly recheckIntervalMs?: number;
  /** A project that failed is tried again no sooner than this. */
  readonly deferOnFailureMs: number;
  /** Projects remembered per pass as already checked (default 100 000). */
  readonly maxProjectsRemembered?: number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** Progress of a pass (rows due at the start, done, rate, ETA) every `intervalMs`. */
  readonly progress?: ProgressOptions;
  /** Emits to stop taking work: in-flight projects finish, the pass completes. */
  readonly stop?: Observable<unknown>;
}

export interface UpdatePipelineOptions extends UpdateOptions {
  /** Pause between the end of a pass and the start of the next, scheduler time. */
  readonly intervalMs: number;
}

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
      /**
       * `project-checked`: done earlier in the pass; `project-failed`: failed earlier (row
       * deferred); `project-claimed`: another replica checks (or checked) it in its pass.
       */
      readonly reason: 'project-checked' | 'project-failed' | 'project-claimed';
    }
  | {
      readonly type: 'failed';
      readonly indexUrl: string;
      readonly project: string;
      /** Where it failed: the index request, or the store/sink work after it. */
      readonly stage: 'index' | 'fetch' | 'apply';
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

function validate(options: UpdateOptions): void {
  const { concurrency, pageSize, deferOnFailureMs } = options;
  requireInteger('update', 'concurrency', concurrency);
  requireInteger('update', 'pageSize', pageSize);
  requireNumber('update', 'deferOnFailureMs', deferOnFailureMs, 0, true);
}

/** One pass over the due rows; completes after its `pass-complete` outcome. */
export function updatePass(ports: UpdatePorts, options: UpdateOptions): Observable<UpdateOutcome> {
  validate(options);
  return defer(() => {
    const stop = { stopped: false };
    const stopWatch: Subscription | undefined = options.stop?.subscribe(() => (stop.stopped = true));
    return runPass(ports, options, fetchersFor(ports, options), stop).pipe(finalize(() => stopWatch?.unsubscribe()));
  });
}

/** Passes forever, `intervalMs` apart (from the end of one to the start of the next). */
export function updatePipeline(ports: UpdatePorts, options: UpdatePipelineOptions): Observable<UpdateOutcome> {
  validate(options);
  const { scheduler } = ports;
  const { metrics, logger } = options;
  return defer(() => {
    const fetcher = fetchersFor(ports, options);
    const stop = { stopped: false };
    const stopWatch: Subscription | undefined = options.stop?.subscribe(() => (stop.stopped = true));
    metrics?.pipelineUp.set({ pipeline: UPDATE_PIPELINE }, 1);
    const pass = defer(() => runPass(ports, options, fetcher, stop)).pipe(
      catchError((error: unknown) => {
        logger?.error({ err: error, pipeline: UPDATE_PIPELINE }, 'update pass failed');
        metrics?.pipelineRestarts.inc({ pipeline: UPDATE_PIPELINE });
        return of<UpdateOutcome>({ type: 'pass-failed', errorCode: errorCode(error), error });
      }),
    );
    const pause = (): ObservableInput<unknown> => {
      if (stop.stopped) return EMPTY; // repeat completes
      const wait = timer(options.intervalMs, scheduler);
      return options.stop ? wait.pipe(takeUntil(options.stop)) : wait;
    };
    return pass.pipe(
      repeat({ delay: pause }),
      finalize(() => {
        stopWatch?.unsubscribe();
        metrics?.pipelineUp.set({ pipeline: UPDATE_PIPELINE }, 0);
      }),
    );
  });
}

/** The verification re-checks' fetcher, and the one of the re-checks a serial sync queued. */
interface PassFetchers {
  readonly verify: ProjectFetcher<CheckedPage>;
  readonly changes: ProjectFetcher<CheckedPage>;
  requests(): number;
}

function fetchersFor(ports: UpdatePorts, options: UpdateOptions): PassFetchers {
  const fetcherOptions = { retry: options.retry, scheduler: ports.scheduler, ...(options.random ? { random: options.random } : {}) };
  const verify = createProjectFetcher(ports.index, fetcherOptions, ports.validators);
  const changes = ports.changes ? createProjectFetcher(ports.changes, fetcherOptions, ports.validators) : verify;
  return { verify, changes, requests: () => verify.requests() + (changes === verify ? 0 : changes.requests()) };
}

/** How a project the pass has finished ended. */
type ProjectState = 'checked' | 'failed';

/** A project in flight, with the ids of its rows seen so far (deferred if it fails). */
interface Running {
  readonly rows: number[];
  /** Queued by a serial sync: fetched outside the verification share. */
  readonly queued: boolean;
}

/** Ends an async iterable early once `stopped()` holds, closing the source (its `finally` runs). */
function stoppable<T>(source: AsyncIterable<T>, stopped: () => boolean, onStop: () => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const inner = source[Symbol.asyncIterator]();
      let closed = false;
      const close = async (): Promise<IteratorResult<T>> => {
        if (!closed) {
          closed = true;
          await inner.return?.();
        }
        return { done: true, value: undefined };
      };
      return {
        next: async () => {
          if (closed) return { done: true, value: undefined };
          if (stopped()) {
            onStop();
            return close();
          }
          return inner.next();
        },
        return: close,
      };
    },
  };
}

function runPass(
  ports: UpdatePorts,
  options: UpdateOptions,
  fetcher: PassFetchers,
  stop: { stopped: boolean },
): Observable<UpdateOutcome> {
  const { store, scheduler } = ports;
  const { metrics, logger } = options;
  const pipeline = UPDATE_PIPELINE;
  const now = (): Date => new Date(scheduler.now());

  return defer(() => {
    const startedAt = now();
    const requestsBefore = fetcher.requests();
    const stopWatch: Subscription | undefined = options.stop?.subscribe(() => (stop.stopped = true));
    const projects = new LRUCache<string, ProjectState>({ max: options.maxProjectsRemembered ?? 100_000 });
    const running = new Map<string, Running>(); // at most `concurrency` entries
    let indexes: Promise<Map<number, PackageIndex>> | null = null;
    const reloaded = new Set<number>();
    let rows = 0;
    let done = 0;
    let projectCount = 0;
    let failed = 0;
    let eventCount = 0;
    let stoppedEarly = false;

    metrics?.scanRowsDone.set({ pipeline }, 0);
    const tracker = passTracker({ pipeline, store, scheduler, metrics, logger, progress: options.progress }, { now: startedAt, ...(options.all ? { all: true } : {}) }, () => done);

    const loadIndexes = (): Promise<Map<number, PackageIndex>> =>
      store.listIndexes().then((list) => new Map(list.map((index) => [index.id, index])));
    const indexOf = async (id: number): Promise<PackageIndex | null> => {
      indexes ??= loadIndexes();
      const loading = indexes;
      loading.catch(() => {
        if (indexes === loading) indexes = null; // a failed read is tried again by the next project
      });
      let found = (await loading).get(id);
      if (!found && !reloaded.has(id)) {
        reloaded.add(id); // an index registered during the pass: look once more
        indexes = loadIndexes();
        found = (await indexes).get(id);
      }
      return found ?? null;
    };

    const stage = stageMeter('update', metrics, scheduler);

    const deferRows = async (ids: readonly number[]): Promise<void> => {
      const until = new Date(scheduler.now() + options.deferOnFailureMs);
      for (const id of ids) {
        try {
          await store.deferCheck(id, until);
        } catch (error) {
          logger?.warn({ err: error, pipeline, releaseId: id }, 'update: could not defer a failed row');
        }
      }
    };

    const fail = async (
      row: ProjectRef,
      stageName: 'index' | 'fetch' | 'apply',
      error: unknown,
      attempts: number,
      rowIds: readonly number[],
    ): Promise<UpdateOutcome> => {
      const code = errorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      failed += 1;
      try {
        await store.recordAttention({
          pipeline,
          itemKey: `${row.indexUrl}|${row.project}`,
          errorCode: code,
          errorMessage: message,
          attempts,
          payload: { stage: stageName, indexId: row.indexId, project: row.project },
          failedAt: now(),
        });
        metrics?.attentionRecorded.inc({ pipeline, code });
      } catch (attentionError) {
        logger?.error({ err: attentionError, pipeline, project: row.project }, 'update: could not record attention');
      }
      await deferRows(rowIds);
      logger?.warn({ pipeline, indexUrl: row.indexUrl, project: row.project, stage: stageName, code, attempts, message }, 'update: project failed');
      return { type: 'failed', indexUrl: row.indexUrl, project: row.project, stage: stageName, errorCode: code, error, attempts };
    };

    /** Fetch, then check every known release of the project; one outcome. */
    const checkRow = (row: ProjectRef, key: string, state: Running): Observable<UpdateOutcome> =>
      defer(async () => indexOf(row.indexId)).pipe(
        mergeMap((index): Observable<UpdateOutcome> => {
          if (index === null) {
            const error = new Error(`no index with id ${row.indexId}`);
            Object.assign(error, { code: 'INDEX_UNKNOWN' });
            return from(fail(row, 'index', error, 1, state.rows));
          }
          const request = { index, project: row.project };
          return stage('fetch', request, (r) => (state.queued ? fetcher.changes : fetcher.verify).fetch(r), (outcome) => !outcome.ok).pipe(
            mergeMap((fetched): ObservableInput<UpdateOutcome> => {
              if (!fetched.ok) return fail(row, 'fetch', fetched.error, fetched.attempts, state.rows);
              return apply(index, row, fetched.value, fetched.attempts, state);
            }),
          );
        }),
        catchError((error: unknown) => fail(row, 'index', error, 1, state.rows)), // listIndexes failed
        map((outcome) => {
          claimed?.release(row);
          running.delete(key);
          projects.set(key, outcome.type === 'checked' ? 'checked' : 'failed');
          return outcome;
        }),
      );

    const apply = (
      index: PackageIndex,
      row: ProjectRef,
      page: CheckedPage,
      fetchAttempts: number,
      state: Running,
    ): Observable<UpdateOutcome> => {
      const work = (): Observable<RetryOutcome<null, ProjectCheckResult>> =>
        of(null).pipe(
          retryEach(
            () =>
              checkProject(
                { store, validators: ports.validators },
                {
                  index,
                  project: row.project,
                  page,
                  checkedAt: now(),
                  ...(options.recheckIntervalMs === undefined ? {} : { recheckIntervalMs: options.recheckIntervalMs }),
                },
              ),
            {
              ...options.retry,
              scheduler,
              ...(options.random ? { random: options.random } : {}),
            },
          ),
        );
      return stage('apply', null, work, (outcome) => !outcome.ok).pipe(
        mergeMap((outcome): ObservableInput<UpdateOutcome> => {
          if (!outcome.ok) return fail(row, 'apply', outcome.error, outcome.attempts, state.rows);
          const result = outcome.value;
          eventCount += result.events.length;
          return of<UpdateOutcome>({
            type: 'checked',
            indexUrl: index.simpleUrl,
            project: row.project,
            releases: result.releases,
            changed: result.changed,
            newReleases: result.recorded.map((release) => release.version),
            notFound: page === 'not-found',
            events: result.events,
            attempts: fetchAttempts,
          });
        }),
      );
    };

    const handleRow = (row: StoredRelease, queued: boolean): Observable<UpdateOutcome> => {
      rows += 1;
      const key = `${row.indexId}|${row.project}`;
      const inFlight = running.get(key);
      if (inFlight) {
        inFlight.rows.push(row.id); // deferred with the project if it fails
        return of(skipped(row, 'project-checked'));
      }
      const known = projects.get(key);
      if (known === 'checked') return of(skipped(row, 'project-checked'));
      if (known === 'failed') return from(deferRows([row.id]).then(() => skipped(row, 'project-failed')));
      const state: Running = { rows: [row.id], queued };
      running.set(key, state);
      projectCount += 1;
      return checkRow(row, key, state);
    };

    /** A registered project of a feedless index without releases: its page read, its releases recorded. */
    const handleUnrecorded = (project: ProjectRef): Observable<UpdateOutcome> => {
      const key = `${project.indexId}|${project.project}`;
      const state: Running = { rows: [], queued: false };
      running.set(key, state);
      projectCount += 1;
      return checkRow(project, key, state);
    };

    const due = store.scanDue({ now: startedAt, pageSize: options.pageSize, ...(options.all ? { all: true } : {}) });
    const unrecorded = store.unrecordedProjects({ pageSize: options.pageSize });
    // A queued row is due too; checked first, it is no longer due when the due scan reaches it.
    const queued = options.all ? null : store.scanQueued?.({ pageSize: options.pageSize });
    const items = (async function* (): AsyncGenerator<DueItem> {
      for await (const project of unrecorded) yield { project };
      if (queued) for await (const release of queued) yield { release, queued: true };
      for await (const release of due) yield { release, queued: false };
    })();
    const claimed = claimedItems(ports, options, items, startedAt);
    const scan = stoppable(claimed ? claimed.items : unclaimed(items), () => stop.stopped, () => (stoppedEarly = true));
    // Progress counts the due rows (countDue); an unrecorded project is not one of them.
    const rowDone = () => {
      done += 1;
      metrics?.scanRowsDone.set({ pipeline }, done);
    };
    const handle = ({ item, claimed: mine }: Claimed<DueItem>): Observable<UpdateOutcome> => {
      if ('project' in item) return mine ? handleUnrecorded(item.project) : EMPTY;
      return (mine ? handleRow(item.release, item.queued) : of(skipped(item.release, 'project-claimed'))).pipe(finalize(rowDone));
    };
    const checks = pullMap(scan, handle, {
      concurrency: options.concurrency,
      onInflight: (n) => metrics?.stageInflight.set({ pipeline, stage: 'scan' }, n),
    });

    // The pass is complete once its claims are given up (a replica's next pass starts clean).
    const complete = defer(async () => claimed?.close()).pipe(mergeMap(() => {
      tracker.finish();
      const finishedAt = now();
      metrics?.lastSuccessfulPass.set({ pipeline }, finishedAt.getTime() / 1000);
      const outcome: UpdateOutcome = {
        type: 'pass-complete',
        rows,
        projects: projectCount,
        requests: fetcher.requests() - requestsBefore,
        failed,
        events: eventCount,
        startedAt,
        finishedAt,
        stopped: stoppedEarly,
      };
      logger?.info({ pipeline, ...outcome, durationMs: finishedAt.getTime() - startedAt.getTime() }, 'update pass complete');
      return of(outcome);
    }));

    const ended = new Subject<void>();
    const reported = merge(checks.pipe(finalize(() => ended.next())), tracker.ticks().pipe(takeUntil(ended)));
    return concat(tracker.countDue(), reported, complete).pipe(
      finalize(() => {
        stopWatch?.unsubscribe();
        metrics?.stageInflight.set({ pipeline, stage: 'scan' }, 0);
        void claimed?.close(); // a pass cut off before it completed gives its claims up too
      }),
    );
  });
}

/** What a pass works on: first the feedless indexes' projects without releases, then the due rows. */
type DueItem = { readonly project: ProjectRef } | { readonly release: StoredRelease; readonly queued: boolean };

const refOfItem = (item: DueItem): ProjectRef => ('project' in item ? item.project : item.release);

/** Alone on the database, every item is this replica's. */
async function* unclaimed(items: AsyncIterable<DueItem>): AsyncGenerator<Claimed<DueItem>> {
  for await (const item of items) yield { item, claimed: true };
}

/** Among replicas, a pass claims its projects a batch (twice the concurrency) at a time. */
function claimedItems(ports: UpdatePorts, options: UpdateOptions, items: AsyncIterable<DueItem>, since: Date): ClaimedScan<DueItem> | null {
  if (!ports.claims) return null;
  return claimedScan(items, refOfItem, ports.claims, {
    batch: options.concurrency * 2,
    since,
    renewEveryMs: ports.claims.ttlMs / 3,
    scheduler: ports.scheduler,
    onError: (error, what) => options.logger?.warn({ err: error, pipeline: UPDATE_PIPELINE }, `update: could not ${what} project claims (they run out at their expiry)`),
  });
}

function skipped(row: StoredRelease, reason: 'project-checked' | 'project-failed' | 'project-claimed'): UpdateOutcome {
  return { type: 'skipped', indexUrl: row.indexUrl, project: row.project, version: row.version, reason };
}
