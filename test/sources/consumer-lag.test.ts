import { describe, expect, it } from 'vitest';
import { ConsumerLag } from '../../src/sources/consumer-lag.js';

describe('ConsumerLag', () => {
  it('is the high watermark of the last fetch minus the committed offset, per partition', () => {
    const lag = new ConsumerLag();
    expect(lag.lag('t', 0, 3n)).toBeNull(); // nothing fetched yet
    lag.fetched('t', 0, '10');
    expect(lag.lag('t', 0, null)).toBeNull(); // nothing committed yet
    expect(lag.lag('t', 0, 3n)).toBe(7);
    expect(lag.lag('t', 1, 3n)).toBeNull();
    lag.fetched('t', 0, '12');
    expect(lag.lag('t', 0, 12n)).toBe(0);
  });

  it('keeps partitions of different topics apart', () => {
    const lag = new ConsumerLag();
    lag.fetched('a', 1, '5');
    lag.fetched('a1', 0, '9'); // not to be mistaken for topic 'a' partition 10
    expect(lag.lag('a', 1, 0n)).toBe(5);
    expect(lag.lag('a1', 0, 0n)).toBe(9);
  });
});
