import { describe, expect, it } from 'vitest';
import { concatRows, mapRows, stoppable } from '../../../src/pipelines/update/rows.js';

async function* cursor(values: number[], closed: string[]): AsyncGenerator<number> {
  try {
    yield* values;
  } finally {
    closed.push('cursor');
  }
}

async function collect<T>(rows: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const row of rows) values.push(row);
  return values;
}

describe('rows', () => {
  it('keeps sync sources sync, and goes async as soon as one source is', async () => {
    const sync = concatRows([mapRows([1, 2], (n) => n * 10), [3]]);
    expect(Symbol.iterator in sync).toBe(true);
    expect([...(sync as Iterable<number>)]).toEqual([10, 20, 3]);
    const mixed = concatRows([[1], cursor([2, 3], [])]);
    expect(Symbol.asyncIterator in mixed).toBe(true);
    expect(await collect(mixed)).toEqual([1, 2, 3]);
  });

  it('stoppable: once stopped, the next pull ends the rows and closes the source', async () => {
    const closed: string[] = [];
    let stop = false;
    let stops = 0;
    const rows = stoppable(cursor([1, 2, 3], closed), () => stop, () => (stops += 1));
    const taken: number[] = [];
    for await (const row of rows) {
      taken.push(row);
      stop = row === 2;
    }
    expect(taken).toEqual([1, 2]);
    expect(closed).toEqual(['cursor']);
    expect(stops).toBe(1);
  });

  it('stoppable: a sync source stays sync; unstopped, it reads to the end', () => {
    let stops = 0;
    const rows = stoppable([1, 2], () => false, () => (stops += 1));
    expect([...(rows as Iterable<number>)]).toEqual([1, 2]);
    expect(stops).toBe(0);
  });
});
