/**
 * `rateLimit`: a token bucket, optionally one per key (e.g. per index host).
 *
 * Contract:
 * - A bucket holds at most `burst` tokens, starts full and refills at `rate` tokens per
 *   second of scheduler time; an item leaves when its bucket has a token. So in any window
 *   of T seconds a key releases at most `burst + rate * T` items.
 * - Items are delayed, never dropped; items of one key leave in arrival order; keys do not
 *   wait for each other.
 * - `penalties` (e.g. a Subject fed by a 429 handler with its Retry-After) pauses a
 *   bucket: nothing of that key leaves before `now + ms`; then it resumes with one token
 *   and refills at `rate` (no burst right after a penalty). Penalties only lengthen a pause.
 * - `limits` (e.g. the rate shared by the live replicas) replaces `rate` and `burst` for
 *   every bucket from then on: the tokens earned so far are counted at the old rate, a
 *   bucket holds no more than the new burst, and held items are rescheduled; a bucket made
 *   after limits with `startEmpty` starts with no token (a replica joining others that
 *   spent their burst must not add a fresh one of its own).
 * - `onWait(ms, key)` is called for every item as it leaves with the time it waited;
 *   `onInflight(n)` with the number of items held.
 * - Completes when the source has and every held item left; a source error errors at
 *   once (held items are discarded); unsubscription cancels the timers.
 * - Keys should come from a bounded set (hosts): a bucket is kept per key seen.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { Alarm } from './alarm.js';
import { requireNumber } from './option-range.js';
import { RateLimitQueue, type RateLimits } from './rate-limit-queue.js';

export type { RateLimits } from './rate-limit-queue.js';

export interface RateLimitPenalty<K> {
  readonly key: K;
  readonly ms: number;
}

export interface RateLimitOptions<T, K> {
  /** Tokens per second (> 0). */
  readonly rate: number;
  /** Bucket size (>= 1). */
  readonly burst: number;
  /** One bucket per key; default: one bucket for everything (key `undefined`). */
  readonly key?: (item: T) => K;
  readonly penalties?: Observable<RateLimitPenalty<K>>;
  readonly limits?: Observable<RateLimits>;
  readonly scheduler?: SchedulerLike;
  readonly onWait?: (waitedMs: number, key: K) => void;
  readonly onInflight?: (held: number) => void;
}

export function rateLimit<T, K = undefined>(options: RateLimitOptions<T, K>): OperatorFunction<T, T> {
  const { penalties, limits, onWait, onInflight } = options;
  const keyOf = options.key ?? ((): K => undefined as K);
  const scheduler = options.scheduler ?? asyncScheduler;
  checkLimits(options);

  return (source) =>
    new Observable<T>((subscriber) => {
      const queue = new RateLimitQueue<T, K>(options);
      const alarms = new Map<K, Alarm>(); // one per key seen, as the buckets
      let sourceDone = false;
      const completeIfDone = (): void => {
        if (sourceDone && queue.held === 0) subscriber.complete();
      };

      // Releases what the key's bucket allows now, then sleeps until its next token.
      const serve = (key: K): void => {
        const now = scheduler.now();
        for (let out = queue.release(key, now); out; out = queue.release(key, now)) {
          onInflight?.(queue.held);
          onWait?.(out.waitedMs, key);
          subscriber.next(out.item);
        }
        alarmOf(key).set(queue.nextAt(key, now), now);
        completeIfDone();
      };
      const alarmOf = (key: K): Alarm => {
        let alarm = alarms.get(key);
        if (!alarm) alarms.set(key, (alarm = new Alarm(scheduler, subscriber, () => serve(key))));
        return alarm;
      };

      const retune = (next: RateLimits): void => {
        try {
          checkLimits(next);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        for (const key of queue.retune(scheduler.now(), next)) serve(key);
      };
      const pause = ({ key, ms }: RateLimitPenalty<K>): void => {
        if (queue.pause(key, scheduler.now(), ms)) serve(key);
      };
      const hold = (item: T): void => {
        const key = keyOf(item);
        const first = queue.push(key, item, scheduler.now());
        onInflight?.(queue.held);
        if (first) serve(key);
      };
      const sourceEnded = (): void => {
        sourceDone = true;
        completeIfDone();
      };
      const fail = (error: unknown): void => subscriber.error(error);

      if (limits) subscriber.add(limits.subscribe({ next: retune, error: fail }));
      if (penalties) subscriber.add(penalties.subscribe({ next: pause, error: fail }));
      subscriber.add(source.subscribe({ next: hold, error: fail, complete: sourceEnded }));
    });
}

function checkLimits({ rate, burst }: RateLimits): void {
  requireNumber('rateLimit', 'rate', rate, 0, false);
  requireNumber('rateLimit', 'burst', burst, 1, true);
}
