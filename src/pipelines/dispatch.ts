/**
 * `dispatch`: one solver Job per (release × solver) that has none yet, never more active
 * solver Jobs than the capacity, every Job's outcome recorded.
 *
 * Sources, merged:
 * - `released` messages (Kafka `package-released`): each names a release; the stored release
 *   gives one work item per solver (plus the reverse solver in reverse mode). The message is
 *   acked once every item it produced has a durable outcome (its solver run recorded, or an
 *   attention row); a release the store does not know (or cannot be looked up) is logged and
 *   acked: the periodic scan is the safety net.
 * - the unsolved scan (`store.scanUnsolved`) every `scanIntervalMs`, a pass never starting
 *   while the previous one runs (exhaustMap), pulled one item at a time while at most
 *   `pageSize` of its items wait for their outcome (memory stays bounded).
 *
 * Then: dedupe by `index_url|project|version|solver` (a bounded LRU; a repeat of an item in
 * flight waits for that item's outcome) → solverDispatch (capacity against the Jobs watch's
 * active count) → `jobs.schedule` → `store.recordScheduled` → `solver-scheduled` event.
 * `exists` (409) counts as scheduled; `dry-run` writes nothing. A create call that fails for
 * good goes to attention and the stream goes on.
 *
 * The Jobs watch is subscribed once and shared by the active count and the finished Jobs:
 * `store.recordFinished` and a `solver-finished` event; a failed Job is re-run (its item
 * with `attempt` + 1, which the Job sink must put into the name) while the run's attempts
 * are below `maxJobAttempts`, then goes to attention (`JOB_FAILED`).
 *
 * Store writes (with the events they announce, in the same transaction) are retried (retriable errors, backoff in scheduler time);
 * an attention write that fails for good errors the stream (nothing is acked: the lifecycle
 * restarts the pipeline and Kafka redelivers).
 */
import { LRUCache } from 'lru-cache';
import {
  catchError,
  concat,
  connectable,
  defer,
  EMPTY,
  exhaustMap,
  filter,
  finalize,
  ignoreElements,
  lastValueFrom,
  map,
  merge,
  mergeMap,
  Observable,
  of,
  Subject,
  takeUntil,
  tap,
  throwIfEmpty,
  timer,
  type SchedulerLike,
} from 'rxjs';
import { errorCode, PkgstreamError } from '../domain/errors.js';
import type { JobScheduler, JobsWatchEvent, PackageStore, UnsolvedItem } from '../domain/ports.js';
import type { JobStatus } from '../domain/types.js';
import { dedupe } from '../operators/dedupe.js';
import { pullMap } from '../operators/pull-map.js';
import { retryEach } from '../operators/retry-backoff.js';
import { solverDispatch, type DispatchOutcome } from '../operators/solver-dispatch.js';
import type { Logger, Metrics } from '../runtime/index.js';
import {
  describeJob,
  dispatchItemKey,
  dispatchSolvers,
  finishedEvent,
  itemFromUnsolved,
  itemsOfRelease,
  jobRequest,
  resolveRelease,
  scheduledEvent,
  type DispatchItem,
} from './dispatch-items.js';
import { stageMeter } from './stage-meter.js';
import { requireInteger, requireNumber } from '../operators/option-range.js';

export * from './dispatch-items.js';

const PIPELINE = 'dispatch' as const;

/** A `package-released` message as the Kafka source yields it. */
export interface ReleasedMessage {
  readonly value: { readonly index_url: string; readonly package_name: string; readonly package_version: string };
  ack(): Promise<void>;
}

export interface DispatchPorts {
  readonly store: PackageStore;
  readonly jobs: JobScheduler;
  readonly released?: Observable<ReleasedMessage>;
  readonly scheduler: SchedulerLike;
}

export type DispatchMetrics = Pick<
  Metrics,
  'jobsCapacity' | 'stageInflight' | 'stageItems' | 'stageDuration' | 'events' | 'attentionRecorded' | 'lastSuccessfulPass' | 'dedupeDropped'
