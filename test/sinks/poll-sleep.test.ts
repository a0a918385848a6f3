import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PollSleep } from '../../src/sinks/poll-sleep.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** Whether `promise` has settled once pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('PollSleep', () => {
  it('ends a sleep after its time', async () => {
    const sleep = new PollSleep();
    const nap = sleep.sleep(1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(nap)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(nap)).toBe(true);
  });

  it('ends a sleep at once on wake(), and the next sleep takes its full time again', async () => {
    const sleep = new PollSleep();
    const nap = sleep.sleep(1_000);
    sleep.wake();
    expect(await settled(nap)).toBe(true);
    expect(await settled(sleep.sleep(1_000))).toBe(false);
    expect(vi.getTimerCount()).toBe(1); // the woken sleep's timer was cleared
  });

  it('keeps a wake-up that came while nobody slept for the next sleep, once', async () => {
    const sleep = new PollSleep();
    sleep.wake();
    sleep.wake();
    expect(await settled(sleep.sleep(1_000))).toBe(true);
    expect(await settled(sleep.sleep(1_000))).toBe(false);
  });

  it('after close(), ends the current sleep and every later one at once', async () => {
    const sleep = new PollSleep();
    const nap = sleep.sleep(1_000);
    expect(sleep.closed).toBe(false);
    sleep.close();
    expect(sleep.closed).toBe(true);
    expect(await settled(nap)).toBe(true);
    expect(await settled(sleep.sleep(1_000))).toBe(true);
  });
});
