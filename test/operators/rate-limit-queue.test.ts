import { describe, expect, it } from 'vitest';
import { RateLimitQueue } from '../../src/operators/rate-limit-queue.js';

describe('RateLimitQueue', () => {
  it('releases a key\'s items in arrival order as its bucket gives tokens, with their waits', () => {
    const queue = new RateLimitQueue<string, string>({ rate: 10, burst: 1 });
    expect(queue.push('h', 'a', 0)).toBe(true); // the lane was idle: time it
    expect(queue.push('h', 'b', 5)).toBe(false);
    expect(queue.held).toBe(2);
    expect(queue.release('h', 5)).toEqual({ item: 'a', waitedMs: 5 });
    expect(queue.release('h', 5)).toBeUndefined();
    expect(queue.nextAt('h', 5)).toBe(105);
    expect(queue.release('h', 104)).toBeUndefined();
    expect(queue.release('h', 105)).toEqual({ item: 'b', waitedMs: 100 });
    expect(queue.held).toBe(0);
    expect(queue.nextAt('h', 105)).toBe(Infinity);
  });

  it('keeps one bucket per key: a busy key does not hold another back', () => {
    const queue = new RateLimitQueue<string, string>({ rate: 10, burst: 1 });
    queue.push('a', 'a1', 0);
    queue.push('a', 'a2', 0);
    queue.push('b', 'b1', 0);
    expect(queue.release('a', 0)?.item).toBe('a1');
    expect(queue.release('a', 0)).toBeUndefined();
    expect(queue.release('b', 0)?.item).toBe('b1');
    expect(queue.release('unknown', 0)).toBeUndefined();
    expect(queue.nextAt('unknown', 0)).toBe(Infinity);
  });

  it('pauses only the penalised key, and a shorter penalty changes nothing', () => {
    const queue = new RateLimitQueue<string, string>({ rate: 10, burst: 2 });
    queue.push('a', 'a1', 0);
    queue.push('b', 'b1', 0);
    expect(queue.pause('a', 0, 500)).toBe(true);
    expect(queue.pause('a', 1, 100)).toBe(false);
    expect(queue.nextAt('a', 1)).toBe(500);
    expect(queue.release('b', 1)?.item).toBe('b1');
    expect(queue.release('a', 500)?.item).toBe('a1');
  });

  it('retunes every bucket and names the keys holding items; buckets made after startEmpty limits start with no token', () => {
    const queue = new RateLimitQueue<string, string>({ rate: 10, burst: 1 });
    queue.push('a', 'a1', 0);
    queue.release('a', 0);
    queue.push('a', 'a2', 0);
    queue.push('b', 'b1', 0);
    queue.release('b', 0);
    expect(queue.retune(50, { rate: 20, burst: 1, startEmpty: true })).toEqual(['a']);
    expect(queue.nextAt('a', 50)).toBe(75); // half a token at 10/s, the other half at 20/s
    queue.push('c', 'c1', 50);
    expect(queue.release('c', 50)).toBeUndefined();
    expect(queue.nextAt('c', 50)).toBe(100);
  });
});
