/**
 * `retryEach`: run `fn(item)` per item with retries; every item ends as one typed outcome.
 *
 * Contract:
 * - `fn(item, attempt)` (attempt 1, 2, ...) is subscribed afresh each attempt; its first
 *   value is the result. Completing without a value is a failure (rxjs `EmptyError`).
 * - A failure is retried while `isRetriable(error)` (default: the error's `retriable` flag,
 *   as on `PkgstreamError`) and fewer than `maxAttempts` attempts were made.
 * - Before retry n (n = 1, 2, ...) it waits, in scheduler time, the service's backoff
 *   (domain/backoff.ts: full jitter, or the error's Retry-After when that is longer).
 * - The stream never errors because of an item: success emits
 *   `{ ok: true, item, value, attempts }`, final failure `{ ok: false, item, error, attempts }`.
 *   An error of the source itself is passed on.
 * - Items run `concurrency` at a time (default 1: in order); unsubscription cancels the
 *   running attempts and the backoff timers.
 */
import {
  asyncScheduler,
  catchError,
  defer,
  map,
  mergeMap,
  of,
  retry,
  take,
  throwError,
  throwIfEmpty,
  timer,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { backoffDelay } from '../domain/backoff.js';
import { requireInteger } from './option-range.js';

export type RetryOutcome<T, R> =
  | { readonly ok: true; readonly item: T; readonly value: R; readonly attempts: number }
  | { readonly ok: false; readonly item: T; readonly error: unknown; readonly attempts: number };

export interface RetryEachOptions<T> {
  /** Attempts in all, the first included; an integer >= 1. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly isRetriable?: (error: unknown) => boolean;
  /** In [0, 1); injected for tests (default Math.random). */
  readonly random?: () => number;
  readonly scheduler?: SchedulerLike;
  /** Items at once (default 1). */
  readonly concurrency?: number;
  readonly onRetry?: (info: { readonly item: T; readonly error: unknown; readonly attempt: number; readonly delayMs: number }) => void;
}

/** Default predicate: the error says `retriable: true` (as `PkgstreamError` does). */
export function hasRetriableFlag(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
}

export function retryEach<T, R>(
  fn: (item: T, attempt: number) => ObservableInput<R>,
  options: RetryEachOptions<T>,
): OperatorFunction<T, RetryOutcome<T, R>> {
  const { maxAttempts, baseDelayMs, maxDelayMs, onRetry } = options;
  const isRetriable = options.isRetriable ?? hasRetriableFlag;
  const random = options.random ?? Math.random;
  const scheduler = options.scheduler ?? asyncScheduler;
  requireInteger('retryEach', 'maxAttempts', maxAttempts);

  const attemptAll = (item: T) =>
    defer(() => {
      let attempts = 0;
      return defer(() => fn(item, ++attempts)).pipe(
        take(1),
        throwIfEmpty(),
        retry({
          count: maxAttempts - 1,
          delay: (error: unknown, retryNumber: number) => {
            if (!isRetriable(error)) return throwError(() => error);
            const delayMs = backoffDelay(retryNumber, error, { baseDelayMs, maxDelayMs, random });
            onRetry?.({ item, error, attempt: attempts, delayMs });
            return timer(delayMs, scheduler);
          },
        }),
        map((value): RetryOutcome<T, R> => ({ ok: true, item, value, attempts })),
        catchError((error: unknown) => of<RetryOutcome<T, R>>({ ok: false, item, error, attempts })),
      );
    });

  return mergeMap(attemptAll, options.concurrency ?? 1);
}
