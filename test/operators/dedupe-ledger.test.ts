import { describe, expect, it } from 'vitest';
import { DedupeLedger } from '../../src/operators/dedupe-ledger.js';

describe('DedupeLedger', () => {
  it('remembers a key once let through, until it is older than ttlMs', () => {
    const ledger = new DedupeLedger<string, string>({ max: 10, ttlMs: 5, lookupConcurrency: 1 });
    expect(ledger.isRepeat('a', 0)).toBe(false);
    expect(ledger.isRepeat('a', 4)).toBe(true);
    expect(ledger.isRepeat('a', 5)).toBe(false); // forgotten at 5, let through again: remembered to 10
    expect(ledger.isRepeat('a', 9)).toBe(true);
  });

  it('remembers at most `max` keys: the least recently seen is forgotten', () => {
    const ledger = new DedupeLedger<string, string>({ max: 2, lookupConcurrency: 1 });
    for (const key of ['a', 'b', 'c']) expect(ledger.isRepeat(key, 0)).toBe(false);
    expect(ledger.isRepeat('a', 1_000_000)).toBe(false); // pushed out by c; no ttl: b and c never expire
    expect(ledger.isRepeat('c', 1_000_000)).toBe(true);
  });

  it('starts at most lookupConcurrency lookups, oldest first, and lets items leave in arrival order once decided', () => {
    const ledger = new DedupeLedger<string, string>({ max: 10, lookupConcurrency: 2 });
    ledger.hold('A', 'a');
    ledger.hold('B', 'b');
    ledger.hold('C', 'c');
    const a = ledger.startLookup()!;
    const b = ledger.startLookup()!;
    expect([a.key, b.key]).toEqual(['a', 'b']);
    expect(ledger.startLookup()).toBeUndefined();
    b.answer(true);
    expect(ledger.takeDecided()).toBeUndefined(); // b waits behind a
    const c = ledger.startLookup()!;
    expect(c.key).toBe('c');
    a.answer(false);
    c.answer(false);
    expect(ledger.heldCount).toBe(3);
    expect([ledger.takeDecided(), ledger.takeDecided(), ledger.takeDecided(), ledger.takeDecided()]).toEqual([
      { item: 'A', key: 'a', known: false },
      { item: 'B', key: 'b', known: true },
      { item: 'C', key: 'c', known: false },
      undefined,
    ]);
    expect(ledger.heldCount).toBe(0);
  });
});
