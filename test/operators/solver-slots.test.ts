import { describe, expect, it } from 'vitest';
import { SolverSlots } from '../../src/operators/solver-slots.js';

describe('SolverSlots', () => {
  it('counts the watch, the calls in flight and the created Jobs the watch has not shown', () => {
    const slots = new SolverSlots(1_000);
    expect(slots.watched).toBeNull();
    slots.watch(2);
    slots.callStarted();
    slots.callStarted();
    expect(slots.used()).toBe(4);
    slots.callCreated(0, 'a'); // created, the watch still says 2: expected until 1000
    expect(slots.used()).toBe(4);
    slots.callFailed(); // created nothing
    expect(slots.used()).toBe(3);
    slots.watch(3); // the watch shows the created Job: confirmed, not counted twice
    expect(slots.used()).toBe(3);
    expect(slots.nextDeadline()).toBe(Infinity);
  });

  it('lets an expectation lapse at its deadline (a 409 created nothing)', () => {
    const slots = new SolverSlots(1_000);
    slots.watch(0);
    slots.callStarted();
    slots.callCreated(500, 'a');
    expect(slots.nextDeadline()).toBe(1_500);
    slots.expire(1_499);
    expect(slots.used()).toBe(1);
    slots.expire(1_500);
    expect(slots.used()).toBe(0);
  });

  it('credits a rise seen while a call is in flight to that call, once', () => {
    const slots = new SolverSlots(1_000);
    slots.watch(0);
    slots.callStarted();
    slots.watch(1); // the Job appeared before the create call returned
    expect(slots.used()).toBe(1);
    slots.callCreated(0, 'a');
    expect(slots.used()).toBe(1);
    expect(slots.nextDeadline()).toBe(Infinity);
  });

  it('drops an early credit when its call fails, and reports falls', () => {
    const slots = new SolverSlots(1_000);
    slots.watch(0);
    slots.callStarted();
    expect(slots.watch(1)).toBe(false); // someone else's Job, taken for ours for now
    slots.callFailed();
    expect(slots.used()).toBe(1); // the watch's Job still counts
    expect(slots.watch(0)).toBe(true);
    expect(slots.used()).toBe(0);
  });

  it('settles a Job the watch reports finished without its count ever rising (created and finished during a re-list)', () => {
    const slots = new SolverSlots(60_000);
    slots.watch(0);
    slots.callStarted();
    slots.callCreated(0, 'job-a');
    slots.callStarted();
    slots.callCreated(0, 'job-b');
    expect(slots.used()).toBe(2);
    slots.finished('job-a'); // the re-list shows job-a finished; the count stayed 0
    expect(slots.used()).toBe(1);
    slots.watch(1); // job-b shows: confirmed, not counted twice
    expect(slots.used()).toBe(1);
    expect(slots.nextDeadline()).toBe(Infinity);
  });

  it('a Job reported finished before its create call answered holds no slot', () => {
    const slots = new SolverSlots(60_000);
    slots.watch(0);
    slots.callStarted();
    slots.finished('job-a');
    slots.callCreated(0, 'job-a');
    expect(slots.used()).toBe(0);
    expect(slots.nextDeadline()).toBe(Infinity);
  });

  it('a call that created nothing the watch will show (a dry run) holds no slot', () => {
    const slots = new SolverSlots(60_000);
    slots.watch(0);
    slots.callStarted();
    expect(slots.used()).toBe(1);
    slots.callCreated(0, null);
    expect(slots.used()).toBe(0);
    expect(slots.nextDeadline()).toBe(Infinity);
  });
});
