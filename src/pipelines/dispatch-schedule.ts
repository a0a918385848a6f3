/**
 * The dispatch step: dedupe by `index_url|project|version|solver` (a bounded LRU; a repeat
 * of an item in flight waits for that item's outcome) → solverDispatch (capacity against
 * the Jobs watch's active count) → `jobs.schedule` → `store.recordScheduled` and its
 * `solver-scheduled` event. Re-runs of failed Jobs join after the dedupe.
 */
import { filter, finalize, map, merge, mergeMap, of, takeLast, tap, type Observable } from 'rxjs';
import { hasCode } from '../domain/errors.js';
import type { JobsWatchEvent } from '../domain/ports.js';
import type { JobStatus } from '../domain/types.js';
import { dedupe } from '../operators/dedupe.js';
import { solverDispatch } from '../operators/solver-dispatch.js';
import { holdWork, PIPELINE, type DispatchContext, type Work } from './dispatch-context.js';
import { dispatchItemKey, jobRequest } from './dispatch-items.js';
import type { DispatchPipelineOutcome } from './dispatch-ports.js';
import { recordDispatch, type ScheduleResult } from './dispatch-record.js';

/** The watch's active counts. */
export const activeCounts = (watch: Observable<JobsWatchEvent>): Observable<number> =>
  watch.pipe(
    filter((event): event is Extract<JobsWatchEvent, { type: 'active' }> => event.type === 'active'),
    map((event) => event.count),
  );

/** The watch's finished Jobs. */
export const finishedJobs = (watch: Observable<JobsWatchEvent>): Observable<JobStatus> =>
  watch.pipe(
    filter((event): event is Extract<JobsWatchEvent, { type: 'finished' }> => event.type === 'finished'),
    map((event) => event.job),
    filter((job) => job.phase !== 'active'),
  );

/** Fresh items past the dedupe, and re-runs, each held until it has its outcome. */
export function dedupedWork(context: DispatchContext): Observable<Work> {
  const { fresh, retries, options, scheduler, metrics, waiters } = context;
  const deduped = fresh.pipe(
    dedupe({
      key: (work: Work) => dispatchItemKey(work.item),
      max: options.dedupeMax,
      scheduler,
      onDropped: (work, key) => {
        metrics?.dedupeDropped.inc({ pipeline: PIPELINE, stage: 'dedupe' });
        waiters.dropped(key, work.settled);
      },
    }),
  );
  return merge(deduped, retries).pipe(tap((work) => holdWork(context, work)));
}

/** Schedules each item within the capacity and records what came of it. */
export function scheduleJobs(context: DispatchContext, active: Observable<number>, finished: Observable<JobStatus>) {
  const { options, jobs, stage, scheduler, gauge, waiters } = context;
  return (work$: Observable<Work>): Observable<DispatchPipelineOutcome> =>
    work$.pipe(
      solverDispatch<Work, ScheduleResult>({
        // The last value: solverDispatch takes the first, and the stage must see its completion.
        schedule: (work) => stage('schedule', work.item, (item) => jobs.schedule(jobRequest(item))).pipe(takeLast(1)),
        capacity: of(options.capacity),
        active,
        jobName: (result) => (result.outcome === 'dry-run' ? null : result.jobName),
        finished: finished.pipe(map((job) => job.name)),
        concurrency: options.concurrency,
        maxAttempts: options.scheduleMaxAttempts ?? 10,
        // A full quota or a 429 is backpressure, not a failing item: it never uses up attempts.
        isRefusal: (error) => hasCode(error, 'JOB_QUOTA', 'JOB_RATE_LIMITED'),
        random: options.random ?? Math.random,
        scheduler,
        onInflight: (n) => gauge('schedule', n),
      }),
      mergeMap(
        (outcome) =>
          stage('record', outcome, (o) => recordDispatch(context, o), (result) => result.type === 'failed').pipe(
            tap({ complete: () => waiters.settle(dispatchItemKey(outcome.item.item)) }),
          ),
        options.concurrency,
      ),
    );
}

/** Handles each finished Job, `concurrency` at once; `dispatchOnce` waits for them. */
export function recordFinishes(context: DispatchContext, handle: (job: JobStatus) => Observable<DispatchPipelineOutcome>) {
  const { options, gauge, drain, stage } = context;
  let finishing = 0;
  return (finished$: Observable<JobStatus>): Observable<DispatchPipelineOutcome> =>
    finished$.pipe(
      mergeMap((job) => {
        drain.started();
        gauge('finished', ++finishing);
        return stage('finished', job, handle).pipe(
          finalize(() => {
            gauge('finished', --finishing);
            drain.ended();
          }),
        );
      }, options.concurrency),
    );
}
