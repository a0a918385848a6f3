/**
 * What a feed already reported: a bad or future-dated item stays in the feed for its whole
 * window (100 items on PyPI, minutes to hours), and is polled again every interval. It is
 * named and counted the first time only, remembered by a hash of its content in an LRU
 * sized for the feed's window.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export class FeedItemMemory {
  private readonly seen: LRUCache<string, true>;

  constructor(max: number) {
    this.seen = new LRUCache<string, true>({ max });
  }

  /** True the first time these parts are seen (and remembers them), false after. */
  firstTime(...parts: readonly string[]): boolean {
    const key = createHash('sha256').update(parts.join('\u0000')).digest('base64');
    if (this.seen.has(key)) return false;
    this.seen.set(key, true);
    return true;
  }
}
