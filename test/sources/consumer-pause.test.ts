import { describe, expect, it } from 'vitest';
import { ConsumerPause, requireWaterMarks } from '../../src/sources/consumer-pause.js';

/** Delivers `n` messages; the counts after which a pause was asked for. */
function deliver(pause: ConsumerPause, n: number): number[] {
  const asked: number[] = [];
  for (let i = 0; i < n; i += 1) if (pause.delivered()) asked.push(pause.inFlight);
  return asked;
}

describe('ConsumerPause', () => {
  it('asks for a pause once more than highWater are in flight, and for a resume at lowWater', () => {
    const pause = new ConsumerPause(5, 2);
    expect(deliver(pause, 6)).toEqual([6]); // 5 in flight is not "more than 5"
    pause.confirm(true);
    expect(deliver(pause, 2)).toEqual([]); // paused already
    const resumeAsked: number[] = [];
    for (let i = 0; i < 6; i += 1) if (pause.acked()) resumeAsked.push(pause.inFlight);
    expect(resumeAsked).toEqual([2]); // 7 in flight, acked down to 2: resumed once
    expect(pause.paused).toBe(true); // until the consumer's resume() is confirmed
    pause.confirm(false);
    expect(pause.paused).toBe(false);
    expect(pause.acked()).toBe(false);
    expect(pause.inFlight).toBe(1);
  });

  it('asks again at the next message or ack when the consumer call failed (nothing confirmed)', () => {
    const pause = new ConsumerPause(1, 0);
    expect(pause.delivered()).toBe(false);
    expect(pause.delivered()).toBe(true); // pause() throws: not confirmed
    expect(pause.delivered()).toBe(true);
    pause.confirm(true);
    expect(pause.acked()).toBe(false); // 2 in flight
    expect(pause.acked()).toBe(false); // 1
    expect(pause.acked()).toBe(true); // 0: resume() throws
    expect(pause.delivered()).toBe(false); // paused still: no second pause
    expect(pause.acked()).toBe(true); // asked again
  });
});

describe('requireWaterMarks', () => {
  it('takes integers with 0 <= lowWater < highWater, else an OPTION_RANGE error', () => {
    expect(() => requireWaterMarks('kafka source', 5, 0)).not.toThrow();
    expect(() => requireWaterMarks('kafka source', 5, 5)).toThrow(/lowWater < highWater, got 5 and 5/);
    expect(() => requireWaterMarks('kafka source', 0, 0)).toThrow(/highWater must be an integer >= 1/);
    expect(() => requireWaterMarks('kafka source', 5, -1)).toThrow(/lowWater must be an integer >= 0/);
    expect(() => requireWaterMarks('kafka source', 5, 1.5)).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }) as Error);
  });
});