>;

export interface DispatchOptions {
  /** Solver names (e.g. `solver-fedora-38-py311`). */
  readonly solvers: readonly string[];
  /** Most solver Jobs active at once. */
  readonly capacity: number;
  readonly scanIntervalMs: number;
  /** Rows per page of the unsolved scan; also the most scan items waiting for an outcome. */
  readonly pageSize: number;
  /** Most create calls at once, and most store writes at once per stage. */
  readonly concurrency: number;
  /** Jobs per (release, solver) in all: a failed Job is re-run until this many failed. */
  readonly maxJobAttempts: number;
  /** Also one reverse-solver Job per release (template `reverse`, solver `reverse`). */
  readonly reverse: boolean;
  /** Keys the dedupe remembers. */
  readonly dedupeMax: number;
  /** Create calls of one Job refused with a retriable error (quota, 429) before attention. Default 10. */
  readonly scheduleMaxAttempts?: number;
  /** Attempts of a store write before it counts as failed. Default 5. */
  readonly storeMaxAttempts?: number;
  readonly metrics?: DispatchMetrics;
  readonly logger?: Logger;
  /** In [0, 1), for the backoff jitter (default Math.random). */
  readonly random?: () => number;
}

export type DispatchPipelineOutcome =
  /** A Job was created (or already existed) and its solver run is recorded. */
  | {
      readonly kind: 'scheduled';
      readonly item: DispatchItem;
      readonly jobName: string;
      readonly outcome: 'created' | 'exists';
      /** Jobs the store counts for the pair, this one included. */
      readonly runAttempts: number;
    }
  | { readonly kind: 'dry-run'; readonly item: DispatchItem; readonly jobName: string }
  /** The item could not be scheduled or recorded and is in the attention table. */
  | {
      readonly kind: 'attention';
      readonly item: DispatchItem;
      readonly errorCode: string;
      readonly error: unknown;
      readonly attempts: number;
      readonly jobName?: string;
    }
  /** A Job finished; `next` says what came of it. */
  | {
      readonly kind: 'finished';
      readonly jobName: string;
      readonly phase: 'succeeded' | 'failed';
      readonly item: DispatchItem | null;
      /** False when no solver run has this Job's name (a stale Job): nothing else was done. */
      readonly recorded: boolean;
      readonly next: 'none' | 'retry' | 'attention';
    }
  /** A released message was handled and acked; `items` 0 when its release is not stored. */
  | { readonly kind: 'released'; readonly message: ReleasedMessage['value']; readonly items: number }
  /** A pass of the unsolved scan ended (with `error` when it broke off). */
  | { readonly kind: 'scan'; readonly items: number; readonly error?: unknown };

/** Runs until unsubscribed (or until a store write fails for good). */
export function dispatchPipeline(ports: DispatchPorts, options: DispatchOptions): Observable<DispatchPipelineOutcome> {
  return dispatchRun(ports, options, 'continuous');
}

/**
 * One pass of the unsolved scan (no messages); completes once every item of the pass has
 * its outcome and no re-run of a failed Job is under way. Capacity is respected (the Jobs
 * watch runs meanwhile), so it may wait for Jobs to finish. A failing scan errors it.
 */
export function dispatchOnce(ports: Omit<DispatchPorts, 'released'>, options: DispatchOptions): Observable<DispatchPipelineOutcome> {
  return dispatchRun(ports, options, 'once');
}

type ScheduleResult = Awaited<ReturnType<JobScheduler['schedule']>>;

interface Work {
  readonly item: DispatchItem;
  /** Called once the item has a durable outcome (or was dropped as a repeat of one). */
  readonly settled: () => void;
  /** The failed Job this item re-runs. */
  readonly retryOf?: string;
}

interface Launched {
  readonly item: DispatchItem;
  /** The run's attempts once recorded; null when recording failed. */
  readonly recorded: Promise<number | null>;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}

