/**
 * The names a root listing held, kept small enough for PyPI's (600,000 names in 4.8 MB): a
 * 64-bit digest of each name in a typed array, sorted once the listing is read, then asked by
 * binary search. Used to find the known projects a listing no longer holds (deleted on the
 * index); a digest collision (about one in 2^64 per pair) would only hide one deletion from
 * this sync, which the aging re-check still finds.
 */
import { createHash } from 'node:crypto';

export interface ListedNames {
  add(name: string): void;
  /** After the last `add`: whether `name` was added. */
  has(name: string): boolean;
}

const digest = (name: string): bigint => createHash('sha1').update(name).digest().readBigUInt64BE(0);

export function listedNames(): ListedNames {
  let digests = new BigUint64Array(1024);
  let size = 0;
  let sorted = true;
  return {
    add(name) {
      if (size === digests.length) {
        const grown = new BigUint64Array(digests.length * 2);
        grown.set(digests);
        digests = grown;
      }
      digests[size++] = digest(name);
      sorted = false;
    },
    has(name) {
      if (!sorted) {
        digests = digests.slice(0, size).sort();
        sorted = true;
      }
      const wanted = digest(name);
      let [low, high] = [0, size - 1];
      while (low <= high) {
        const middle = (low + high) >>> 1;
        const at = digests[middle]!;
        if (at === wanted) return true;
        if (at < wanted) low = middle + 1;
        else high = middle - 1;
      }
      return false;
    },
  };
}
