import { describe, it, expect } from 'vitest';
import { EmptyError, type Observable } from 'rxjs';
import { PkgstreamError } from '../../src/domain/errors.js';
import { backoffDelay } from '../../src/domain/backoff.js';
import { retryEach, type RetryOutcome } from '../../src/operators/retry-backoff.js';
import { testScheduler, trackingScheduler } from './helpers.js';

const flaky = new PkgstreamError('INDEX_HTTP_5XX', 'bad gateway');
const fatal = new PkgstreamError('INDEX_BAD_BODY', 'nope');
const base = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 };

describe('retryEach', () => {
  it('emits one ok outcome per item on success', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b|');
      const result = source.pipe(retryEach((x: string) => cold('-(v|)', { v: x.toUpperCase() }), { ...base, maxAttempts: 3, scheduler }));
      expectObservable(result).toBe('-a-(b|)', {
        a: { ok: true, item: 'a', value: 'A', attempts: 1 },
        b: { ok: true, item: 'b', value: 'B', attempts: 1 },
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('retries retriable errors with exponential full-jitter backoff in scheduler time', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempts = [cold<number>('-#', undefined, flaky), cold<number>('-#', undefined, flaky), cold('-(v|)', { v: 42 })];
      const retries: number[] = [];
      const result = cold('(a|)').pipe(
        retryEach((_x: string, attempt) => attempts[attempt - 1]!, {
          ...base,
          maxAttempts: 5,
          scheduler,
          onRetry: ({ delayMs }) => retries.push(delayMs),
        }),
      );
      // attempt 1 fails at 1, waits 0.5*100; attempt 2 at 51 fails at 52, waits 0.5*200; attempt 3 at 152
      expectObservable(result).toBe('153ms (o|)', { o: { ok: true, item: 'a', value: 42, attempts: 3 } });
      expectSubscriptions(attempts[0]!.subscriptions).toBe('^!');
      expectSubscriptions(attempts[1]!.subscriptions).toBe('51ms ^!');
      expectSubscriptions(attempts[2]!.subscriptions).toBe('152ms ^!');
      return () => expect(retries).toEqual([50, 100]);
    });
  });

  it('ends in a failure outcome after maxAttempts and goes on with the next item', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const result = cold('(ab|)').pipe(
        retryEach((x: string) => (x === 'a' ? cold<number>('#', undefined, flaky) : cold('(v|)', { v: 1 })), {
          ...base,
          maxAttempts: 3,
          scheduler,
        }),
      );
      // a: attempts at 0, 50, 150 -> failure at 150; b then runs at 150 (concurrency 1)
      expectObservable(result).toBe('150ms (fb|)', {
        f: { ok: false, item: 'a', error: flaky, attempts: 3 },
        b: { ok: true, item: 'b', value: 1, attempts: 1 },
      });
    });
  });

  it('does not retry a non-retriable error', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempt = cold<number>('--#', undefined, fatal);
      const result = cold('a|').pipe(retryEach(() => attempt, { ...base, maxAttempts: 5, scheduler }));
      expectObservable(result).toBe('--(f|)', { f: { ok: false, item: 'a', error: fatal, attempts: 1 } });
      expectSubscriptions(attempt.subscriptions).toBe('^-!');
    });
  });

  it('honours retryAfterMs when it is longer than the backoff', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const limited = new PkgstreamError('INDEX_RATE_LIMITED', 'slow down', { retryAfterMs: 2000 });
      const attempts = [cold<number>('#', undefined, limited), cold('(v|)', { v: 7 })];
      const result = cold('(a|)').pipe(retryEach((_x: string, n) => attempts[n - 1]!, { ...base, maxAttempts: 2, scheduler }));
      expectObservable(result).toBe('2000ms (o|)', { o: { ok: true, item: 'a', value: 7, attempts: 2 } });
    });
  });

  it('uses a custom isRetriable predicate', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const plain = new Error('ECONNRESET');
      const attempts = [cold<number>('#', undefined, plain), cold('(v|)', { v: 1 })];
      const result = cold('(a|)').pipe(
        retryEach((_x: string, n) => attempts[n - 1]!, { ...base, maxAttempts: 2, scheduler, isRetriable: (e) => e === plain }),
      );
      expectObservable(result).toBe('50ms (o|)', { o: { ok: true, item: 'a', value: 1, attempts: 2 } });
    });
  });

  it('treats completion without a value as a failure', () => {
    const scheduler = testScheduler();
    const seen: RetryOutcome<string, number>[] = [];
    scheduler.run(({ cold }) => {
      cold('(a|)').pipe(retryEach(() => cold<number>('|'), { ...base, maxAttempts: 3, scheduler })).subscribe((o) => seen.push(o));
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.ok).toBe(false);
    expect(!seen[0]!.ok && seen[0]!.error).toBeInstanceOf(EmptyError);
  });

  it('runs `concurrency` items at once', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const result = cold('(abc|)').pipe(
        retryEach((x: string) => cold(x === 'a' ? '--(v|)' : '---(v|)', { v: x }), { ...base, maxAttempts: 1, concurrency: 2, scheduler }),
      );
      const ok = (x: string) => ({ ok: true, item: x, value: x, attempts: 1 });
      // a (2 frames) and b (3) start at 0; c starts when a is done at 2
      expectObservable(result).toBe('--ab-(c|)', { a: ok('a'), b: ok('b'), c: ok('c') });
    });
  });

  it('passes a source error on', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-#').pipe(retryEach(() => cold('(v|)'), { ...base, maxAttempts: 1, scheduler }))).toBe('-#');
    });
  });

  it('unsubscription cancels the attempt and the backoff timer', () => {
    const ts = testScheduler();
    const scheduler = trackingScheduler(ts);
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempt = cold<number>('-#', undefined, flaky);
      const result: Observable<unknown> = cold('a').pipe(retryEach(() => attempt, { ...base, maxAttempts: 10, scheduler }));
      // attempts at 0 and 51; cut at 70 while waiting for the third
      expectObservable(result, '70ms !').toBe('');
      expectSubscriptions(attempt.subscriptions).toBe(['^!', '51ms ^!']);
    });
    expect(scheduler.live()).toBe(0);
  });

  it('caps the backoff at maxDelayMs', () => {
    const delays = [1, 2, 3, 4, 5].map((n) => backoffDelay(n, new Error('x'), { baseDelayMs: 100, maxDelayMs: 300, random: () => 1 }));
    expect(delays).toEqual([100, 200, 300, 300, 300]);
    expect(backoffDelay(1, flaky, { baseDelayMs: 100, maxDelayMs: 300, random: () => 0 })).toBe(0);
  });

  it('rejects a bad maxAttempts', () => {
    expect(() => retryEach(() => [1], { ...base, maxAttempts: 0 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
  });
});
