import { describe, it, expect } from 'vitest';
import { map, of } from 'rxjs';
import { rateLimit, type RateLimitPenalty } from '../../src/operators/rate-limit.js';
import { testScheduler, trackingScheduler } from './helpers.js';

/** Largest number of times within any window [t, t + width). */
function maxInWindow(times: readonly number[], width: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    while (times[end]! - times[start]! >= width) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe('rateLimit', () => {
  it('lets a burst through, then one item per 1/rate seconds', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const waits: number[] = [];
      const source = cold('(abcde|)');
      const result = source.pipe(rateLimit({ rate: 10, burst: 2, scheduler, onWait: (ms) => waits.push(ms) }));
      expectObservable(result).toBe('(ab) 96ms c 99ms d 99ms (e|)');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
      return () => expect(waits).toEqual([0, 0, 100, 200, 300]);
    });
  });

  it('refills while idle, up to burst', () => {
    const scheduler = testScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      // a,b use the burst at 0; c waits to 100; at 1000 the bucket is full again
      const result = hot('(abc) 995ms (def) 6ms |').pipe(rateLimit({ rate: 10, burst: 2, scheduler }));
      expectObservable(result).toBe('(ab) 96ms c 899ms (de) 96ms (f|)');
    });
  });

  it('never exceeds rate + burst in any 1-second window and never drops or reorders', () => {
    const scheduler = testScheduler();
    const times: number[] = [];
    const out: number[] = [];
    const waits: number[] = [];
    scheduler.run(({ cold }) => {
      // 200 items in irregular clumps over ~2 s
      const marbles = Array.from({ length: 40 }, (_, i) => `(${'x'.repeat(1 + (i * 7) % 9)}) ${10 + ((i * 37) % 50)}ms`).join(' ');
      let n = 0;
      cold(marbles + ' |')
        .pipe(
          map(() => n++),
          rateLimit({ rate: 20, burst: 5, scheduler, onWait: (ms) => waits.push(ms) }),
        )
        .subscribe((i) => {
          times.push(scheduler.now());
          out.push(i);
        });
      return () => expect(out).toEqual(Array.from({ length: n }, (_, i) => i));
    });
    expect(times.length).toBeGreaterThan(150);
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(20 + 5);
    expect(maxInWindow(times, 100)).toBeLessThanOrEqual(2 + 5);
    // it does limit: the backlog takes at least (n - burst) / rate seconds
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((times.length - 5) / 20) * 1000 - 1);
    expect(Math.max(...waits)).toBeGreaterThan(0);
  });

  it('keeps one bucket per key: a busy key does not delay another, order per key holds', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const result = cold('(aaab) 2ms b|').pipe(rateLimit({ rate: 10, burst: 1, key: (x: string) => x, scheduler }));
      // a: 0, 100, 200; b: 0, then 2nd b at 6 waits for its own token at 100
      expectObservable(result).toBe('(ab) 96ms (ab) 96ms (a|)');
    });
  });

  it('a penalty pauses only that bucket until now + ms, then resumes without a burst', () => {
    const scheduler = testScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const penalties = hot<RateLimitPenalty<string>>('-p', { p: { key: 'h1', ms: 500 } });
      const source = hot('(xxxxy) 20ms |', { x: 'h1', y: 'h2' });
      const result = source.pipe(
        rateLimit({ rate: 10, burst: 2, key: (h: string) => h, penalties, scheduler }),
      );
      // h1: two at 0, paused 1..501, one at 501, then every 100 ms; h2 unaffected
      expectObservable(result).toBe('(xxy) 496ms x 99ms (x|)', { x: 'h1', y: 'h2' });
    });
  });

  it('a shorter penalty does not shorten a pause', () => {
    const scheduler = testScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const penalties = hot<RateLimitPenalty<undefined>>('p-q', { p: { key: undefined, ms: 300 }, q: { key: undefined, ms: 10 } });
      const result = hot('x-x|').pipe(rateLimit({ rate: 10, burst: 5, penalties, scheduler }));
      // the 300 ms penalty at 0 holds the first x to 300; the 10 ms one at 2 changes nothing;
      // the second x follows one token later
      expectObservable(result).toBe('300ms x 99ms (x|)');
    });
  });

  it('new limits count the tokens earned so far at the old rate, then hold to the new rate and burst', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable }) => {
      // Shared by two replicas from 150 ms on: half the rate, a burst of one.
      const limits = hot('150ms l', { l: { rate: 5, burst: 1 } });
      const result = cold('(abcdef|)').pipe(rateLimit({ rate: 10, burst: 2, limits, scheduler }));
      // a, b: the burst; c at 100; at 150 half a token is earned, so d at 150 + 0.5 × 200
      expectObservable(result).toBe('(ab) 96ms c 149ms d 199ms e 199ms (f|)');
    });
  });

  it('a bucket made after limits with startEmpty starts with no token (a replica joining others)', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable }) => {
      const limits = hot('l', { l: { rate: 10, burst: 2, startEmpty: true } });
      const result = cold('(ab|)').pipe(rateLimit({ rate: 10, burst: 2, limits, scheduler }));
      // No burst to spend: a waits for the first token, b for the next.
      expectObservable(result).toBe('100ms a 99ms (b|)');
    });
  });

  it('a higher rate reschedules the items already held', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable }) => {
      // A replica left: the share doubles at 50 ms, and b, due at 100, leaves at 75.
      const limits = hot('50ms l', { l: { rate: 20, burst: 1 } });
      const result = cold('(abcd|)').pipe(rateLimit({ rate: 10, burst: 1, limits, scheduler }));
      expectObservable(result).toBe('a 74ms b 49ms c 49ms (d|)');
    });
  });

  it('passes a source error at once', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('xxx-#').pipe(rateLimit({ rate: 1, burst: 1, scheduler }))).toBe('x---#');
    });
  });

  it('unsubscription cancels its timers and the source', () => {
    const ts = testScheduler();
    const scheduler = trackingScheduler(ts);
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('xxxx');
      expectObservable(source.pipe(rateLimit({ rate: 10, burst: 1, scheduler })), '^ 150ms !').toBe('x 99ms x');
      expectSubscriptions(source.subscriptions).toBe('^ 150ms !');
    });
    expect(scheduler.live()).toBe(0);
  });

  it('rejects bad options', () => {
    expect(() => rateLimit({ rate: 0, burst: 1 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
    expect(() => rateLimit({ rate: 1, burst: 0 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
  });

  it('errors on limits out of range', () => {
    let failure: unknown;
    of('x').pipe(rateLimit({ rate: 1, burst: 1, limits: of({ rate: 0, burst: 1 }) })).subscribe({ error: (error: unknown) => (failure = error) });
    expect(failure).toMatchObject({ code: 'OPTION_RANGE' });
  });
});
