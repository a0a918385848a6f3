/**
 * What a finished Job becomes: `store.recordFinished` with its `solver-finished` event; a
 * failed Job is re-run (its item with `attempt` + 1, which the Job sink puts into the name)
 * while the run's attempts are below `maxJobAttempts`, then goes to attention (`JOB_FAILED`).
 * A Job this process did not create (after a restart) is traced by its annotations.
 */
import { defer, map, mergeMap, of, type Observable } from 'rxjs';
import type { JobStatus } from '../domain/types.js';
import { PIPELINE, rerun, type DispatchContext } from './dispatch-context.js';
import { describeJob, dispatchItemKey, finishedEvent, itemsOfRelease, resolveRelease, type DispatchItem } from './dispatch-items.js';
import type { DispatchPipelineOutcome } from './dispatch-ports.js';
import type { Launched } from './launched-jobs.js';

type Phase = 'succeeded' | 'failed';
type Described = Omit<DispatchItem, 'releaseId' | 'attempt'>;
type Finished = Extract<DispatchPipelineOutcome, { type: 'finished' }>;

export function handleFinished(context: DispatchContext, job: JobStatus): Observable<DispatchPipelineOutcome> {
  const phase: Phase = job.phase === 'failed' ? 'failed' : 'succeeded';
  const known = context.launched.get(job.name);
  const described = known?.item ?? describeJob(job);
  return (known ? known.recorded : of(null)).pipe(
    mergeMap((knownAttempts) =>
      context.writes.retrying(() => context.store.recordFinished(finishRecord(job, phase, known, described))).pipe(
        mergeMap((recorded) => (recorded ? afterRecorded(context, job, phase, known, described, knownAttempts) : of(notRecorded(context, job, phase, known)))),
      ),
    ),
  );
}

function finishRecord(job: JobStatus, phase: Phase, known: Launched | undefined, described: Described | null) {
  return {
    jobName: job.name,
    phase,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    ...(known ? { releaseId: known.item.releaseId, solver: known.item.solver } : {}),
    ...(described ? { event: finishedEvent(described, job, phase) } : {}),
  };
}

function notRecorded(context: DispatchContext, job: JobStatus, phase: Phase, known: Launched | undefined): Finished {
  const base = { type: 'finished', jobName: job.name, phase, recorded: false, next: 'none' } as const;
  if (!known && context.launched.get(job.name)) {
    // Its create call answered while this finish was being recorded (the Job finished
    // before the call returned): the run may be recorded by now, so finish it again.
    context.refinish.next(job);
    return { ...base, item: null };
  }
  context.launched.unmatchedFinish(job);
  context.log?.info({ pipeline: PIPELINE, job: job.name, phase }, 'finished solver Job matches no recorded solver run');
  return { ...base, item: known?.item ?? null };
}

function afterRecorded(
  context: DispatchContext,
  job: JobStatus,
  phase: Phase,
  known: Launched | undefined,
  described: Described | null,
  knownAttempts: number | null,
): Observable<DispatchPipelineOutcome> {
  const base = { type: 'finished', jobName: job.name, phase, recorded: true } as const;
  context.launched.forget(job.name);
  if (phase === 'succeeded') return of({ ...base, item: known?.item ?? null, next: 'none' });
  return (known ? of(known.item) : described ? storedItem(context, described) : of(null)).pipe(
    mergeMap((item) => {
      if (item) return failedJob(context, job, item, knownAttempts);
      const key = described ? dispatchItemKey(described) : job.name;
      return context.writes
        .attention(key, 'JOB_FAILED', `solver Job ${job.name} failed; its release is not known`, 1, { jobName: job.name })
        .pipe(map((): DispatchPipelineOutcome => ({ ...base, item: null, next: 'attention' })));
    }),
  );
}

/** The work item of a Job this process did not create, from its annotations and the store. */
function storedItem(context: DispatchContext, described: Described): Observable<DispatchItem | null> {
  return context.writes
    .retrying(() => resolveRelease(context.store, described.indexUrl, described.project, described.version))
    .pipe(map((stored) => (stored ? (itemsOfRelease(stored, [described.solver])[0] ?? null) : null)));
}

/** A failed Job: re-run while attempts are left, else attention. */
function failedJob(context: DispatchContext, job: JobStatus, item: DispatchItem, knownAttempts: number | null): Observable<DispatchPipelineOutcome> {
  const { writes, store, options } = context;
  const base = { type: 'finished', jobName: job.name, phase: 'failed', recorded: true, item } as const;
  const attempts$ =
    knownAttempts !== null
      ? of(knownAttempts)
      : writes.retrying(() => store.recordScheduled({ releaseId: item.releaseId, solver: item.solver, jobName: job.name })).pipe(map((run) => run.attempts));
  return attempts$.pipe(
    mergeMap((attempts) => {
      if (attempts < options.maxJobAttempts) {
        return defer(() => {
          rerun(context, { ...item, attempt: attempts + 1 }, job.name);
          return of<DispatchPipelineOutcome>({ ...base, next: 'retry' });
        });
      }
      const message = `solver Job ${job.name} failed (${attempts} of ${options.maxJobAttempts} attempts)`;
      return writes
        .attention(dispatchItemKey(item), 'JOB_FAILED', message, attempts, { ...item, jobName: job.name })
        .pipe(map((): DispatchPipelineOutcome => ({ ...base, next: 'attention' })));
    }),
  );
}
