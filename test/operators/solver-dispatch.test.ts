import { describe, it, expect } from 'vitest';
import { BehaviorSubject, from, Observable, of, throwError, VirtualTimeScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { PkgstreamError } from '../../src/domain/errors.js';
import { solverDispatch, type DispatchOutcome } from '../../src/operators/solver-dispatch.js';
import { testScheduler, trackingScheduler } from './helpers.js';

interface ClusterOptions {
  /** When the create call answers, after it is made. */
  readonly responseMs: number;
  /** When the Job exists (becomes active), after the call is made. */
  readonly appearMs: number;
  /** How long a Job runs. */
  readonly runMs: (item: string) => number;
  /** How late the watch reports a change (0: at once). */
  readonly watchLagMs: number;
  /** Items whose Job already exists (409): the call succeeds, nothing new runs. */
  readonly exists?: ReadonlySet<string>;
  /** Calls that are refused: item -> error, for the first `refusals` calls of that item. */
  readonly refuse?: ReadonlyMap<string, { readonly error: unknown; readonly times: number }>;
}

/** A fake Kubernetes in virtual time: Jobs, a watch of the active count, and a create call. */
function fakeCluster(scheduler: SchedulerLike, opts: ClusterOptions) {
  const active = new BehaviorSubject(0);
  const state = { running: 0, max: 0, calls: [] as [number, string][], trace: [] as [number, number][] };
  const refused = new Map<string, number>();
  const setRunning = (delta: number): void => {
    state.running += delta;
    state.max = Math.max(state.max, state.running);
    state.trace.push([scheduler.now(), state.running]);
    const count = state.running;
    if (opts.watchLagMs === 0) active.next(count);
    else scheduler.schedule(() => active.next(count), opts.watchLagMs);
  };
  const schedule = (item: string): Observable<string> =>
    new Observable<string>((subscriber) => {
      state.calls.push([scheduler.now(), item]);
      const refusal = opts.refuse?.get(item);
      if (refusal && (refused.get(item) ?? 0) < refusal.times) {
        refused.set(item, (refused.get(item) ?? 0) + 1);
        return scheduler.schedule(() => subscriber.error(refusal.error), opts.responseMs);
      }
      if (!opts.exists?.has(item)) {
        scheduler.schedule(() => {
          setRunning(1);
          scheduler.schedule(() => setRunning(-1), opts.runMs(item));
        }, opts.appearMs);
      }
      return scheduler.schedule(() => {
        subscriber.next(`job-${item}`);
        subscriber.complete();
      }, opts.responseMs);
    });
  return { active, state, schedule };
}

/**
 * A clock like Node's under load: timers fire on whole milliseconds (a delay of 500.5 after
 * 500, never sooner than 1), and `tickAfterNextRead(ms)` moves the clock on right after its
 * next read: the millisecond that passes while the code that read it is still running.
 */
function wholeMillisecondClock(inner: VirtualTimeScheduler): SchedulerLike & { tickAfterNextRead(ms: number): void } {
  let offset = 0;
  let pending = 0;
  return {
    now() {
      const now = inner.now() + offset;
      offset += pending;
      pending = 0;
      return now;
    },
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay = 0, state?: S): Subscription {
      return inner.schedule(work, Math.max(1, Math.trunc(delay)), state);
    },
    tickAfterNextRead(ms) {
      pending = ms;
    },
  };
}

const ok = (item: string, attempts = 1): DispatchOutcome<string, string> => ({ ok: true, item, value: `job-${item}`, attempts });

