/**
 * The dispatch pipeline whole, in virtual time: its ports answer with TestScheduler cold
 * observables (the create calls, the store writes) and a hot Jobs watch, and the outcome
 * stream and the ports' subscriptions are asserted as marble diagrams.
 */
import { describe, expect, it } from 'vitest';
import { NEVER, of, throwError, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { PkgstreamError } from '../../src/domain/errors.js';
import type { AttentionFailure, JobsWatchEvent, UnsolvedItem } from '../../src/domain/ports.js';
import type { JobStatus, PackageIndex, SolverJobRequest, StoredRelease } from '../../src/domain/types.js';
import {
  dispatchOnce,
  dispatchPipeline,
  type DispatchItem,
  type DispatchOptions,
  type DispatchPipelineOutcome,
  type DispatchStore,
  type ReleasedMessage,
} from '../../src/pipelines/dispatch.js';
import { testScheduler } from '../operators/helpers.js';

const INDEX: PackageIndex = { id: 1, simpleUrl: 'https://pypi.example/simple', jsonApiUrl: null, rssUrl: null, verifyTls: true, enabled: true, watchMode: 'all' };
const SOLVER = 'solver-a';

const OPTIONS: DispatchOptions = {
  solvers: [SOLVER],
  capacity: 5,
  scanIntervalMs: 60_000,
  pageSize: 10,
  concurrency: 4,
  maxJobAttempts: 3,
  reverse: false,
  dedupeMax: 100,
  // Every backoff is half its cap: 500 ms for the first refused create call.
  random: () => 0.5,
};

const release = (id: number, project: string): StoredRelease => ({
  id,
  indexId: INDEX.id,
  indexUrl: INDEX.simpleUrl,
  project,
  version: '1.0',
  state: 'present',
  yankedReason: null,
  artifacts: [],
  lastCheckedAt: null,
  nextDueAt: new Date(0),
});
const ALPHA = release(1, 'alpha');
const BETA = release(2, 'beta');

const itemOf = (r: StoredRelease): DispatchItem => ({ releaseId: r.id, indexUrl: r.indexUrl, project: r.project, version: r.version, solver: SOLVER });
const unsolvedOf = (r: StoredRelease): UnsolvedItem => ({ ...itemOf(r), indexId: r.indexId });
/** The Job sink's name: the attempt joins it from the second on. */
const jobNameOf = (r: { readonly project: string; readonly attempt?: number }): string =>
  `solver-${SOLVER}-${r.project}-1.0${r.attempt !== undefined && r.attempt > 1 ? `-a${r.attempt}` : ''}`;
const finishedJob = (r: StoredRelease, phase: 'succeeded' | 'failed' = 'succeeded', attempt = 1): JobStatus => ({
  name: jobNameOf({ project: r.project, attempt }),
  phase,
  labels: {},
  annotations: {},
  startedAt: null,
  finishedAt: null,
});

function message(r: StoredRelease, acks: string[]): ReleasedMessage {
  return {
    value: { index_url: r.indexUrl, package_name: r.project, package_version: r.version },
    ack: () => {
      acks.push(r.project);
      return of(undefined);
    },
  };
}

/** What a create call answers. */
interface CreateAnswer {
  readonly jobName: string;
  readonly outcome: 'created' | 'exists';
}

/** Ports whose every call answers with an observable the test made. */
function fakePorts(options: {
  readonly releases?: readonly StoredRelease[];
  readonly unsolved?: readonly StoredRelease[];
  /** The answers to the create calls of each Job, in call order. */
  readonly calls: ReadonlyMap<string, Observable<CreateAnswer>[]>;
  readonly watch: Observable<JobsWatchEvent>;
  readonly recordScheduled?: () => Observable<{ attempts: number }>;
}) {
  const attention: AttentionFailure[] = [];
  /** Job names recorded per pair: a new name is a new attempt, as the real store counts. */
  const runs = new Map<string, Set<string>>();
  const store: DispatchStore = {
    listIndexes: () => of([INDEX]),
    loadRelease: (_indexId, project) => of(options.releases?.find((r) => r.project === project) ?? null),
    scanUnsolved: () => (options.unsolved ?? []).map(unsolvedOf),
    recordScheduled: (run) => {
      if (options.recordScheduled) return options.recordScheduled();
      const names = runs.get(`${run.releaseId}|${run.solver}`) ?? new Set<string>();
      runs.set(`${run.releaseId}|${run.solver}`, names.add(run.jobName));
      return of({ attempts: names.size });
    },
    recordFinished: () => of(true),
    recordAttention: (failure) => {
      attention.push(failure);
      return of(failure);
    },
  };
  const jobs = {
    schedule: (request: SolverJobRequest) => options.calls.get(jobNameOf(request))?.shift() ?? NEVER,
    watch: () => options.watch,
  };
  return { store, jobs, attention };
}

const created = (r: StoredRelease): CreateAnswer => ({ jobName: jobNameOf(r), outcome: 'created' });
const scheduled = (r: StoredRelease): DispatchPipelineOutcome => ({ type: 'scheduled', item: itemOf(r), jobName: jobNameOf(r), outcome: 'created', runAttempts: 1 });
const released = (r: StoredRelease): DispatchPipelineOutcome => ({
  type: 'released',
  message: { index_url: r.indexUrl, package_name: r.project, package_version: r.version },
  items: 1,
});
const finished = (r: StoredRelease): DispatchPipelineOutcome => ({ type: 'finished', jobName: jobNameOf(r), phase: 'succeeded', item: itemOf(r), recorded: true, next: 'none' });
const emptyScan: DispatchPipelineOutcome = { type: 'scan', items: 0 };

/** The watch of one Job: none active at 0, it appears at `appears`, finishes at `finishes`. */
function oneJobWatch(hot: TestScheduler['createHotObservable'], marbles: string, r: StoredRelease) {
  return hot<JobsWatchEvent>(marbles, {
    z: { type: 'active', count: 0 },
    o: { type: 'active', count: 1 },
    f: { type: 'finished', job: finishedJob(r) },
  });
}

describe('dispatchPipeline (marbles)', () => {
  it('a released message: its Job is created, recorded, the message acked, the finish recorded', () => {
    const scheduler = testScheduler();
    const acks: string[] = [];
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const call = cold('--(r|)', { r: created(ALPHA) });
      const watch = oneJobWatch(hot, 'z--o------(zf)', ALPHA);
      const ports = fakePorts({ releases: [ALPHA], calls: new Map([[jobNameOf(ALPHA), [call]]]), watch });
      const messages = hot('-m', { m: message(ALPHA, acks) });
      const outcomes = dispatchPipeline({ ...ports, released: messages, scheduler }, OPTIONS);
      // The scan at 0 finds nothing; the create call answers at 3; the Job finishes at 10.
      expectObservable(outcomes, '^ 19ms !').toBe('s--(xr) 3ms f', { s: emptyScan, x: scheduled(ALPHA), r: released(ALPHA), f: finished(ALPHA) });
      expectSubscriptions(call.subscriptions).toBe('-^-!');
      expectSubscriptions(watch.subscriptions).toBe('^ 19ms !');
    });
    expect(acks).toEqual(['alpha']);
  });

  it('capacity full: the second Job is created only once the first one finishes', () => {
    const scheduler = testScheduler();
    const acks: string[] = [];
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const alpha = cold('--(r|)', { r: created(ALPHA) });
      const beta = cold('--(r|)', { r: created(BETA) });
      const watch = oneJobWatch(hot, 'z--o------(zf)', ALPHA);
      const calls = new Map([[jobNameOf(ALPHA), [alpha]], [jobNameOf(BETA), [beta]]]);
      const ports = fakePorts({ releases: [ALPHA, BETA], calls, watch });
      const messages = hot('-(ab)', { a: message(ALPHA, acks), b: message(BETA, acks) });
      const outcomes = dispatchPipeline({ ...ports, released: messages, scheduler }, { ...OPTIONS, capacity: 1 });
      expectObservable(outcomes, '^ 19ms !').toBe('s--(xr) 3ms f-(yq)', {
        s: emptyScan,
        x: scheduled(ALPHA),
        r: released(ALPHA),
        f: finished(ALPHA),
        y: scheduled(BETA),
        q: released(BETA),
      });
      expectSubscriptions(alpha.subscriptions).toBe('-^-!');
      // beta's call waits for the slot alpha frees at 10.
      expectSubscriptions(beta.subscriptions).toBe('10ms ^-!');
    });
    expect(acks).toEqual(['alpha', 'beta']);
  });

  it('a 409 (the Job exists) holds its slot until the watch confirms it, or for the confirm timeout', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const alpha = cold<CreateAnswer>('--(r|)', { r: { jobName: jobNameOf(ALPHA), outcome: 'exists' } });
      const beta = cold('--(r|)', { r: created(BETA) });
      // alpha's Job was already running, so the count never rises for it.
      const watch = hot<JobsWatchEvent>('o', { o: { type: 'active', count: 1 } });
      const calls = new Map([[jobNameOf(ALPHA), [alpha]], [jobNameOf(BETA), [beta]]]);
      const ports = fakePorts({ releases: [ALPHA, BETA], calls, watch });
      const messages = hot('-(ab)', { a: message(ALPHA, []), b: message(BETA, []) });
      const outcomes = dispatchPipeline({ ...ports, released: messages, scheduler }, { ...OPTIONS, capacity: 2, scanIntervalMs: 120_000 });
      expectObservable(outcomes, '^ 60009ms !').toBe('s--(xr) 59998ms (yq)', {
        s: emptyScan,
        x: { ...scheduled(ALPHA), outcome: 'exists' },
        r: released(ALPHA),
        y: scheduled(BETA),
        q: released(BETA),
      });
      // The expectation of alpha's Job lapses 60 s after its answer at 3.
      expectSubscriptions(beta.subscriptions).toBe('60003ms ^-!');
    });
  });

  it('a create call refused by the quota: every call waits out the backoff, then the Job is created', () => {
    const scheduler = testScheduler();
    const quota = new PkgstreamError('JOB_QUOTA', 'exceeded quota: solver-jobs');
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const refused = cold<CreateAnswer>('-#', {}, quota);
      const accepted = cold('-(r|)', { r: created(ALPHA) });
      const watch = hot<JobsWatchEvent>('z', { z: { type: 'active', count: 0 } });
      const ports = fakePorts({ releases: [ALPHA], calls: new Map([[jobNameOf(ALPHA), [refused, accepted]]]), watch });
      const messages = hot('-m', { m: message(ALPHA, []) });
      const outcomes = dispatchPipeline({ ...ports, released: messages, scheduler }, OPTIONS);
      // Refused at 2, paused for 500 ms (half the 1 s cap), called again at 502, created at 503.
      expectObservable(outcomes, '^ 599ms !').toBe('s 502ms (xr)', { s: emptyScan, x: scheduled(ALPHA), r: released(ALPHA) });
      expectSubscriptions(refused.subscriptions).toBe('-^!');
      expectSubscriptions(accepted.subscriptions).toBe('502ms ^!');
    });
  });

  it('a failed Job is re-run under a name of its own, and goes to attention once its attempts are used up', () => {
    const scheduler = testScheduler();
    let ports: ReturnType<typeof fakePorts> | undefined;
    scheduler.run(({ cold, hot, expectObservable }) => {
      const first = cold('--(r|)', { r: created(ALPHA) });
      const rerun = cold<CreateAnswer>('--(r|)', { r: { jobName: jobNameOf({ project: 'alpha', attempt: 2 }), outcome: 'created' } });
      const watch = hot<JobsWatchEvent>('z--o------zf-o------zg', {
        z: { type: 'active', count: 0 },
        o: { type: 'active', count: 1 },
        f: { type: 'finished', job: finishedJob(ALPHA, 'failed') },
        g: { type: 'finished', job: finishedJob(ALPHA, 'failed', 2) },
      });
      const calls = new Map([[jobNameOf(ALPHA), [first]], [jobNameOf({ project: 'alpha', attempt: 2 }), [rerun]]]);
      ports = fakePorts({ releases: [ALPHA], calls, watch });
      const messages = hot('-m', { m: message(ALPHA, []) });
      const outcomes = dispatchPipeline({ ...ports, released: messages, scheduler }, { ...OPTIONS, maxJobAttempts: 2 });
      const retried = { ...itemOf(ALPHA), attempt: 2 };
      const secondName = jobNameOf(retried);
      expectObservable(outcomes, '^ 29ms !').toBe('s--(xr) 4ms f-y 7ms g', {
        s: emptyScan,
        x: scheduled(ALPHA),
        r: released(ALPHA),
        f: { type: 'finished', jobName: jobNameOf(ALPHA), phase: 'failed', item: itemOf(ALPHA), recorded: true, next: 'retry' },
        y: { type: 'scheduled', item: retried, jobName: secondName, outcome: 'created', runAttempts: 2 },
        g: { type: 'finished', jobName: secondName, phase: 'failed', item: retried, recorded: true, next: 'attention' },
      });
    });
    expect(ports?.attention.map((a) => [a.itemKey, a.errorCode, a.attempts])).toEqual([[`${INDEX.simpleUrl}|alpha|1.0|${SOLVER}`, 'JOB_FAILED', 2]]);
  });

  it('a stop while a store write is retried: no more outcomes, nothing acked or sent to attention, every port let go', () => {
    const scheduler = testScheduler();
    const acks: string[] = [];
    let ports: ReturnType<typeof fakePorts> | undefined;
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const call = cold('--(r|)', { r: created(ALPHA) });
      const watch = oneJobWatch(hot, 'z--o', ALPHA);
      const refusedWrite = () => throwError(() => new PkgstreamError('DB_CONFLICT', 'could not serialize access'));
      ports = fakePorts({ releases: [ALPHA], calls: new Map([[jobNameOf(ALPHA), [call]]]), watch, recordScheduled: refusedWrite });
      const messages = hot('-m', { m: message(ALPHA, acks) });
      const outcomes = dispatchPipeline({ ...ports, released: messages, scheduler }, OPTIONS);
      // The write is refused at 3 and retried after 250 ms, 500 ms, ...: the stop at 100 ends it.
      expectObservable(outcomes, '^ 99ms !').toBe('s', { s: emptyScan });
      expectSubscriptions(watch.subscriptions).toBe('^ 99ms !');
      expectSubscriptions(messages.subscriptions).toBe('^ 99ms !');
    });
    expect(acks).toEqual([]);
    expect(ports?.attention).toEqual([]);
  });
});

describe('dispatchOnce (marbles)', () => {
  it('drains: completes once every item of its pass has its outcome, waiting for a slot at capacity', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, hot, expectObservable }) => {
      const alpha = cold('--(r|)', { r: created(ALPHA) });
      const beta = cold('--(r|)', { r: created(BETA) });
      const watch = oneJobWatch(hot, 'z-o-------(zf)', ALPHA);
      const calls = new Map([[jobNameOf(ALPHA), [alpha]], [jobNameOf(BETA), [beta]]]);
      const ports = fakePorts({ unsolved: [ALPHA, BETA], calls, watch });
      const outcomes = dispatchOnce({ ...ports, scheduler }, { ...OPTIONS, capacity: 1 });
      expectObservable(outcomes).toBe('--x 7ms f-(yp|)', {
        x: scheduled(ALPHA),
        f: finished(ALPHA),
        y: scheduled(BETA),
        p: { type: 'scan', items: 2 },
      });
    });
  });
});
