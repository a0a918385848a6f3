import { describe, expect, it } from 'vitest';
import { NEVER, of, Subject, Subscription, throwError } from 'rxjs';
import { subscribeInner } from '../../src/operators/inner-subscription.js';

/** An owner that counts the subscriptions it still holds. */
function countingOwner(): Subscription & { held: () => number } {
  const owner = new Subscription();
  const holding = new Set<unknown>();
  const add = owner.add.bind(owner);
  const remove = owner.remove.bind(owner);
  return Object.assign(owner, {
    held: () => holding.size,
    add: (teardown: Subscription) => (holding.add(teardown), add(teardown)),
    remove: (teardown: Subscription) => (holding.delete(teardown), remove(teardown)),
  });
}

describe('subscribeInner', () => {
  it('passes values on and releases the inner subscription from its owner when it completes or errors', () => {
    const owner = countingOwner();
    const seen: string[] = [];
    const observer = { next: (v: number) => seen.push(`next ${v}`), error: () => seen.push('error'), complete: () => seen.push('complete') };
    const inner = new Subject<number>();
    subscribeInner(owner, inner, observer);
    expect(owner.held()).toBe(1);
    inner.next(1);
    inner.complete();
    expect(owner.held()).toBe(0);
    subscribeInner(owner, throwError(() => new Error('x')), observer);
    subscribeInner(owner, of(2), observer); // ends during subscribe()
    expect(owner.held()).toBe(0);
    expect(seen).toEqual(['next 1', 'complete', 'error', 'next 2', 'complete']);
  });

  it('is unsubscribed with its owner', () => {
    const owner = new Subscription();
    const inner = new Subject<number>();
    subscribeInner(owner, inner, { next: () => undefined, error: () => undefined, complete: () => undefined });
    subscribeInner(owner, NEVER, { next: () => undefined, error: () => undefined, complete: () => undefined });
    expect(inner.observed).toBe(true);
    owner.unsubscribe();
    expect(inner.observed).toBe(false);
  });
});
