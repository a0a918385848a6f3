import { describe, expect, it } from 'vitest';
import { hostSlots } from '../../src/sources/index-client/host-slots.js';

describe('hostSlots', () => {
  it('lets `slots` in per host, hands a freed slot to the longest waiter, and a second release is a no-op', async () => {
    const slots = hostSlots(2);
    const order: string[] = [];
    const first = await slots.take('a');
    const second = await slots.take('a');
    const third = slots.take('a').then((release) => (order.push('third'), release));
    const fourth = slots.take('a').then((release) => (order.push('fourth'), release));
    const otherHost = await slots.take('b'); // its own slots
    await Promise.resolve();
    expect(order).toEqual([]);
    first();
    first(); // no second slot from one release
    const releaseThird = await third;
    await Promise.resolve();
    expect(order).toEqual(['third']);
    second();
    const releaseFourth = await fourth;
    expect(order).toEqual(['third', 'fourth']);
    for (const release of [releaseThird, releaseFourth, otherHost]) release();
    // All free again: two at once without waiting.
    await Promise.all([slots.take('a'), slots.take('a')]);
  });
});
