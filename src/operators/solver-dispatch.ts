/**
 * `solverDispatch`: start solver Jobs without ever having more active than the capacity.
 *
 * Inputs: `capacity` (the configured limit, may change) and `active` (the Jobs watch's
 * count of active solver Jobs, which includes the Jobs this dispatcher created). Nothing
 * is scheduled before both have emitted. `schedule(item)` is called only while the slots
 * in use (`SolverSlots`: the watch's count plus calls in flight plus created Jobs the watch
 * has not shown yet, for at most `confirmTimeoutMs`) are below `capacity` and fewer than
 * `concurrency` calls are in flight. Assumes one dispatcher per capacity pool: a rise
 * caused by someone else is taken for ours.
 *
 * - A call that fails with a retriable error (quota exceeded, 429) puts its item back at
 *   the head of the queue and pauses all calls for a full-jitter backoff in scheduler time
 *   (or the error's `retryAfterMs` if longer); after `maxAttempts` it is a failure outcome.
 *   A refusal (`isRefusal`: the cluster is full, not the item wrong) waits the same way but
 *   uses up none of the item's attempts: it is backpressure, and the item waits its turn.
 * - Outcomes: `{ ok: true, item, value, attempts }` when `schedule` emits (its first value),
 *   `{ ok: false, item, error, attempts }` when it fails for good; the stream itself errors
 *   only if the source, `capacity` or `active` do.
 * - Completes when the source has and every item has had its outcome; unsubscription
 *   cancels the calls and timers. `onInflight(n)`: items held (queued or being scheduled).
 */
import { asyncScheduler, defer, Observable, take, throwIfEmpty, type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscriber } from 'rxjs';
import { Alarm } from './alarm.js';
import { DispatchPause } from './dispatch-pause.js';
import { DispatchQueue, type DispatchAttempt } from './dispatch-queue.js';
import { subscribeInner } from './inner-subscription.js';
import { requireInteger } from './option-range.js';
import { hasRetriableFlag, type RetryOutcome } from './retry-backoff.js';
import { SolverSlots } from './solver-slots.js';
import { trampoline } from './trampoline.js';

export type DispatchOutcome<T, R> = RetryOutcome<T, R>;

export interface SolverDispatchOptions<T, R> {
  readonly schedule: (item: T) => ObservableInput<R>;
  /** Most Jobs that may be active at once, in total. */
  readonly capacity: Observable<number>;
  /** Active Jobs as the Jobs watch counts them. */
  readonly active: Observable<number>;
  /** Most `schedule` calls at once (default 4). */
  readonly concurrency?: number;
  /** How long a created Job is counted while the watch does not show it (default 60 s). */
  readonly confirmTimeoutMs?: number;
  /**
   * The name of the Job a call's value created, or null when it created nothing the watch
   * will show (a dry run): such a call holds no slot. Default: an unnamed Job.
   */
  readonly jobName?: (value: R) => string | null;
  /** Names of Jobs the watch reports finished: settles their slot even if the count never rose. */
  readonly finished?: Observable<string>;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly isRetriable?: (error: unknown) => boolean;
  /** Retriable errors that mean "full, come back later" (default none). */
  readonly isRefusal?: (error: unknown) => boolean;
  readonly random?: () => number;
  readonly scheduler?: SchedulerLike;
  readonly onInflight?: (held: number) => void;
}

export function solverDispatch<T, R>(options: SolverDispatchOptions<T, R>): OperatorFunction<T, DispatchOutcome<T, R>> {
  const { schedule, onInflight, concurrency = 4, confirmTimeoutMs = 60_000, maxAttempts = 10 } = options;
  const { baseDelayMs = 1_000, maxDelayMs = 60_000, random = Math.random, scheduler = asyncScheduler } = options;
  const { isRetriable = hasRetriableFlag, isRefusal = () => false, jobName = () => '' } = options;
  requireInteger('solverDispatch', 'concurrency', concurrency);

  return (source) =>
    new Observable<DispatchOutcome<T, R>>((subscriber) => {
      const queue = new DispatchQueue<T>(maxAttempts);
      const slots = new SolverSlots(confirmTimeoutMs);
      const pause = new DispatchPause({ baseDelayMs, maxDelayMs, random });
      // One timer: the end of the pause or the oldest expectation's deadline, whichever first.
      const alarm = new Alarm(scheduler, subscriber, () => pump());
      let limit: number | null = null;
      let sourceDone = false;

      const call = (attempt: DispatchAttempt<T>): void => {
        slots.callStarted();
        let value: R | undefined;
        subscribeInner(subscriber, defer(() => schedule(attempt.item)).pipe(take(1), throwIfEmpty()), {
          next: (v) => (value = v),
          error: (error) => {
            slots.callFailed();
            const retriable = isRetriable(error);
            const refusal = retriable && isRefusal(error);
            const { retried, attempts } = queue.callFailed(attempt, retriable, refusal);
            if (retried) pause.failed(scheduler.now(), error, refusal);
            else subscriber.next({ ok: false, item: attempt.item, error, attempts });
            pump();
          },
          complete: () => {
            slots.callCreated(scheduler.now(), jobName(value as R));
            pause.succeeded();
            subscriber.next({ ok: true, item: attempt.item, value: value as R, attempts: attempt.attempts });
            pump();
          },
        });
      };

      const mayCall = (now: number): boolean =>
        !subscriber.closed && queue.length > 0 && limit !== null && slots.watched !== null &&
        !pause.isPaused(now) && slots.inFlight < concurrency && slots.used() < limit;
      // One reading of the clock per pass, the alarm's too (see Alarm.set: issue 11.19).
      const pump = trampoline(() => {
        const now = scheduler.now();
        slots.expire(now);
        while (mayCall(now)) call(queue.startCall()!);
        onInflight?.(queue.length + slots.inFlight);
        if (sourceDone && queue.length === 0 && slots.inFlight === 0) subscriber.complete();
        else alarm.set(Math.min(pause.deadline(now), slots.nextDeadline()), now);
      });

      follow(subscriber, pump, options.capacity, (n) => (limit = n));
      // A Job finished: the room a quota refused may be there now.
      follow(subscriber, pump, options.active, (n) => slots.watch(n) && pause.jobFinished());
      if (options.finished) follow(subscriber, pump, options.finished, (name) => slots.finished(name));
      follow(subscriber, pump, source, (item) => queue.push(item), () => (sourceDone = true));
    });
}

/** Follows one input of the dispatcher: a pass after each value; its error is the dispatcher's. */
function follow<V>(subscriber: Subscriber<unknown>, pump: () => void, input: Observable<V>, next: (v: V) => void, complete?: () => void): void {
  const sub = input.subscribe({
    next: (v) => (next(v), pump()),
    error: (error: unknown) => subscriber.error(error),
    complete: () => complete && (complete(), pump()), // capacity and active keep their last value
  });
  subscriber.add(sub);
}
