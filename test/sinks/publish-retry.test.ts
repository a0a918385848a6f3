import { describe, expect, it } from 'vitest';
import { PublishRetry, RELAY_BACKOFF } from '../../src/sinks/publish-retry.js';

const backoff = { baseDelayMs: 200, maxDelayMs: 1_000, random: () => 0.5 };

describe('PublishRetry', () => {
  it('waits a full-jitter delay that doubles per consecutive failure up to the cap, in whole ms', () => {
    const retry = new PublishRetry(backoff);
    const waits = Array.from({ length: 5 }, () => retry.failed(new Error('broker down')));
    // 0.5 * min(1000, 200 * 2^(n-1))
    expect(waits).toEqual([
      { attempt: 1, delayMs: 100 },
      { attempt: 2, delayMs: 200 },
      { attempt: 3, delayMs: 400 },
      { attempt: 4, delayMs: 500 },
      { attempt: 5, delayMs: 500 },
    ]);
    expect(new PublishRetry({ ...backoff, random: () => 0.3333 }).failed(null).delayMs).toBe(67);
  });

  it('starts over after a publish that succeeded', () => {
    const retry = new PublishRetry(backoff);
    retry.failed(null);
    retry.failed(null);
    retry.succeeded();
    expect(retry.failed(null)).toEqual({ attempt: 1, delayMs: 100 });
  });

  it("waits the peer's Retry-After when it is longer", () => {
    const retry = new PublishRetry(backoff);
    expect(retry.failed({ retryAfterMs: 5_000 }).delayMs).toBe(5_000);
  });

  it('by default retries from 200 ms up to 30 s apart', () => {
    expect(RELAY_BACKOFF).toMatchObject({ baseDelayMs: 200, maxDelayMs: 30_000 });
  });
});
