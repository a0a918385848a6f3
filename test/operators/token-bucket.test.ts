import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/operators/token-bucket.js';

describe('TokenBucket', () => {
  it('starts full, spends its burst, then gives one token per 1/rate seconds', () => {
    const bucket = new TokenBucket(0, { rate: 10, burst: 2 });
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.nextAt(0)).toBe(100);
    expect(bucket.take(99)).toBe(false);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.nextAt(100)).toBe(200);
  });

  it('refills while idle up to its burst, no further', () => {
    const bucket = new TokenBucket(0, { rate: 10, burst: 2 }, 0);
    expect(bucket.nextAt(0)).toBe(100);
    expect([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)]).toEqual([true, true, false]);
  });

  it('makes a whole token of tenths summed in floating point', () => {
    const bucket = new TokenBucket(0, { rate: 10, burst: 1 }, 0);
    // ten refills of 10 ms: 0.1 added ten times is 0.9999999999999999, which must still be a token
    for (let now = 10; now < 100; now += 10) expect(bucket.take(now)).toBe(false);
    expect(bucket.take(100)).toBe(true);
  });

  it('a pause holds every token until it ends, then resumes with one and no burst', () => {
    const bucket = new TokenBucket(0, { rate: 10, burst: 5 });
    expect(bucket.pause(0, 300)).toBe(true);
    expect(bucket.take(299)).toBe(false);
    expect(bucket.nextAt(10)).toBe(300);
    expect(bucket.take(300)).toBe(true);
    expect(bucket.take(300)).toBe(false);
    expect(bucket.nextAt(300)).toBe(400);
  });

  it('a shorter pause does not shorten a longer one', () => {
    const bucket = new TokenBucket(0, { rate: 10, burst: 5 });
    expect(bucket.pause(0, 300)).toBe(true);
    expect(bucket.pause(2, 10)).toBe(false);
    expect(bucket.pause(2, 0)).toBe(false);
    expect(bucket.nextAt(2)).toBe(300);
    expect(bucket.pause(2, 500)).toBe(true);
    expect(bucket.nextAt(2)).toBe(502);
  });

  it('new limits count the tokens earned so far at the old rate and cap them at the new burst', () => {
    const bucket = new TokenBucket(0, { rate: 10, burst: 2 }, 0);
    bucket.retune(50, { rate: 5, burst: 1 }); // half a token earned at 10/s
    expect(bucket.nextAt(50)).toBe(150); // the other half at 5/s
    const full = new TokenBucket(0, { rate: 10, burst: 4 });
    full.retune(0, { rate: 10, burst: 1 });
    expect([full.take(0), full.take(0)]).toEqual([true, false]);
  });
});