function checkOptions(options: DispatchOptions): void {
  const positive = { pageSize: options.pageSize, concurrency: options.concurrency, maxJobAttempts: options.maxJobAttempts, dedupeMax: options.dedupeMax };
  for (const [name, value] of Object.entries(positive)) requireInteger('dispatch', name, value);
  requireInteger('dispatch', 'capacity', options.capacity, 0);
  requireNumber('dispatch', 'scanIntervalMs', options.scanIntervalMs, 0, false);
}

function dispatchRun(ports: DispatchPorts, options: DispatchOptions, mode: 'continuous' | 'once'): Observable<DispatchPipelineOutcome> {
  checkOptions(options);
  const { store, jobs, scheduler } = ports;
  const { metrics, logger: log } = options;
  const random = options.random ?? Math.random;
  const solvers = dispatchSolvers(options);
  const storeRetry = {
    maxAttempts: options.storeMaxAttempts ?? 5,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    random,
    scheduler,
  };
  const gauge = (stage: string, n: number): void => metrics?.stageInflight.set({ pipeline: PIPELINE, stage }, n);
  const stage = stageMeter(PIPELINE, metrics, scheduler);

  return new Observable<DispatchPipelineOutcome>((subscriber) => {
    metrics?.jobsCapacity.set(options.capacity);
    const stop$ = new Subject<void>();
    let stopped = false;

    const stoppedError = () => new PkgstreamError('DISPATCH_STOPPED', 'the dispatch pipeline was stopped');
    /** A store write (with the events it announces) with retries; rejects with the last error, or DISPATCH_STOPPED when stopped meanwhile. */
    const retrying = <T>(fn: () => Promise<T>): Promise<T> => {
      if (stopped) return Promise.reject(stoppedError());
      return lastValueFrom(
        of(null).pipe(
          retryEach(() => fn(), storeRetry),
          takeUntil(stop$),
          map((outcome) => {
            if (outcome.ok) return outcome.value;
            throw outcome.error;
          }),
          // A stop during the retries ends the stream empty: that is a stop, not an EmptyError.
          throwIfEmpty(stoppedError),
        ),
      );
    };

    const attention = async (itemKey: string, code: string, message: string, attempts: number, payload: unknown): Promise<void> => {
      await retrying(() =>
        store.recordAttention({ pipeline: PIPELINE, itemKey, errorCode: code, errorMessage: message, attempts, payload }),
      );
      metrics?.attentionRecorded.inc({ pipeline: PIPELINE, code });
      log?.warn({ pipeline: PIPELINE, itemKey, code, attempts }, `dispatch item to attention: ${message}`);
    };

    // ---- bookkeeping ------------------------------------------------------------------
    /** Items past the dedupe without an outcome yet, by key: who waits for their outcome. */
    const waiting = new Map<string, (() => void)[]>();
    /** Jobs this process created, by name, until they finish. */
    const launched = new LRUCache<string, Launched>({ max: options.dedupeMax });
    /** Finished Jobs that matched no recorded run yet (their create call may still be recording). */
    const unmatched = new LRUCache<string, JobStatus>({ max: options.dedupeMax });
    /** Finish handlers running and re-runs in flight (dispatchOnce waits for them). */
    let busy = 0;
    let scanDone = false;
    const checkDone = (): void => {
      if (mode === 'once' && scanDone && busy === 0) subscriber.complete();
    };
    const release = (): void => {
      busy -= 1;
      checkDone();
    };

    const fresh = new Subject<Work>();
    const retries = new Subject<Work>();
    const refinish = new Subject<JobStatus>();

    const hold = (work: Work): void => {
      const key = dispatchItemKey(work.item);
      const list = waiting.get(key);
      if (list) list.push(work.settled);
      else waiting.set(key, [work.settled]);
    };
    const settle = (item: DispatchItem): void => {
      const key = dispatchItemKey(item);
      const list = waiting.get(key) ?? [];
      waiting.delete(key);
      for (const settled of list) settled();
    };
    /** Completes (without a value) once the item has its outcome. */
    const submit = (item: DispatchItem): Observable<never> =>
      new Observable<never>((waiter) => {
        fresh.next({ item, settled: once(() => waiter.complete()) });
      });
    const rerun = (item: DispatchItem, retryOf: string): void => {
      busy += 1;
      retries.next({ item, retryOf, settled: once(release) });
    };

    // ---- the Jobs watch: one subscription, shared ----------------------------------------
    const watch = connectable(jobs.watch(), { connector: () => new Subject<JobsWatchEvent>(), resetOnDisconnect: false });
    const active$ = watch.pipe(
      filter((event): event is Extract<JobsWatchEvent, { type: 'active' }> => event.type === 'active'),
      map((event) => event.count),
    );
    const finishedJobs$ = merge(
      watch.pipe(
        filter((event): event is Extract<JobsWatchEvent, { type: 'finished' }> => event.type === 'finished'),
        map((event) => event.job),
      ),
      refinish,
    ).pipe(filter((job) => job.phase !== 'active'));

    // ---- schedule and record -------------------------------------------------------------
    const recordDispatch = async (outcome: DispatchOutcome<Work, ScheduleResult>): Promise<DispatchPipelineOutcome> => {
      const { item, retryOf } = outcome.item;
      const key = dispatchItemKey(item);
      if (!outcome.ok) {
        const code = errorCode(outcome.error);
        await attention(key, code, `creating the solver Job failed: ${messageOf(outcome.error)}`, outcome.attempts, { ...item, stage: 'schedule' });
        return { kind: 'attention', item, errorCode: code, error: outcome.error, attempts: outcome.attempts };
      }
      const { jobName } = outcome.value;
      if (outcome.value.outcome === 'dry-run') return { kind: 'dry-run', item, jobName };
      if (retryOf !== undefined && jobName === retryOf) {
        // The Job sink gave the re-run the failed Job's name: it cannot run again.
        const error = new PkgstreamError('JOB_FAILED', `solver Job ${jobName} failed and its re-run got the same name`);
        await attention(key, error.code, error.message, item.attempt ?? 1, { ...item, jobName });
        return { kind: 'attention', item, errorCode: error.code, error, attempts: item.attempt ?? 1, jobName };
      }
      let resolveRecorded: (attempts: number | null) => void = () => undefined;
      const recorded = new Promise<number | null>((resolve) => (resolveRecorded = resolve));
      launched.set(jobName, { item, recorded });
      try {
        const event = scheduledEvent(item, jobName);
        const { attempts } = await retrying(() => store.recordScheduled({ releaseId: item.releaseId, solver: item.solver, jobName, event }));
        resolveRecorded(attempts);
        const early = unmatched.get(jobName);
        if (early) {
          unmatched.delete(jobName);
          refinish.next(early);
        }
        return { kind: 'scheduled', item, jobName, outcome: outcome.value.outcome, runAttempts: attempts };
      } catch (error) {
        resolveRecorded(null);
        const code = errorCode(error);
        await attention(key, code, `recording the solver Job ${jobName} failed: ${messageOf(error)}`, 1, { ...item, jobName, stage: 'record' });
        return { kind: 'attention', item, errorCode: code, error, attempts: 1, jobName };
      }
    };

    const dispatched$ = merge(
      fresh.pipe(
        dedupe({
          key: (work: Work) => dispatchItemKey(work.item),
          max: options.dedupeMax,
          scheduler,
          onDropped: (work, key) => {
            metrics?.dedupeDropped.inc({ pipeline: PIPELINE, stage: 'dedupe' });
            const list = waiting.get(key);
            if (list) list.push(work.settled); // the same item is in flight: wait for its outcome
            else work.settled(); // it already had its outcome
          },
        }),
        tap(hold),
      ),
      retries.pipe(tap(hold)),
    ).pipe(
      solverDispatch<Work, ScheduleResult>({
        // A promise: solverDispatch takes the first value, and the stage must see its completion.
        schedule: (work) => lastValueFrom(stage('schedule', work.item, (item) => jobs.schedule(jobRequest(item)))),
        capacity: of(options.capacity),
        active: active$,
        jobName: (result) => (result.outcome === 'dry-run' ? null : result.jobName),
        finished: finishedJobs$.pipe(map((job) => job.name)),
        concurrency: options.concurrency,
        maxAttempts: options.scheduleMaxAttempts ?? 10,
        // A full quota or a 429 is backpressure, not a failing item: it never uses up attempts.
        isRefusal: (error) => ['JOB_QUOTA', 'JOB_RATE_LIMITED'].includes(errorCode(error)),
        random,
        scheduler,
        onInflight: (n) => gauge('schedule', n),
      }),
      mergeMap(
        (outcome) => stage('record', outcome, recordDispatch, (result) => result.kind === 'attention').pipe(tap({ complete: () => settle(outcome.item.item) })),
        options.concurrency,
      ),
    );

    // ---- finished Jobs ---------------------------------------------------------------------
    /** The work item of a Job this process did not create (after a restart), from its annotations. */
    const storedItem = async (described: Omit<DispatchItem, 'releaseId' | 'attempt'>): Promise<DispatchItem | null> => {
      const stored = await retrying(() => resolveRelease(store, described.indexUrl, described.project, described.version));
      return stored ? (itemsOfRelease(stored, [described.solver])[0] ?? null) : null;
    };

    const handleFinished = async (job: JobStatus): Promise<DispatchPipelineOutcome> => {
      const phase = job.phase === 'failed' ? 'failed' : 'succeeded';
      const known = launched.get(job.name);
      const knownAttempts = known ? await known.recorded : null;
      const described = known?.item ?? describeJob(job);
      const recorded = await retrying(() =>
        store.recordFinished({
          jobName: job.name,
          phase,
          startedAt: job.startedAt,
          finishedAt: job.finishedAt,
          ...(known ? { releaseId: known.item.releaseId, solver: known.item.solver } : {}),
          ...(described ? { event: finishedEvent(described, job, phase) } : {}),
        }),
      );
      const base = { kind: 'finished', jobName: job.name, phase } as const;
      if (!recorded) {
        if (!known && launched.get(job.name)) {
          // Its create call answered while this finish was being recorded (the Job finished
          // before the call returned): the run may be recorded by now, so finish it again.
          refinish.next(job);
          return { ...base, item: null, recorded: false, next: 'none' };
        }
        unmatched.set(job.name, job);
        log?.info({ pipeline: PIPELINE, job: job.name, phase }, 'finished solver Job matches no recorded solver run');
        return { ...base, item: known?.item ?? null, recorded: false, next: 'none' };
      }
      launched.delete(job.name);
      if (phase === 'succeeded') return { ...base, item: known?.item ?? null, recorded: true, next: 'none' };
      const item = known?.item ?? (described ? await storedItem(described) : null);
      if (!item) {
        const key = described ? dispatchItemKey(described) : job.name;
        await attention(key, 'JOB_FAILED', `solver Job ${job.name} failed; its release is not known`, 1, { jobName: job.name });
        return { ...base, item: null, recorded: true, next: 'attention' };
      }
      const attempts =
        knownAttempts ??
        (await retrying(() => store.recordScheduled({ releaseId: item.releaseId, solver: item.solver, jobName: job.name }))).attempts;
      if (attempts < options.maxJobAttempts) {
        rerun({ ...item, attempt: attempts + 1 }, job.name);
        return { ...base, item, recorded: true, next: 'retry' };
      }
      await attention(
        dispatchItemKey(item),
        'JOB_FAILED',
        `solver Job ${job.name} failed (${attempts} of ${options.maxJobAttempts} attempts)`,
        attempts,
        { ...item, jobName: job.name },
      );
      return { ...base, item, recorded: true, next: 'attention' };
    };

    let finishing = 0;
    const finished$ = finishedJobs$.pipe(
      mergeMap(
        (job) =>
          defer(() => {
            busy += 1;
            gauge('finished', ++finishing);
            return stage('finished', job, handleFinished);
          }).pipe(
            finalize(() => {
              gauge('finished', --finishing);
              release();
            }),
          ),
        options.concurrency,
      ),
    );

    // ---- sources -------------------------------------------------------------------------
    let handling = 0;
    const handleMessage = (message: ReleasedMessage): Observable<DispatchPipelineOutcome> => {
      const { index_url: indexUrl, package_name: project, package_version: version } = message.value;
      return defer(async () => {
        gauge('released', ++handling);
        try {
          return await retrying(async () => {
            const stored = await resolveRelease(store, indexUrl, project, version);
            // Releases are announced before their row is written (at-least-once): give the
            // row a few backoff rounds to appear before leaving the release to the scan.
            if (!stored) throw new PkgstreamError('RELEASE_NOT_STORED', 'released message names no stored release yet', { retriable: true });
            return stored;
          });
        } catch (error) {
          if (errorCode(error) !== 'RELEASE_NOT_STORED' && errorCode(error) !== 'DISPATCH_STOPPED') {
            log?.error({ pipeline: PIPELINE, indexUrl, project, version, err: error }, 'looking up a released package failed; the unsolved scan will catch it');
          }
          return null;
        }
      }).pipe(
        mergeMap((stored) => {
          if (!stored) log?.warn({ pipeline: PIPELINE, indexUrl, project, version }, 'released message names no stored release; the unsolved scan will catch it');
          const items = stored ? itemsOfRelease(stored, solvers) : [];
          return concat(
            merge(...items.map(submit)),
            defer(() => message.ack()).pipe(
              ignoreElements(),
              catchError((error: unknown) => {
                log?.warn({ pipeline: PIPELINE, err: error }, 'acking a released message failed');
                return EMPTY;
              }),
            ),
            of<DispatchPipelineOutcome>({ kind: 'released', message: message.value, items: items.length }),
          );
        }),
        finalize(() => gauge('released', --handling)),
      );
    };
    // Concurrency is bounded by the source (the Kafka source pauses past its high-water mark).
    const messages$ = (ports.released ?? EMPTY).pipe(mergeMap((message) => stage('released', message, handleMessage)));

    const scanPass = (rethrow: boolean): Observable<DispatchPipelineOutcome> =>
      defer(() => {
        let items = 0;
        const pass = pullMap(
          store.scanUnsolved({ solvers, pageSize: options.pageSize }),
          (unsolved: UnsolvedItem) => {
            items += 1;
            return submit(itemFromUnsolved(unsolved));
          },
          { concurrency: options.pageSize, onInflight: (n) => gauge('scan', n) },
        );
        const done = defer(() => {
          metrics?.lastSuccessfulPass.set({ pipeline: PIPELINE }, scheduler.now() / 1000);
          return of<DispatchPipelineOutcome>({ kind: 'scan', items });
        });
        return concat(pass, done).pipe(
          catchError((error: unknown) => {
            gauge('scan', 0);
            log?.error({ pipeline: PIPELINE, err: error, items }, 'the unsolved scan failed');
            if (rethrow) throw error;
            return of<DispatchPipelineOutcome>({ kind: 'scan', items, error });
          }),
        );
      });

    // ---- wiring: every consumer of the watch is subscribed before it connects -------------
    const forward = {
      next: (outcome: DispatchPipelineOutcome) => subscriber.next(outcome),
      error: (error: unknown) => subscriber.error(error),
    };
    subscriber.add(dispatched$.subscribe(forward));
    subscriber.add(finished$.subscribe(forward));
    if (mode === 'continuous') {
      subscriber.add(messages$.subscribe(forward));
      subscriber.add(timer(0, options.scanIntervalMs, scheduler).pipe(exhaustMap(() => scanPass(false))).subscribe(forward));
    } else {
      subscriber.add(
        scanPass(true).subscribe({
          ...forward,
          complete: () => {
            scanDone = true;
            checkDone();
          },
        }),
      );
    }
    subscriber.add(watch.connect());

    return () => {
      stopped = true;
      stop$.next();
      stop$.complete();
    };
  });
}
