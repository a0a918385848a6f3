/**
 * The state behind `rateLimit`: the items held per key, in arrival order, and each key's
 * `TokenBucket` under the current limits. An item is released when its key's bucket gives
 * it a token; keys do not wait for each other. Pure: time (ms) is passed in.
 */
import { TokenBucket, type TokenBucketLimits } from './token-bucket.js';

export interface RateLimits extends TokenBucketLimits {
  /** Buckets made from now on start with no token instead of a full burst. */
  readonly startEmpty?: boolean;
}

interface Lane<T> {
  readonly bucket: TokenBucket;
  readonly items: { readonly item: T; readonly at: number }[];
}

export class RateLimitQueue<T, K> {
  private readonly lanes = new Map<K, Lane<T>>();
  private count = 0;
  private limits: RateLimits;

  constructor({ rate, burst }: TokenBucketLimits) {
    this.limits = { rate, burst };
  }

  /** Items held, all keys together. */
  get held(): number {
    return this.count;
  }

  /** Holds `item` behind its key's earlier items; true when none was held (nothing is timed for the key yet). */
  push(key: K, item: T, now: number): boolean {
    const lane = this.laneOf(key, now);
    lane.items.push({ item, at: now });
    this.count += 1;
    return lane.items.length === 1;
  }

  /** The key's oldest item if its bucket has a token now, with how long it waited. */
  release(key: K, now: number): { readonly item: T; readonly waitedMs: number } | undefined {
    const lane = this.lanes.get(key);
    if (!lane || lane.items.length === 0 || !lane.bucket.take(now)) return undefined;
    const { item, at } = lane.items.shift()!;
    this.count -= 1;
    return { item, waitedMs: now - at };
  }

  /** When the key's next item can leave; Infinity when none is held. */
  nextAt(key: K, now: number): number {
    const lane = this.lanes.get(key);
    return lane && lane.items.length > 0 ? lane.bucket.nextAt(now) : Infinity;
  }

  /** A penalty: nothing of `key` before `now + ms`; false when it changes nothing (a pause that long already runs). */
  pause(key: K, now: number, ms: number): boolean {
    return this.laneOf(key, now).bucket.pause(now, ms);
  }

  /** New limits for every bucket from `now` on; returns the keys holding items (their timing changed). */
  retune(now: number, limits: RateLimits): K[] {
    this.limits = limits;
    const holding: K[] = [];
    for (const [key, lane] of this.lanes) {
      lane.bucket.retune(now, limits);
      if (lane.items.length > 0) holding.push(key);
    }
    return holding;
  }

  private laneOf(key: K, now: number): Lane<T> {
    let lane = this.lanes.get(key);
    if (!lane) {
      const tokens = this.limits.startEmpty ? 0 : this.limits.burst;
      lane = { bucket: new TokenBucket(now, this.limits, tokens), items: [] };
      this.lanes.set(key, lane);
    }
    return lane;
  }
}
