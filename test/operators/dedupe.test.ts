import { describe, it, expect } from 'vitest';
import { defer, finalize } from 'rxjs';
import type { ColdObservable } from 'rxjs/internal/testing/ColdObservable';
import { dedupe, type DedupeDropReason } from '../../src/operators/dedupe.js';
import { testScheduler } from './helpers.js';

const id = (s: string): string => s;

describe('dedupe', () => {
  it('passes the first of each key and drops repeats', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const dropped: [string, DedupeDropReason][] = [];
      const source = cold('abab-ca|');
      const result = source.pipe(dedupe({ key: id, max: 10, onDropped: (item, _k, reason) => dropped.push([item, reason]) }));
      expectObservable(result).toBe('ab---c-|');
      expectSubscriptions(source.subscriptions).toBe('^------!');
      return () =>
        expect(dropped).toEqual([
          ['a', 'repeat'],
          ['b', 'repeat'],
          ['a', 'repeat'],
        ]);
    });
  });

  it('dedupes by the key function', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: { v: '1.0' }, b: { v: '1.0' }, c: { v: '2.0' } };
      const result = cold('abc|', values).pipe(dedupe({ key: (x) => x.v, max: 10 }));
      expectObservable(result).toBe('a-c|', values);
    });
  });

  it('holds at most `max` keys: the least recently seen is forgotten', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abab|').pipe(dedupe({ key: id, max: 2 }))).toBe('ab--|');
      // c pushes a out of a 2-key memory, so a passes again
      expectObservable(cold('abca|').pipe(dedupe({ key: id, max: 2 }))).toBe('abca|');
    });
  });

  it('forgets a key ttlMs after it passed, in scheduler time', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      // a passes at 0 (expires at 5): dropped at 4, passes again at 7 (expires 12), dropped at 11
      const result = cold('a---a--a---a|').pipe(dedupe({ key: id, max: 10, ttlMs: 5, scheduler }));
      expectObservable(result).toBe('a------a----|');
    });
  });

  it('looks up unknown keys, keeps arrival order', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const lookups: Record<string, ColdObservable<boolean>> = {
        a: cold('----(f|)', { f: false }),
        b: cold('-(t|)', { t: true }),
        c: cold('-(f|)', { f: false }),
      };
      const dropped: string[] = [];
      const result = hot('abc|').pipe(
        dedupe({
          key: id,
          max: 10,
          isKnown: (k) => lookups[k]!,
          onDropped: (item, _k, reason) => dropped.push(`${item}:${reason}`),
        }),
      );
      // b is known (dropped at 2); c is decided at 3 but waits for a, decided at 4
      expectObservable(result).toBe('----(ac|)');
      expectSubscriptions(lookups.a!.subscriptions).toBe('^---!');
      expectSubscriptions(lookups.b!.subscriptions).toBe('-^!');
      expectSubscriptions(lookups.c!.subscriptions).toBe('--^!');
      return () => expect(dropped).toEqual(['b:known']);
    });
  });

  it('runs at most lookupConcurrency lookups and drops a repeat arriving during its lookup', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      let running = 0;
      let maxRunning = 0;
      let calls = 0;
      const held: number[] = [];
      const result = hot('abacd|').pipe(
        dedupe({
          key: id,
          max: 10,
          lookupConcurrency: 2,
          onInflight: (n) => held.push(n),
          isKnown: () =>
            defer(() => {
              calls += 1;
              running += 1;
              maxRunning = Math.max(maxRunning, running);
              return cold('--(f|)', { f: false });
            }).pipe(finalize(() => (running -= 1))),
        }),
      );
      // lookups: a 0-2, b 1-3, c 3-5 (waits for a slot), d 4-6
      expectObservable(result).toBe('--ab-c(d|)');
      return () => {
        expect(maxRunning).toBe(2);
        expect(calls).toBe(4);
        expect(Math.max(...held)).toBeLessThanOrEqual(3);
        expect(held.at(-1)).toBe(0);
      };
    });
  });

  it('a lookup error errors the stream', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const result = cold('ab|').pipe(
        dedupe({ key: id, max: 10, isKnown: (k) => (k === 'b' ? cold<boolean>('-#') : cold('---(f|)', { f: false })) }),
      );
      expectObservable(result).toBe('--#');
    });
  });

  it('passes a source error through', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('aa#').pipe(dedupe({ key: id, max: 10 }))).toBe('a-#');
    });
  });

  it('unsubscription unsubscribes the source and the running lookups', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const lookup = cold<boolean>('-----(f|)', { f: false });
      const source = hot('ab---');
      const result = source.pipe(dedupe({ key: id, max: 10, isKnown: () => lookup }));
      expectObservable(result, '^--!').toBe('---');
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(lookup.subscriptions).toBe(['^--!', '-^-!']);
    });
  });

  it('rejects a bad max', () => {
    expect(() => dedupe({ key: id, max: 0 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
  });
});