describe('solverDispatch', () => {
  it('fills capacity, refills as Jobs finish, never exceeds it (watch after the create answer)', () => {
    const scheduler = testScheduler();
    const checkAfterRun = scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const cluster = fakeCluster(scheduler, { responseMs: 2, appearMs: 2, runMs: () => 10, watchLagMs: 1 });
      const source = cold('(abcde|)');
      const result = source.pipe(
        solverDispatch({ schedule: cluster.schedule, capacity: hot('c', { c: 2 }), active: cluster.active, scheduler }),
      );
      // a,b called at 0, run 2..12; the watch shows 0 at 13: c,d called, run 15..25; e 26 -> 28..38
      expectObservable(result).toBe('--(ab) 9ms (cd) 9ms (e|)', { a: ok('a'), b: ok('b'), c: ok('c'), d: ok('d'), e: ok('e') });
      expectSubscriptions(source.subscriptions).toBe('(^!)');
      return () => {
        expect(cluster.state.calls).toEqual([[0, 'a'], [0, 'b'], [13, 'c'], [13, 'd'], [26, 'e']]);
        expect(cluster.state.max).toBe(2);
      };
    });
    checkAfterRun();
  });

  it('does not count a Job twice when the watch shows it before the create call answers', () => {
    const scheduler = testScheduler();
    const checkAfterRun = scheduler.run(({ cold }) => {
      const cluster = fakeCluster(scheduler, { responseMs: 3, appearMs: 1, runMs: () => 10, watchLagMs: 0 });
      cold('(abcd|)')
        .pipe(solverDispatch({ schedule: cluster.schedule, capacity: cold('c', { c: 2 }), active: cluster.active, scheduler }))
        .subscribe();
      return () => {
        // a,b active 1..11; c,d called the moment they finish: capacity fully used, never exceeded
        expect(cluster.state.calls).toEqual([[0, 'a'], [0, 'b'], [11, 'c'], [11, 'd']]);
        expect(cluster.state.max).toBe(2);
      };
    });
    checkAfterRun();
  });

  it('counts Jobs already active and follows a capacity change', () => {
    const scheduler = testScheduler();
    const checkAfterRun = scheduler.run(({ cold, hot }) => {
      const cluster = fakeCluster(scheduler, { responseMs: 1, appearMs: 1, runMs: () => 100, watchLagMs: 0 });
      cluster.active.next(1); // a Job of an earlier run
      const calls: number[] = [];
      cold('(abcdef|)')
        .pipe(
          solverDispatch({ schedule: cluster.schedule, capacity: hot('a 49ms b', { a: 3, b: 5 }), active: cluster.active, scheduler }),
        )
        .subscribe();
      return () => {
        for (const [t] of cluster.state.calls) calls.push(t);
        // 2 free slots at 0, 2 more when capacity rises to 5 at 50, the rest when a, b finish at 101
        expect(calls).toEqual([0, 0, 50, 50, 101, 101]);
        expect(cluster.state.max + 1).toBeLessThanOrEqual(5);
      };
    });
    checkAfterRun();
  });

  it('an answer that creates nothing (409 exists) holds its slot only until confirmTimeoutMs', () => {
    const scheduler = testScheduler();
    const checkAfterRun = scheduler.run(({ cold, expectObservable }) => {
      const cluster = fakeCluster(scheduler, { responseMs: 2, appearMs: 2, runMs: () => 10, watchLagMs: 0, exists: new Set(['a']) });
      const result = cold('(ab|)').pipe(
        solverDispatch({ schedule: cluster.schedule, capacity: cold('c', { c: 1 }), active: cluster.active, confirmTimeoutMs: 100, scheduler }),
      );
      expectObservable(result).toBe('--a 101ms (b|)', { a: ok('a'), b: ok('b') });
      return () => expect(cluster.state.calls).toEqual([[0, 'a'], [102, 'b']]);
    });
    checkAfterRun();
  });

  it('a dry-run answer (jobName null) holds no slot: every item is called at once, capacity 1', () => {
    const scheduler = testScheduler();
    const calls: number[] = [];
    scheduler.run(({ cold }) => {
      const schedule = (item: string) => {
        calls.push(scheduler.now());
        return cold('-(v|)', { v: `dry-${item}` });
      };
      cold('(abc|)')
        .pipe(solverDispatch({ schedule, capacity: cold('c', { c: 1 }), active: cold('a', { a: 0 }), jobName: () => null, scheduler }))
        .subscribe();
    });
    // Before: each logged Job held its slot for confirmTimeoutMs (60 s): b at 60001, c at 120002.
    expect(calls).toEqual([0, 1, 2]);
  });

  it('a Job the watch reports finished without its count rising frees its slot at once', () => {
    const scheduler = testScheduler();
    const calls: [number, string][] = [];
    scheduler.run(({ cold, hot }) => {
      const schedule = (item: string) => {
        calls.push([scheduler.now(), item]);
        return cold('-(v|)', { v: `job-${item}` });
      };
      // The watch never shows the Jobs active (each created and finished during a re-list):
      // only their finish is reported, 5 ms after each create.
      const finished = hot('------a----b', { a: 'job-a', b: 'job-b' });
      cold('(abc|)')
        .pipe(
          solverDispatch({ schedule, capacity: cold('c', { c: 1 }), active: cold('a', { a: 0 }), jobName: (v: string) => v, finished, scheduler }),
        )
        .subscribe();
    });
    // Before: b waited for a's expectation to lapse at 60001.
    expect(calls).toEqual([[0, 'a'], [6, 'b'], [11, 'c']]);
  });

  it('a refused call (quota, 429) pauses dispatch for its Retry-After, then retries the item first', () => {
    const scheduler = testScheduler();
    const quota = new PkgstreamError('JOB_QUOTA', 'exceeded quota', { retryAfterMs: 50 });
    const checkAfterRun = scheduler.run(({ cold, expectObservable }) => {
      const cluster = fakeCluster(scheduler, {
        responseMs: 1,
        appearMs: 1,
        runMs: () => 1000,
        watchLagMs: 0,
        refuse: new Map([['a', { error: quota, times: 1 }]]),
      });
      const result = cold('(ab|)').pipe(
        solverDispatch({ schedule: cluster.schedule, capacity: cold('c', { c: 3 }), active: cluster.active, concurrency: 1, scheduler, random: () => 0 }),
      );
      // a refused at 1 -> pause to 51; a again at 51 (ok at 52), then b at 52 (ok at 53)
      expectObservable(result).toBe('52ms a (b|)', { a: ok('a', 2), b: ok('b') });
      return () => expect(cluster.state.calls).toEqual([[0, 'a'], [51, 'a'], [52, 'b']]);
    });
    checkAfterRun();
  });

  it('a pause that ends between two reads of the clock still ends (issue 11.19: dispatch stalled for good)', () => {
    const inner = new VirtualTimeScheduler();
    const clock = wholeMillisecondClock(inner);
    const http500 = new PkgstreamError('JOB_API_5XX', 'HTTP 500');
    let calls = 0;
    const outcomes: DispatchOutcome<string, string>[] = [];
    of('a')
      .pipe(
        solverDispatch({
          schedule: (item: string) => (++calls === 1 ? throwError(() => http500) : of(`job-${item}`)),
          capacity: of(1),
          active: of(0),
          random: () => 0.5005,
          scheduler: clock,
        }),
      )
      .subscribe((outcome) => outcomes.push(outcome));
    // a failed at 0: paused until 500.5. Its timer fires at 500, when the pause is still on,
    // and the clock passes 500.5 before the operator arms the next timer.
    clock.tickAfterNextRead(1);
    inner.flush();
    // Before: no outcome and no timer left (the second read saw no pause): stalled for good.
    expect(outcomes).toEqual([ok('a', 2)]);
    expect(calls).toBe(2);
  });

  it('a refusal (isRefusal: a full quota) uses up no attempts, and its pause ends when a Job finishes', () => {
    const scheduler = testScheduler();
    const quota = new PkgstreamError('JOB_QUOTA', 'exceeded quota');
    scheduler.run(({ cold }) => {
      const cluster = fakeCluster(scheduler, {
        responseMs: 1,
        appearMs: 1,
        runMs: (item) => (item === 'x' ? 30 : 5),
        watchLagMs: 0,
        refuse: new Map([['a', { error: quota, times: 6 }]]),
      });
      const outcomes: [number, DispatchOutcome<string, string>][] = [];
      cold('(xa|)')
        .pipe(
          solverDispatch({
            schedule: cluster.schedule,
            capacity: cold('c', { c: 5 }),
            active: cluster.active,
            concurrency: 1,
            maxAttempts: 3,
            baseDelayMs: 10_000,
            maxDelayMs: 60_000,
            random: () => 0.99,
            isRefusal: (error) => error === quota,
            scheduler,
          }),
        )
        .subscribe((o) => outcomes.push([scheduler.now(), o]));
      scheduler.flush();
      // Six refusals, more than maxAttempts, and still a success: refusals are not failures.
      expect(outcomes.map(([, o]) => [o.item, o.ok])).toEqual([['x', true], ['a', true]]);
      // a's first refusal (t=2) would pause ~9.9 s; x finishing at t=31 ends the pause at once.
      const aCalls = cluster.state.calls.filter(([, item]) => item === 'a').map(([t]) => t);
      expect(aCalls[1]).toBe(31);
      expect(outcomes[1]?.[0]).toBeLessThan(60_000 * 6);
    });
  });

  it('backs off exponentially with jitter on repeated refusals and fails after maxAttempts', () => {
    const scheduler = testScheduler();
    const busy = new PkgstreamError('JOB_RATE_LIMITED', 'too many requests');
    const fatal = new PkgstreamError('JOB_INVALID', 'bad template');
    const checkAfterRun = scheduler.run(({ cold }) => {
      const cluster = fakeCluster(scheduler, {
        responseMs: 1,
        appearMs: 1,
        runMs: () => 5,
        watchLagMs: 0,
        refuse: new Map([
          ['a', { error: busy, times: 10 }],
          ['b', { error: fatal, times: 1 }],
        ]),
      });
      const outcomes: [number, DispatchOutcome<string, string>][] = [];
      cold('(abc|)')
        .pipe(
          solverDispatch({
            schedule: cluster.schedule,
            capacity: cold('c', { c: 5 }),
            active: cluster.active,
            concurrency: 1,
            maxAttempts: 3,
            baseDelayMs: 100,
            maxDelayMs: 1000,
            random: () => 0.5,
            scheduler,
          }),
        )
        .subscribe((o) => outcomes.push([scheduler.now(), o]));
      return () => {
        // a: refused at 1 (wait 50), at 52 (wait 100), third refusal at 153 is final
        expect(cluster.state.calls.filter(([, i]) => i === 'a').map(([t]) => t)).toEqual([0, 51, 152]);
        expect(outcomes).toEqual([
          [153, { ok: false, item: 'a', error: busy, attempts: 3 }],
          [154, { ok: false, item: 'b', error: fatal, attempts: 1 }],
          [155, ok('c')],
        ]);
      };
    });
    checkAfterRun();
  });

  it('never exceeds capacity with a lagging watch and uneven Jobs, and serves every item', () => {
    const scheduler = testScheduler();
    const items = Array.from({ length: 60 }, (_, i) => `i${i}`);
    let outcomes = 0;
    const held: number[] = [];
    let cluster: ReturnType<typeof fakeCluster> | undefined;
    scheduler.run(({ cold }) => {
      cluster = fakeCluster(scheduler, { responseMs: 3, appearMs: 2, runMs: (i) => 5 + ((Number(i.slice(1)) * 37) % 40), watchLagMs: 4 });
      from(items)
        .pipe(
          solverDispatch({ schedule: cluster.schedule, capacity: cold('c', { c: 4 }), active: cluster.active, scheduler, onInflight: (n) => held.push(n) }),
        )
        .subscribe(() => (outcomes += 1));
    });
    expect(outcomes).toBe(60);
    expect(cluster!.state.max).toBe(4);
    expect(cluster!.state.trace.every(([, n]) => n <= 4)).toBe(true);
    expect(Math.max(...held)).toBe(60);
    // fully used: a slot idles only for the watch lag + the time a Job takes to appear (6),
    // so the whole run ends within (total run time + 60 * 6) / 4 plus the longest Job
    const totalRun = items.reduce((sum, i) => sum + 5 + ((Number(i.slice(1)) * 37) % 40), 0);
    const end = cluster!.state.trace.at(-1)![0];
    expect(end).toBeLessThanOrEqual((totalRun + 60 * 6) / 4 + 45);
    expect(end).toBeGreaterThanOrEqual(totalRun / 4);
    expect(held.at(-1)).toBe(0);
  });

  it('waits for both capacity and the watch before calling', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable }) => {
      const calls: string[] = [];
      const result = cold('(a|)').pipe(
        solverDispatch({
          schedule: (x: string) => {
            calls.push(x);
            return cold('(v|)', { v: x });
          },
          capacity: hot('--c', { c: 1 }),
          active: hot('----n', { n: 0 }),
          scheduler,
        }),
      );
      expectObservable(result).toBe('----(o|)', { o: { ok: true, item: 'a', value: 'a', attempts: 1 } });
    });
  });

  it('errors when the watch errors', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable }) => {
      const result = hot('a').pipe(
        solverDispatch({ schedule: () => cold('----(v|)'), capacity: cold('c', { c: 1 }), active: hot('n-#', { n: 0 }), scheduler }),
      );
      expectObservable(result).toBe('--#');
    });
  });

  it('unsubscription cancels calls, timers and inputs', () => {
    const ts = testScheduler();
    const scheduler = trackingScheduler(ts);
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const call = cold<string>('-----(v|)');
      const capacity = hot('c', { c: 2 });
      const active = hot('n', { n: 0 });
      const source = hot('abc');
      const result = source.pipe(solverDispatch({ schedule: () => call, capacity, active, scheduler }));
      expectObservable(result, '^--!').toBe('');
      expectSubscriptions(call.subscriptions).toBe(['^--!', '-^-!']);
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(capacity.subscriptions).toBe('^--!');
      expectSubscriptions(active.subscriptions).toBe('^--!');
    });
    expect(scheduler.live()).toBe(0);
  });
});
