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
import { asyncScheduler, Observable, Subscription, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { requireNumber } from './option-range.js';

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

export interface RateLimits {
  readonly rate: number;
  readonly burst: number;
  /** Buckets made from now on start with no token instead of a full burst. */
  readonly startEmpty?: boolean;
}

interface Bucket<T> {
  tokens: number;
  /** Time tokens were last counted; refill starts from here (may be in the future after a penalty). */
  updatedAt: number;
  readonly queue: { readonly item: T; readonly at: number }[];
  timer: Subscription | null;
}

const EPSILON = 1e-9;

export function rateLimit<T, K = undefined>(options: RateLimitOptions<T, K>): OperatorFunction<T, T> {
  const { penalties, limits, onWait, onInflight } = options;
  const keyOf = options.key ?? ((): K => undefined as K);
  const scheduler = options.scheduler ?? asyncScheduler;
  checkLimits(options);

  return (source) =>
    new Observable<T>((subscriber) => {
      let { burst } = options;
      let startTokens = burst;
      let interval = 1000 / options.rate;
      const buckets = new Map<K, Bucket<T>>();
      let held = 0;
      let sourceDone = false;

      const bucketOf = (key: K): Bucket<T> => {
        let bucket = buckets.get(key);
        if (!bucket) {
          bucket = { tokens: startTokens, updatedAt: scheduler.now(), queue: [], timer: null };
          buckets.set(key, bucket);
        }
        return bucket;
      };

      const refill = (bucket: Bucket<T>, now: number): void => {
        if (now > bucket.updatedAt) {
          bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) / interval);
          bucket.updatedAt = now;
        }
      };

      const maybeComplete = (): void => {
        if (sourceDone && held === 0) subscriber.complete();
      };

      // Releases what the bucket allows now, then sleeps until its next token.
      const serve = (key: K, bucket: Bucket<T>): void => {
        const now = scheduler.now();
        refill(bucket, now);
        while (bucket.queue.length > 0 && now >= bucket.updatedAt && bucket.tokens >= 1 - EPSILON) {
          const { item, at } = bucket.queue.shift()!;
          bucket.tokens -= 1;
          held -= 1;
          onInflight?.(held);
          onWait?.(now - at, key);
          subscriber.next(item);
        }
        bucket.timer?.unsubscribe();
        bucket.timer = null;
        if (bucket.queue.length > 0 && !subscriber.closed) {
          const due = Math.max(bucket.updatedAt, now) + Math.max(0, 1 - bucket.tokens) * interval;
          const timer = scheduler.schedule(() => {
            subscriber.remove(timer);
            bucket.timer = null;
            serve(key, bucket);
          }, due - now);
          bucket.timer = timer;
          subscriber.add(timer);
        }
        maybeComplete();
      };

      if (limits) {
        subscriber.add(
          limits.subscribe({
            next: (next) => {
              try {
                checkLimits(next);
              } catch (error) {
                subscriber.error(error);
                return;
              }
              const now = scheduler.now();
              for (const bucket of buckets.values()) refill(bucket, now);
              burst = next.burst;
              startTokens = next.startEmpty ? 0 : burst;
              interval = 1000 / next.rate;
              for (const [key, bucket] of buckets) {
                bucket.tokens = Math.min(burst, bucket.tokens);
                if (bucket.queue.length > 0) serve(key, bucket);
              }
            },
            error: (error: unknown) => subscriber.error(error),
          }),
        );
      }

      if (penalties) {
        subscriber.add(
          penalties.subscribe({
            next: ({ key, ms }) => {
              const bucket = bucketOf(key);
              const now = scheduler.now();
              refill(bucket, now);
              const until = now + Math.max(0, ms);
              if (until <= bucket.updatedAt) return; // already paused at least that long
              bucket.updatedAt = until;
              bucket.tokens = 1;
              serve(key, bucket);
            },
            error: (error: unknown) => subscriber.error(error),
          }),
        );
      }

      subscriber.add(
        source.subscribe({
          next: (item) => {
            const key = keyOf(item);
            const bucket = bucketOf(key);
            bucket.queue.push({ item, at: scheduler.now() });
            held += 1;
            onInflight?.(held);
            if (bucket.queue.length === 1) serve(key, bucket);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            sourceDone = true;
            maybeComplete();
          },
        }),
      );
    });
}

function checkLimits({ rate, burst }: RateLimits): void {
  requireNumber('rateLimit', 'rate', rate, 0, false);
  requireNumber('rateLimit', 'burst', burst, 1, true);
}
