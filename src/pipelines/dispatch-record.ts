/**
 * What a create call's outcome becomes: `store.recordScheduled` with its `solver-scheduled`
 * event (`exists`, a 409, counts as scheduled; `dry-run` writes nothing), or attention when
 * the call failed for good, the re-run got the failed Job's name, or recording failed.
 */
import { catchError, map, of, tap, type Observable } from 'rxjs';
import { errorCode, PkgstreamError, errorMessage } from '../domain/errors.js';
import type { DispatchOutcome } from '../operators/solver-dispatch.js';
import type { DispatchContext, Work } from './dispatch-context.js';
import { dispatchItemKey, scheduledEvent, type DispatchItem } from './dispatch-items.js';
import type { JobOutcome } from '../domain/types.js';
import type { DispatchPipelineOutcome } from './dispatch-ports.js';

export interface ScheduleResult {
  readonly jobName: string;
  readonly outcome: JobOutcome;
}


export function recordDispatch(context: DispatchContext, outcome: DispatchOutcome<Work, ScheduleResult>): Observable<DispatchPipelineOutcome> {
  const { item, retryOf } = outcome.item;
  const key = dispatchItemKey(item);
  if (!outcome.ok) {
    const code = errorCode(outcome.error);
    return context.writes
      .attention(key, code, `creating the solver Job failed: ${errorMessage(outcome.error)}`, outcome.attempts, { ...item, stage: 'schedule' })
      .pipe(map(() => ({ type: 'failed', item, errorCode: code, error: outcome.error, attempts: outcome.attempts })));
  }
  const { jobName } = outcome.value;
  if (outcome.value.outcome === 'dry-run') return of({ type: 'dry-run', item, jobName });
  if (retryOf !== undefined && jobName === retryOf) {
    // The Job sink gave the re-run the failed Job's name: it cannot run again.
    const error = new PkgstreamError('JOB_FAILED', `solver Job ${jobName} failed and its re-run got the same name`);
    const attempts = item.attempt ?? 1;
    return context.writes
      .attention(key, error.code, error.message, attempts, { ...item, jobName })
      .pipe(map(() => ({ type: 'failed', item, errorCode: error.code, error, attempts, jobName })));
  }
  return recordScheduled(context, item, jobName, outcome.value.outcome);
}

function recordScheduled(context: DispatchContext, item: DispatchItem, jobName: string, created: 'created' | 'exists'): Observable<DispatchPipelineOutcome> {
  const { writes, launched, store } = context;
  const resolveRecorded = launched.launch(jobName, item);
  const event = scheduledEvent(item, jobName);
  return writes.retrying(() => store.recordScheduled({ releaseId: item.releaseId, solver: item.solver, jobName, event })).pipe(
    tap(({ attempts }) => {
      resolveRecorded(attempts);
      // The watch reported it finished before its run was recorded: handle that finish now.
      const early = launched.takeUnmatched(jobName);
      if (early) context.refinish.next(early);
    }),
    map(({ attempts }): DispatchPipelineOutcome => ({ type: 'scheduled', item, jobName, outcome: created, runAttempts: attempts })),
    catchError((error: unknown) => {
      resolveRecorded(null);
      const code = errorCode(error);
      return writes
        .attention(dispatchItemKey(item), code, `recording the solver Job ${jobName} failed: ${errorMessage(error)}`, 1, { ...item, jobName, stage: 'record' })
        .pipe(map((): DispatchPipelineOutcome => ({ type: 'failed', item, errorCode: code, error, attempts: 1, jobName })));
    }),
  );
}
