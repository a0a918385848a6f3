/**
 * The dispatch pipeline's store writes: each retried on retriable errors with a backoff in
 * scheduler time, and cut short by `stop()` (then it fails with DISPATCH_STOPPED, never
 * with an EmptyError). `attention` records an item that failed for good.
 */
import { defer, map, of, Subject, takeUntil, tap, throwError, throwIfEmpty, type Observable, type ObservableInput, type SchedulerLike } from 'rxjs';
import { PkgstreamError } from '../domain/errors.js';
import { retryEach } from '../operators/retry-backoff.js';
import type { Logger } from '../runtime/index.js';
import type { DispatchMetrics, DispatchStore } from './dispatch-ports.js';

const PIPELINE = 'dispatch' as const;

export interface StoreWriteOptions {
  readonly maxAttempts: number;
  readonly random: () => number;
  readonly scheduler: SchedulerLike;
  readonly metrics?: DispatchMetrics | undefined;
  readonly logger?: Logger | undefined;
}

const stoppedError = () => new PkgstreamError('DISPATCH_STOPPED', 'the dispatch pipeline was stopped');

export class StoreWrites {
  private readonly stop$ = new Subject<void>();
  private stopped = false;

  constructor(
    private readonly store: DispatchStore,
    private readonly options: StoreWriteOptions,
  ) {}

  /** `fn`'s first value, retried; fails with the last error, or DISPATCH_STOPPED when stopped meanwhile. */
  retrying<T>(fn: () => ObservableInput<T>): Observable<T> {
    const { maxAttempts, random, scheduler } = this.options;
    return defer(() => {
      if (this.stopped) return throwError(stoppedError);
      return of(null).pipe(
        retryEach(() => fn(), { maxAttempts, baseDelayMs: 500, maxDelayMs: 30_000, random, scheduler }),
        takeUntil(this.stop$),
        map((outcome) => {
          if (outcome.ok) return outcome.value;
          throw outcome.error;
        }),
        // A stop during the retries ends the stream empty: that is a stop, not an EmptyError.
        throwIfEmpty(stoppedError),
      );
    });
  }

  /** Emits once the item is in the attention table. */
  attention(itemKey: string, code: string, message: string, attempts: number, payload: unknown): Observable<void> {
    const { metrics, logger } = this.options;
    return this.retrying(() => this.store.recordAttention({ pipeline: PIPELINE, itemKey, errorCode: code, errorMessage: message, attempts, payload })).pipe(
      tap(() => {
        metrics?.attentionRecorded.inc({ pipeline: PIPELINE, code });
        logger?.warn({ pipeline: PIPELINE, itemKey, code, attempts }, `dispatch item to attention: ${message}`);
      }),
      map(() => undefined),
    );
  }

  /** Writes under way fail with DISPATCH_STOPPED, and so does every later one. */
  stop(): void {
    this.stopped = true;
    this.stop$.next();
    this.stop$.complete();
  }
}
