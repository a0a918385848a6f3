import { describe, it, expect } from 'vitest';
import { createPauseGate } from '../../src/operators/pause-gate.js';
import { testScheduler } from './helpers.js';

const bool = { t: true, f: false };

describe('createPauseGate', () => {
  it('pauses at highWater and resumes at lowWater, serving every item', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const counts: number[] = [];
      const gate = createPauseGate({ highWater: 3, lowWater: 1, onInflight: (n) => counts.push(n) });
      const source = hot('abcd|');
      const result = source.pipe(gate.through((item: string) => cold('-----x|', { x: item })));
      expectObservable(result).toBe('-----abcd|', { a: 'a', b: 'b', c: 'c', d: 'd' });
      // in flight: 1@0 2@1 3@2 (pause) 4@3, done at 6,7,8 (1: resume),9
      expectObservable(gate.paused).toBe('f-t-----f', bool);
      expectSubscriptions(source.subscriptions).toBe('^---!');
      return () => {
        expect(counts).toEqual([1, 2, 3, 4, 3, 2, 1, 0]);
        expect(gate.inflight()).toBe(0);
      };
    });
  });

  it('counts items waiting for a slot as in flight', () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const gate = createPauseGate({ highWater: 3, lowWater: 0 });
      const result = hot('aaa|').pipe(gate.through(() => cold('---x|'), { concurrency: 1 }));
      // one at a time: x at 3, 7, 11
      expectObservable(result).toBe('---x---x---x|');
      expectObservable(gate.paused).toBe('f-t---------f', bool);
    });
  });

  it('unsubscription gives back the items it held and unsubscribes the projections', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const gate = createPauseGate({ highWater: 2, lowWater: 1 });
      const inner = cold('-----x|');
      const result = hot('abc').pipe(gate.through(() => inner, { concurrency: 2 }));
      expectObservable(result, '^---!').toBe('-');
      expectObservable(gate.paused).toBe('f t--f', bool);
      expectSubscriptions(inner.subscriptions).toBe(['^---!', '-^--!']);
      return () => expect(gate.inflight()).toBe(0);
    });
  });

  it('an error of a projection errors the stream and releases the count', () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const gate = createPauseGate({ highWater: 2, lowWater: 0 });
      const result = hot('ab').pipe(gate.through((item: string) => (item === 'b' ? cold('--#') : cold('------x|'))));
      expectObservable(result).toBe('---#');
      expectObservable(gate.paused).toBe('f t-f', bool);
      return () => expect(gate.inflight()).toBe(0);
    });
  });

  it('is shared by several pipelines', () => {
    testScheduler().run(({ hot, cold, expectObservable }) => {
      const gate = createPauseGate({ highWater: 2, lowWater: 0 });
      expectObservable(hot('a').pipe(gate.through(() => cold('----x|')))).toBe('----x');
      expectObservable(hot('-b').pipe(gate.through(() => cold('----x|')))).toBe('-----x');
      expectObservable(gate.paused).toBe('f t----f', bool);
    });
  });

  it('rejects bad marks', () => {
    expect(() => createPauseGate({ highWater: 2, lowWater: 2 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
    expect(() => createPauseGate({ highWater: 0, lowWater: 0 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
  });
});
