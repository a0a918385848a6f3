import { describe, expect, it } from 'vitest';
import { Subscription, VirtualTimeScheduler } from 'rxjs';
import { Alarm } from '../../src/operators/alarm.js';
import { trackingScheduler } from './helpers.js';

function setup() {
  const virtual = new VirtualTimeScheduler();
  const scheduler = trackingScheduler(virtual);
  const owner = new Subscription();
  const rang: number[] = [];
  const alarm = new Alarm(scheduler, owner, () => rang.push(scheduler.now()));
  return { virtual, scheduler, owner, rang, alarm };
}

describe('Alarm', () => {
  it('rings once at its due time, and a new setting replaces the one before', () => {
    const { virtual, scheduler, rang, alarm } = setup();
    alarm.set(100, 0);
    alarm.set(40, 0);
    expect(scheduler.live()).toBe(1);
    virtual.flush();
    expect(rang).toEqual([40]);
    expect(scheduler.live()).toBe(0);
  });

  it('Infinity cancels it; a due time already passed rings at once', () => {
    const { virtual, scheduler, rang, alarm } = setup();
    alarm.set(100, 0);
    alarm.set(Infinity, 0);
    expect(scheduler.live()).toBe(0);
    alarm.set(-5, 0); // the clock passed the end the caller saw (issue 11.19)
    virtual.flush();
    expect(rang).toEqual([0]);
  });

  it('is held by its owner while pending, released when it rings, and not set once the owner is closed', () => {
    const { virtual, scheduler, owner, alarm } = setup();
    alarm.set(10, 0);
    virtual.flush();
    alarm.set(20, 10);
    owner.unsubscribe();
    expect(scheduler.live()).toBe(0);
    alarm.set(30, 10);
    expect(scheduler.live()).toBe(0);
  });
});
