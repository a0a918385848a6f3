import { describe, it, expect } from 'vitest';
import { of, Subject, tap } from 'rxjs';
import { pullMap } from '../../src/operators/pull-map.js';
import { settle, testScheduler } from './helpers.js';

/** A source that counts pulls, records the worst `pulled - finished`, and whether it was returned. */
function counting<T>(items: Iterable<T>) {
  const state = { pulled: 0, finished: 0, maxAhead: 0, returned: false };
  function* gen(): Generator<T> {
    try {
      for (const item of items) {
        state.pulled += 1;
        state.maxAhead = Math.max(state.maxAhead, state.pulled - state.finished);
        yield item;
      }
    } finally {
      state.returned = true;
    }
  }
  async function* agen(): AsyncGenerator<T> {
    try {
      for (const item of items) {
        state.pulled += 1;
        state.maxAhead = Math.max(state.maxAhead, state.pulled - state.finished);
        yield item;
      }
    } finally {
      state.returned = true;
    }
  }
  return { state, sync: gen, async: agen };
}

function* naturals(limit = Infinity): Generator<number> {
  for (let n = 1; n <= limit; n += 1) yield n;
}

describe('pullMap (marble, sync iterator)', () => {
  it('pulls only into free slots, emits as items finish, completes after the last', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = counting([1, 2, 3, 4]);
      const inners = new Map([1, 2, 3, 4].map((n) => [n, cold(`${'-'.repeat(n * 2)}(x|)`, { x: n * 10 })]));
      const inflight: number[] = [];
      const result = pullMap(
        src.sync(),
        (n) => inners.get(n)!.pipe(tap({ complete: () => (src.state.finished += 1) })),
        { concurrency: 2, onInflight: (n) => inflight.push(n) },
      );
      // 1 (2 frames) and 2 (4) start at 0; 3 (6) starts when 1 finishes at 2; 4 (8) at 4.
      expectObservable(result).toBe('--a-b---c---(d|)', { a: 10, b: 20, c: 30, d: 40 });
      expectSubscriptions(inners.get(1)!.subscriptions).toBe('^-!');
      expectSubscriptions(inners.get(2)!.subscriptions).toBe('^---!');
      expectSubscriptions(inners.get(3)!.subscriptions).toBe('--^-----!');
      expectSubscriptions(inners.get(4)!.subscriptions).toBe('----^-------!');
      return () => {
        expect(src.state.maxAhead).toBeLessThanOrEqual(2);
        expect(Math.max(...inflight)).toBe(2);
        expect(inflight.at(-1)).toBe(0);
        expect(src.state.returned).toBe(true);
      };
    });
  });

  it('concurrency 1 is sequential', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const result = pullMap([1, 2, 3], (n) => cold('-x|', { x: n }), { concurrency: 1 });
      expectObservable(result).toBe('-a-b-c|', { a: 1, b: 2, c: 3 });
    });
  });

  it('completes at once on an empty source', () => {
    testScheduler().run(({ expectObservable }) => {
      expectObservable(pullMap([], (n: number) => of(n), { concurrency: 3 })).toBe('|');
    });
  });

  it('unsubscription stops pulling, unsubscribes the projections and returns the iterator', () => {
    const src = counting(naturals());
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('---x|');
      const result = pullMap(src.sync(), () => inner, { concurrency: 2 });
      expectObservable(result, '^------!').toBe('---(xx)-', { x: 'x' });
      // two at 0 (finish at 4), two more at 4, cut at 7
      expectSubscriptions(inner.subscriptions).toBe(['^---!', '^---!', '----^--!', '----^--!']);
    });
    expect(src.state.pulled).toBe(4);
    expect(src.state.returned).toBe(true);
  });

  it('a projection error errors the result and returns the iterator', () => {
    const src = counting(naturals());
    testScheduler().run(({ cold, expectObservable }) => {
      const result = pullMap(src.sync(), (n) => (n === 2 ? cold('--#', undefined, new Error('boom')) : cold('-----x|')), {
        concurrency: 2,
      });
      expectObservable(result).toBe('--#', undefined, new Error('boom'));
    });
    expect(src.state.pulled).toBe(2);
    expect(src.state.returned).toBe(true);
  });

  it('an iterator error errors the result', () => {
    function* failing(): Generator<number> {
      yield 1;
      throw new Error('cursor broke');
    }
    testScheduler().run(({ cold, expectObservable }) => {
      const result = pullMap(failing(), (n) => cold('--x|', { x: n }), { concurrency: 1 });
      expectObservable(result).toBe('--x#', { x: 1 }, new Error('cursor broke'));
    });
  });

  it('rejects a bad concurrency', () => {
    expect(() => pullMap([], () => of(1), { concurrency: 0 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
  });
});

describe('pullMap (async iterator)', () => {
  it('keeps pulled <= finished + concurrency with a slow projection', async () => {
    const src = counting(naturals(20));
    const gates: Subject<number>[] = [];
    const values: number[] = [];
    let completed = false;
    pullMap(
      src.async(),
      () => {
        const gate = new Subject<number>();
        gates.push(gate);
        return gate.pipe(tap({ complete: () => (src.state.finished += 1) }));
      },
      { concurrency: 3 },
    ).subscribe({ next: (v) => values.push(v), complete: () => (completed = true) });
    await settle();
    expect(src.state.pulled).toBe(3);
    for (let i = 0; i < 20; i += 1) {
      gates[i]!.next(i);
      gates[i]!.complete();
      await settle();
      expect(src.state.pulled).toBeLessThanOrEqual(src.state.finished + 3);
      expect(src.state.pulled).toBe(Math.min(20, i + 4));
    }
    expect(values).toEqual([...naturals(20)].map((n) => n - 1));
    expect(completed).toBe(true);
    expect(src.state.maxAhead).toBeLessThanOrEqual(3);
  });

  it('pulls only `concurrency` items of a 1,000,000-item generator while they are busy; unsubscribe returns it', async () => {
    const src = counting(naturals(1_000_000));
    const gates: Subject<never>[] = [];
    const inflight: number[] = [];
    const sub = pullMap(
      src.async(),
      () => {
        const gate = new Subject<never>();
        gates.push(gate);
        return gate;
      },
      { concurrency: 8, onInflight: (n) => inflight.push(n) },
    ).subscribe();
    await settle(20);
    expect(src.state.pulled).toBe(8);
    gates[0]!.complete();
    await settle(20);
    expect(src.state.pulled).toBe(9);
    expect(Math.max(...inflight)).toBe(8);
    sub.unsubscribe();
    await settle();
    expect(src.state.returned).toBe(true);
    expect(src.state.pulled).toBe(9);
    expect(gates.every((g) => !g.observed)).toBe(true);
  });

  it('streams a 1,000,000-item generator with bounded look-ahead', async () => {
    const src = counting(naturals(1_000_000));
    let count = 0;
    let sum = 0;
    let maxInflight = 0;
    await new Promise<void>((resolve, reject) => {
      pullMap(src.async(), (n) => of(n).pipe(tap({ complete: () => (src.state.finished += 1) })), {
        concurrency: 4,
        onInflight: (n) => (maxInflight = Math.max(maxInflight, n)),
      }).subscribe({
        next: (n) => {
          count += 1;
          sum += n;
        },
        error: reject,
        complete: resolve,
      });
    });
    expect(count).toBe(1_000_000);
    expect(sum).toBe((1_000_000 * 1_000_001) / 2);
    expect(src.state.pulled).toBe(1_000_000);
    expect(src.state.maxAhead).toBeLessThanOrEqual(4);
    expect(maxInflight).toBeLessThanOrEqual(4);
  });

  it('an async iterator rejection errors the result', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      await Promise.resolve();
      throw new Error('cursor broke');
    }
    const seen: unknown[] = [];
    await new Promise<void>((resolve) => {
      pullMap(failing(), (n) => of(n), { concurrency: 2 }).subscribe({
        next: (v) => seen.push(v),
        error: (e: unknown) => {
          seen.push((e as Error).message);
          resolve();
        },
      });
    });
    expect(seen).toEqual([1, 'cursor broke']);
  });
});
