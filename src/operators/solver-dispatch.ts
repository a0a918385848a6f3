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
import { asyncScheduler, defer, Observable, Subscription, take, throwIfEmpty, type ObservableInput, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { DispatchPause } from './dispatch-pause.js';
import { hasRetriableFlag, type RetryOutcome } from './retry-backoff.js';
import { SolverSlots } from './solver-slots.js';
import { trampoline } from './trampoline.js';
import { requireInteger } from './option-range.js';

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
      const queue: { item: T; attempts: number }[] = [];
      let limit: number | null = null;
      const slots = new SolverSlots(confirmTimeoutMs);
      const pause = new DispatchPause({ baseDelayMs, maxDelayMs, random });
      let timer: Subscription | null = null;
      let sourceDone = false;

      // One timer: the end of the pause or the oldest expectation's deadline, whichever first.
      // `now` is the pass's own: read again, the clock may have passed the end of a pause the
      // pass still saw (Node fires timers on whole ms), and no timer would be left (11.19).
      const arm = (now: number): void => {
        timer?.unsubscribe();
        timer = null;
        const due = Math.min(pause.deadline(now), slots.nextDeadline());
        if (due === Infinity || subscriber.closed) return;
        const t: Subscription = scheduler.schedule(() => {
          subscriber.remove(t);
          timer = null;
          pump();
        }, Math.max(0, due - now));
        timer = t;
        subscriber.add(t);
      };

      const start = (entry: { item: T; attempts: number }): void => {
        slots.callStarted();
        entry.attempts += 1;
        let value: R | undefined;
        const holder = new Subscription(); // removed when the call ends: no growth over time
        subscriber.add(holder);
        holder.add(
          defer(() => schedule(entry.item))
            .pipe(take(1), throwIfEmpty())
            .subscribe({
              next: (v) => (value = v),
              error: (error: unknown) => {
                subscriber.remove(holder);
                slots.callFailed();
                const refusal = isRetriable(error) && isRefusal(error);
                if (refusal) entry.attempts -= 1; // backpressure, not the item's fault
                if (isRetriable(error) && entry.attempts < maxAttempts) {
                  pause.failed(scheduler.now(), error, refusal);
                  queue.unshift(entry);
                } else {
                  subscriber.next({ ok: false, item: entry.item, error, attempts: entry.attempts });
                }
                pump();
              },
              complete: () => {
                subscriber.remove(holder);
                slots.callCreated(scheduler.now(), jobName(value as R));
                pause.succeeded();
                subscriber.next({ ok: true, item: entry.item, value: value as R, attempts: entry.attempts });
                pump();
              },
            }),
        );
      };

      const pump = trampoline(() => {
        const now = scheduler.now();
        slots.expire(now);
        while (
          !subscriber.closed && queue.length > 0 && limit !== null && slots.watched !== null &&
          !pause.isPaused(now) && slots.inFlight < concurrency && slots.used() < limit
        ) {
          start(queue.shift()!);
        }
        onInflight?.(queue.length + slots.inFlight);
        if (sourceDone && queue.length === 0 && slots.inFlight === 0) subscriber.complete();
        else arm(now);
      });

      const follow = <V>(input: Observable<V>, next: (v: V) => void, complete?: () => void): void => {
        const sub = input.subscribe({
          next: (v) => (next(v), pump()),
          error: (error: unknown) => subscriber.error(error),
          complete: () => complete && (complete(), pump()), // capacity and active keep their last value
        });
        subscriber.add(sub);
      };
      follow(options.capacity, (n) => (limit = n));
      // A Job finished: the room a quota refused may be there now.
      follow(options.active, (n) => slots.watch(n) && pause.jobFinished());
      if (options.finished) follow(options.finished, (name) => slots.finished(name));
      follow(source, (item) => queue.push({ item, attempts: 0 }), () => (sourceDone = true));
    });
}
