import { describe, expect, it } from 'vitest';
import { KafkaSourceStatusBook, type KafkaSourceStatus } from '../../src/sources/kafka-source-status.js';

describe('KafkaSourceStatusBook', () => {
  it('goes idle -> connecting -> running -> rebalancing -> running, counting the joins', () => {
    const book = new KafkaSourceStatusBook();
    const seen: KafkaSourceStatus[] = [];
    book.changes.subscribe((s) => seen.push(s));
    expect(book.current).toEqual({ state: 'idle', assignment: {}, paused: false, inFlight: 0, rebalances: 0, lastError: null });
    book.connecting();
    expect(book.isHealthy()).toBe(false);
    book.joined({ t: [0, 1] });
    expect(book.isHealthy()).toBe(true);
    book.rebalancing();
    expect(book.isHealthy()).toBe(true);
    book.joined({ t: [1] });
    expect(seen.map((s) => s.state)).toEqual(['idle', 'connecting', 'running', 'rebalancing', 'running']);
    expect(book.current).toMatchObject({ assignment: { t: [1] }, rebalances: 2 });
  });

  it('keeps the last error until the next join, and clears the assignment and the pause when stopped', () => {
    const book = new KafkaSourceStatusBook();
    book.joined({ t: [0] });
    book.backpressure(true, 7);
    book.crashed('broker gone');
    expect(book.current).toMatchObject({ state: 'crashed', lastError: 'broker gone', paused: true, inFlight: 7 });
    expect(book.isHealthy()).toBe(false);
    book.inFlight(3);
    book.joined({ t: [0] });
    expect(book.current).toMatchObject({ state: 'running', lastError: null, inFlight: 3, rebalances: 2 });
    book.stopped();
    expect(book.current).toMatchObject({ state: 'stopped', paused: false, assignment: {}, inFlight: 3 });
  });

  it('starts a new member with nothing owned and nothing in flight, keeping the count of rebalances', () => {
    const book = new KafkaSourceStatusBook();
    book.joined({ t: [0] });
    book.backpressure(true, 9);
    book.stopped();
    book.connecting();
    expect(book.current).toEqual({ state: 'connecting', assignment: {}, paused: false, inFlight: 0, rebalances: 1, lastError: null });
  });
});
