import { expect } from 'vitest';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

/** A TestScheduler whose deep equality is vitest's. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).toEqual(expected);
  });
}

export { settle } from '../support/virtual-time.js';

/** Wraps a scheduler to count the scheduled actions that are still live (not run, not cancelled). */
export function trackingScheduler(inner: SchedulerLike): SchedulerLike & { readonly live: () => number } {
  const live = new Set<Subscription>();
  return {
    now: () => inner.now(),
    live: () => live.size,
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
      const subscription: Subscription = inner.schedule(
        function (this: SchedulerAction<S>, s?: S) {
          live.delete(subscription); // ran: no longer pending
          work.call(this, s);
        },
        delay,
        state,
      );
      live.add(subscription);
      subscription.add(() => live.delete(subscription));
      return subscription;
    },
  };
}
