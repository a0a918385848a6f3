/**
 * What happens to a project that still fails after its retries: it goes to the attention
 * table (`indexUrl|project`), each of its due rows seen in the pass is deferred to
 * `now + deferOnFailureMs`, and the pass goes on with a `failed` outcome. Neither write
 * failing stops that: each is only logged (an undeferred row is just due again).
 */
import { catchError, concat, concatMap, defer, EMPTY, from, ignoreElements, of, tap, type Observable, type SchedulerLike } from 'rxjs';
import { errorCode, errorMessage } from '../../domain/errors.js';
import type { ProjectRef } from '../../domain/types.js';
import type { Logger } from '../../runtime/logger.js';
import type { Metrics } from '../../runtime/metrics.js';
import { UPDATE_PIPELINE as pipeline } from './options.js';
import type { FailedOutcome, FailStage } from './outcome.js';
import type { PassStore } from './ports.js';

export interface FailureRecorderContext {
  readonly store: Pick<PassStore, 'recordAttention' | 'deferCheck'>;
  readonly scheduler: SchedulerLike;
  readonly deferOnFailureMs: number;
  readonly metrics?: Pick<Metrics, 'attentionRecorded'> | undefined;
  readonly logger?: Logger | undefined;
}

export interface Failure {
  readonly stage: FailStage;
  readonly error: unknown;
  readonly attempts: number;
}

export class FailureRecorder {
  constructor(private readonly context: FailureRecorderContext) {}

  /** Records the failure, defers the rows, then emits the `failed` outcome. */
  fail(ref: ProjectRef, failure: Failure, rowIds: readonly number[]): Observable<FailedOutcome> {
    const { stage, error, attempts } = failure;
    const code = errorCode(error);
    const message = errorMessage(error);
    const outcome: FailedOutcome = { type: 'failed', indexUrl: ref.indexUrl, project: ref.project, stage, errorCode: code, error, attempts };
    const logged = defer(() => {
      this.context.logger?.warn({ pipeline, indexUrl: ref.indexUrl, project: ref.project, stage, code, attempts, message }, 'update: project failed');
      return of(outcome);
    });
    return concat(this.attention(ref, failure, code, message), this.deferRows(rowIds), logged);
  }

  /** Defers each row, one after the other, to `now + deferOnFailureMs`. */
  deferRows(rowIds: readonly number[]): Observable<never> {
    const { store, scheduler, deferOnFailureMs, logger } = this.context;
    return defer(() => {
      const until = new Date(scheduler.now() + deferOnFailureMs);
      return from(rowIds).pipe(
        concatMap((releaseId) =>
          defer(() => store.deferCheck(releaseId, until)).pipe(
            catchError((error: unknown) => {
              logger?.warn({ err: error, pipeline, releaseId }, 'update: could not defer a failed row');
              return EMPTY;
            }),
          ),
        ),
        ignoreElements(),
      );
    });
  }

  private attention(ref: ProjectRef, failure: Failure, code: string, message: string): Observable<never> {
    const { store, scheduler, metrics, logger } = this.context;
    return defer(() =>
      store.recordAttention({
        pipeline,
        itemKey: `${ref.indexUrl}|${ref.project}`,
        errorCode: code,
        errorMessage: message,
        attempts: failure.attempts,
        payload: { stage: failure.stage, indexId: ref.indexId, project: ref.project },
        failedAt: new Date(scheduler.now()),
      }),
    ).pipe(
      tap({ complete: () => metrics?.attentionRecorded.inc({ pipeline, code }) }),
      catchError((error: unknown) => {
        logger?.error({ err: error, pipeline, project: ref.project }, 'update: could not record attention');
        return EMPTY;
      }),
      ignoreElements(),
    );
  }
}
