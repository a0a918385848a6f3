import { describe, expect, it } from 'vitest';
import { lastValueFrom, throwError, of, type Observable } from 'rxjs';
import type { PackageIndex } from '../../../src/domain/types.js';
import { IndexLookup } from '../../../src/pipelines/update/index-lookup.js';

const index = (id: number): PackageIndex => ({ id, simpleUrl: `https://${id}.example/simple`, jsonApiUrl: null, rssUrl: null, verifyTls: true, enabled: true, watchMode: 'all' });

/** A listing that answers each call with the next of `answers` (the last one again once they run out). */
function listing(answers: (() => Observable<readonly PackageIndex[]>)[]) {
  let calls = 0;
  return {
    calls: () => calls,
    list: () => answers[Math.min(calls++, answers.length - 1)]!(),
  };
}

describe('IndexLookup', () => {
  it('lists once for every project of the pass', async () => {
    const store = listing([() => of([index(1), index(2)])]);
    const lookup = new IndexLookup(store.list);
    expect(await lastValueFrom(lookup.find(1))).toEqual(index(1));
    expect(await lastValueFrom(lookup.find(2))).toEqual(index(2));
    expect(store.calls()).toBe(1);
  });

  it('lists once more for an id it does not know, and only once per id', async () => {
    const store = listing([() => of([index(1)]), () => of([index(1), index(2)])]);
    const lookup = new IndexLookup(store.list);
    expect(await lastValueFrom(lookup.find(2))).toEqual(index(2));
    expect(store.calls()).toBe(2);
    expect(await lastValueFrom(lookup.find(3))).toBeNull();
    expect(store.calls()).toBe(3);
    expect(await lastValueFrom(lookup.find(3))).toBeNull();
    expect(store.calls()).toBe(3);
  });

  it('a failed listing fails the project that asked; the next lists again', async () => {
    const store = listing([() => throwError(() => new Error('db down')), () => of([index(1)])]);
    const lookup = new IndexLookup(store.list);
    await expect(lastValueFrom(lookup.find(1))).rejects.toThrow('db down');
    expect(await lastValueFrom(lookup.find(1))).toEqual(index(1));
    expect(store.calls()).toBe(2);
  });

  it('takes a Promise-returning listing (the store adapter)', async () => {
    const lookup = new IndexLookup(async () => [index(1)]);
    expect(await lastValueFrom(lookup.find(1))).toEqual(index(1));
  });
});
