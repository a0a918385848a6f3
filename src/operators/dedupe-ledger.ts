/**
 * The bookkeeping behind `dedupe`: the keys let through recently, and the items held in
 * arrival order while their keys are looked up.
 *
 * - Recent keys live in an LRU of `max` entries: a key pushed out of it, or older than
 *   `ttlMs` (measured from when it was let through, in the time passed in, never
 *   lru-cache's clock), is new again.
 * - A held item leaves from the head only, once its lookup has decided it; at most
 *   `lookupConcurrency` lookups run at once, oldest item first.
 *
 * Pure: time is passed in.
 */
import { LRUCache } from 'lru-cache';

export interface DedupeLedgerOptions {
  /** Most recent keys remembered; an integer >= 1. */
  readonly max: number;
  readonly ttlMs?: number;
  readonly lookupConcurrency: number;
}

/** A lookup that may start: its key, and where its answer goes. */
export interface Lookup<K> {
  readonly key: K;
  /** `true`: the key is known, its item is dropped; `false`: it passes. */
  readonly answer: (known: boolean) => void;
}

export interface Decided<T, K> {
  readonly item: T;
  readonly key: K;
  readonly known: boolean;
}

interface Entry<T, K> {
  readonly item: T;
  readonly key: K;
  known: boolean | undefined; // undefined until its lookup has answered
}

export class DedupeLedger<T, K extends NonNullable<unknown>> {
  private readonly recent: LRUCache<K, number>; // key -> when it is forgotten
  private readonly ttlMs: number;
  private readonly lookupConcurrency: number;
  private readonly held: Entry<T, K>[] = []; // arrival order
  private readonly unlooked: Entry<T, K>[] = []; // held, lookup not started
  private looking = 0;

  constructor(options: DedupeLedgerOptions) {
    this.recent = new LRUCache({ max: options.max });
    this.ttlMs = options.ttlMs ?? Infinity;
    this.lookupConcurrency = options.lookupConcurrency;
  }

  /** Items held, waiting for their lookup or for an earlier item. */
  get heldCount(): number {
    return this.held.length;
  }

  /** True when `key` was let through and is still remembered; otherwise it is remembered from `now` on. */
  isRepeat(key: K, now: number): boolean {
    const forgetAt = this.recent.get(key);
    if (forgetAt !== undefined && forgetAt > now) return true;
    this.recent.set(key, now + this.ttlMs);
    return false;
  }

  /** Holds an item behind the earlier ones until its key is looked up. */
  hold(item: T, key: K): void {
    const entry: Entry<T, K> = { item, key, known: undefined };
    this.held.push(entry);
    this.unlooked.push(entry);
  }

  /** The oldest lookup not started, if one may start now (it counts as running until answered). */
  startLookup(): Lookup<K> | undefined {
    if (this.looking >= this.lookupConcurrency) return undefined;
    const entry = this.unlooked.shift();
    if (!entry) return undefined;
    this.looking += 1;
    return {
      key: entry.key,
      answer: (known) => {
        this.looking -= 1;
        entry.known = known;
      },
    };
  }

  /** The oldest held item once its lookup has answered, taken out; undefined while it waits. */
  takeDecided(): Decided<T, K> | undefined {
    const head = this.held[0];
    if (head?.known === undefined) return undefined;
    this.held.shift();
    return { item: head.item, key: head.key, known: head.known };
  }
}
