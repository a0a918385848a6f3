import { describe, expect, it } from 'vitest';
import { DispatchPause } from '../../src/operators/dispatch-pause.js';

const backoff = { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.5 };

describe('DispatchPause', () => {
  it('is not paused until a failure, then pauses a full-jitter delay that doubles per failure up to the cap', () => {
    const pause = new DispatchPause(backoff);
    expect(pause.isPaused(0)).toBe(false);
    expect(pause.deadline(0)).toBe(Infinity);
    const ends: number[] = [];
    for (let failure = 0, now = 0; failure < 6; failure += 1) {
      pause.failed(now, new Error('quota'), false);
      now = pause.deadline(now);
      ends.push(now);
    }
    // 0.5 * min(1000, 100 * 2^(n-1)): 50, 100, 200, 400, 500, 500
    expect(ends).toEqual([50, 150, 350, 750, 1_250, 1_750]);
    expect(pause.isPaused(1_749)).toBe(true);
    expect(pause.isPaused(1_750)).toBe(false);
  });

  it('starts over from the base delay after a success', () => {
    const pause = new DispatchPause(backoff);
    pause.failed(0, null, false);
    pause.failed(50, null, false);
    pause.succeeded();
    pause.failed(1_000, null, false);
    expect(pause.deadline(1_000)).toBe(1_050);
  });

  it("honours a longer Retry-After, and keeps a longer pause already running", () => {
    const pause = new DispatchPause(backoff);
    pause.failed(0, { retryAfterMs: 2_000 }, false);
    expect(pause.deadline(0)).toBe(2_000);
    pause.failed(10, new Error('short'), false);
    expect(pause.deadline(10)).toBe(2_000);
  });

  it('ends a refusal without Retry-After when a Job finishes, but not a fault or a Retry-After', () => {
    const refused = new DispatchPause(backoff);
    refused.failed(0, new Error('exceeded quota'), true);
    refused.jobFinished();
    expect(refused.isPaused(1)).toBe(false);

    const told = new DispatchPause(backoff);
    told.failed(0, { retryAfterMs: 5_000 }, true);
    told.jobFinished();
    expect(told.isPaused(1)).toBe(true);

    const fault = new DispatchPause(backoff);
    fault.failed(0, new Error('503'), false);
    fault.jobFinished();
    expect(fault.isPaused(1)).toBe(true);
  });
});
