/** The update pipeline's options, checked once when a pass or the pipeline is made. */
import type { Observable, SchedulerLike } from 'rxjs';
import { requireInteger, requireNumber } from '../../operators/option-range.js';
import type { Logger } from '../../runtime/logger.js';
import type { Metrics } from '../../runtime/metrics.js';
import type { ProgressOptions } from '../pass-progress.js';
import type { RetryPolicy } from '../project-fetcher.js';

export const UPDATE_PIPELINE = 'update';

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

export function validate(options: UpdateOptions): void {
  const { concurrency, pageSize, deferOnFailureMs } = options;
  requireInteger('update', 'concurrency', concurrency);
  requireInteger('update', 'pageSize', pageSize);
  requireNumber('update', 'deferOnFailureMs', deferOnFailureMs, 0, true);
}

/** The retry policy with the scheduler and jitter of the pass, as `retryEach` takes it. */
export const retryOf = (options: UpdateOptions, scheduler: SchedulerLike) => ({
  ...options.retry,
  scheduler,
  ...(options.random ? { random: options.random } : {}),
});
