/**
 * The dispatch pipeline against fake ports: an in-memory PackageStore that keeps solver runs
 * the way the real one does (a new job name is a new attempt, the same one is a replay), an
 * outbox of the events its writes announce, and a fake cluster implementing JobScheduler whose watch() is a
 * Subject the cluster drives (Jobs start when the create call answers, run in virtual time,
 * then succeed or fail). Time is a VirtualTimeScheduler advanced step by step, with the
 * promises of the ports settled between steps.
 */
import { describe, expect, it } from 'vitest';
import { Observable, Subject, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { Registry } from 'prom-client';
import { newAttentionItem } from '../../src/domain/attention.js';
import { PkgstreamError } from '../../src/domain/errors.js';
import type {
  AttentionFailure,
  AttentionItem,
  JobScheduler,
  JobsWatchEvent,
  PackageStore,
  SolverFinished,
  SolverScheduled,
  UnsolvedCursor,
  UnsolvedItem,
  UnsolvedPage,
} from '../../src/domain/ports.js';
import type { JobOutcome, JobStatus, PackageEvent, PackageIndex, StoredRelease } from '../../src/domain/types.js';
import {
  dispatchOnce,
  dispatchPipeline,
  type DispatchJobRequest,
  type DispatchOptions,
  type DispatchPipelineOutcome,
  type ReleasedMessage,
} from '../../src/pipelines/dispatch.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { settle } from '../operators/helpers.js';
import { storedRelease } from '../support/stored-release.js';

// ---------------------------------------------------------------------------------------
// Virtual time

class Clock extends VirtualTimeScheduler {
  /** Runs every action due up to `target`, one instant at a time, settling promises between. */
  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.actions[0];
      if (!next || next.delay > target) break;
      this.maxFrames = next.delay;
      this.flush();
    }
    this.frame = Math.max(this.frame, target);
    await settle();
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.frame + ms);
  }

  /** A promise resolved `ms` of virtual time from now. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.schedule(() => resolve(), ms);
    });
  }
}

// ---------------------------------------------------------------------------------------
// Fake ports

const INDEX: PackageIndex = { id: 1, simpleUrl: 'https://pypi.example/simple', jsonApiUrl: null, rssUrl: null, verifyTls: true, enabled: true, watchMode: 'all' };

interface Run {
  releaseId: number;
  solver: string;
  jobName: string;
  state: string;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const notUsed = (): never => {
  throw new Error('not used by the dispatch pipeline');
};

class FakeStore implements PackageStore {
  /** The outbox: the events its writes announced (only the writes that changed a run). */
  readonly events = new FakeEvents();
  readonly releases: StoredRelease[] = [];
  /** By `releaseId|solver`. */
  readonly runs = new Map<string, Run>();
  readonly attention: AttentionFailure[] = [];
  readonly scheduledCalls: SolverScheduled[] = [];
  readonly finishedCalls: SolverFinished[] = [];
  scans = 0;
  /** Virtual time a recordScheduled takes. */
  writeMs = 0;
  private nextId = 1;

  constructor(private readonly clock: Clock) {}

  add(project: string, version: string): StoredRelease {
    const release = storedRelease(INDEX, project, version, { id: this.nextId++ });
    this.releases.push(release);
    return release;
  }

  /** A copy of the pair's run as it stands now. */
  run(release: StoredRelease, solver: string): Run | undefined {
    const run = this.runs.get(`${release.id}|${solver}`);
    return run ? { ...run } : undefined;
  }

  async listIndexes(): Promise<PackageIndex[]> {
    return [INDEX];
  }

  async loadRelease(indexId: number, project: string, version: string): Promise<StoredRelease | null> {
    return this.releases.find((r) => r.indexId === indexId && r.project === project && r.version === version) ?? null;
  }

  async unsolvedPage(options: { readonly solvers: readonly string[]; readonly after: UnsolvedCursor | null; readonly limit: number }): Promise<UnsolvedPage> {
    const solvers = [...new Set(options.solvers)].sort();
    const all: UnsolvedItem[] = [];
    for (const r of [...this.releases].sort((a, b) => b.id - a.id)) {
      for (const solver of solvers) {
        if (this.runs.has(`${r.id}|${solver}`)) continue;
        const after = options.after;
        if (after && !(r.id < after.releaseId || (r.id === after.releaseId && solver > after.solver))) continue;
        all.push({ releaseId: r.id, indexId: r.indexId, indexUrl: r.indexUrl, project: r.project, version: r.version, solver });
      }
    }
    const items = all.slice(0, options.limit);
    const last = items[items.length - 1];
    return { items, next: items.length < options.limit || !last ? null : { releaseId: last.releaseId, solver: last.solver } };
  }

  async *scanUnsolved(options: { readonly solvers: readonly string[]; readonly pageSize: number }): AsyncIterable<UnsolvedItem> {
    this.scans += 1;
    let after: UnsolvedCursor | null = null;
    do {
      const page = await this.unsolvedPage({ solvers: options.solvers, after, limit: options.pageSize });
      yield* page.items;
      after = page.next;
    } while (after !== null);
  }

  async recordScheduled(run: SolverScheduled): Promise<{ attempts: number }> {
    this.scheduledCalls.push(run);
    if (this.writeMs > 0) await this.clock.sleep(this.writeMs);
    const key = `${run.releaseId}|${run.solver}`;
    const existing = this.runs.get(key);
    if (!existing) {
      this.runs.set(key, { releaseId: run.releaseId, solver: run.solver, jobName: run.jobName, state: 'scheduled', attempts: 1, startedAt: null, finishedAt: null });
      this.events.write(run.event);
      return { attempts: 1 };
    }
    if (existing.jobName !== run.jobName) {
      Object.assign(existing, { jobName: run.jobName, state: 'scheduled', attempts: existing.attempts + 1, startedAt: null, finishedAt: null });
      this.events.write(run.event);
    }
    return { attempts: existing.attempts };
  }

  async recordFinished(run: SolverFinished): Promise<boolean> {
    this.finishedCalls.push(run);
    const found = [...this.runs.values()].find((r) => r.jobName === run.jobName);
    if (found) {
      const changed = found.state !== run.phase || found.finishedAt?.getTime() !== run.finishedAt?.getTime();
      Object.assign(found, { state: run.phase, startedAt: run.startedAt, finishedAt: run.finishedAt });
      if (changed) this.events.write(run.event);
      return true;
    }
    if (run.releaseId === undefined || run.solver === undefined) return false;
    this.runs.set(`${run.releaseId}|${run.solver}`, {
      releaseId: run.releaseId,
      solver: run.solver,
      jobName: run.jobName,
      state: run.phase,
      attempts: 1,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    });
    this.events.write(run.event);
    return true;
  }

  async recordAttention(failure: AttentionFailure): Promise<AttentionItem> {
    this.attention.push(failure);
    return newAttentionItem(this.attention.length, failure, new Date(this.clock.now()));
  }

  isKnownProject = notUsed;
  knownProjects = notUsed;
  unrecordedProjects = notUsed;
  recordRelease = notUsed;
  recordReleases = notUsed;
  loadProjectReleases = notUsed;
  scanDue = notUsed;
  countDue = notUsed;
  applyCheck = notUsed;
  applyChecks = notUsed;
  deferCheck = notUsed;
  getCheckpoint = notUsed;
  saveCheckpoint = notUsed;
  listAttention = notUsed;
  resolveAttention = notUsed;
  requestRetry = notUsed;
  openAttentionCounts = notUsed;
}

class FakeEvents {
  readonly published: PackageEvent[] = [];
  write(event: PackageEvent | undefined): void {
    if (event) this.published.push(event);
  }
  of(kind: PackageEvent['kind']): PackageEvent[] {
    return this.published.filter((e) => e.kind === kind);
  }
}

interface ClusterOptions {
  /** When a create call answers (the Job starts then). Default 1. */
  readonly responseMs?: number;
  /** How long a Job runs. Default 10. */
  readonly runMs?: number;
  /** Whether the Job fails. Default: never. */
  readonly fails?: (request: DispatchJobRequest) => boolean;
  /** Create calls refused: the first `times` calls for the Job name reject with `error`. */
  readonly refuse?: ReadonlyMap<string, { readonly error: unknown; readonly times: number }>;
  readonly dryRun?: boolean;
  /** The Job starts when the call is made, not when it answers (the watch may report it first). */
  readonly startOnCall?: boolean;
  /** How the cluster's Job sink names a Job (default `jobName`). */
  readonly name?: (request: DispatchJobRequest) => string;
}

/** The name the Job sink should give: the attempt joins the name from the second attempt on. */
const jobName = (r: DispatchJobRequest): string =>
  `${r.template ?? 'solver'}-${r.solver}-${r.project}-${r.version}${r.attempt !== undefined && r.attempt > 1 ? `-a${r.attempt}` : ''}`;

/** A fake Kubernetes in virtual time: Jobs created by schedule(), reported by watch(). */
class FakeCluster implements JobScheduler {
  readonly events = new Subject<JobsWatchEvent>();
  readonly calls: { at: number; request: DispatchJobRequest }[] = [];
  readonly jobs = new Map<string, { request: DispatchJobRequest; phase: JobStatus['phase'] }>();
  running = 0;
  calling = 0;
  maxRunning = 0;
  watchSubscriptions = 0;
  watchUnsubscriptions = 0;
  /** [time, running + calls in flight] after every change. */
  readonly usedTrace: [number, number][] = [];
  private readonly refused = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly options: ClusterOptions = {},
  ) {}

  private trace(): void {
    this.usedTrace.push([this.clock.now(), this.running + this.calling]);
  }

  /** A Job that already exists (a 409 for its name), active until `finishAt`. */
  preexisting(request: DispatchJobRequest): void {
    this.jobs.set(this.nameOf(request), { request, phase: 'active' });
  }

  nameOf(request: DispatchJobRequest): string {
    return (this.options.name ?? jobName)(request);
  }

  async schedule(request: DispatchJobRequest): Promise<{ jobName: string; outcome: JobOutcome }> {
    const name = this.nameOf(request);
    this.calls.push({ at: this.clock.now(), request });
    if (this.options.startOnCall && !this.jobs.has(name)) {
      this.start(name, request);
      await this.clock.sleep(this.options.responseMs ?? 1);
      return { jobName: name, outcome: 'created' };
    }
    this.calling += 1;
    this.trace();
    await this.clock.sleep(this.options.responseMs ?? 1);
    this.calling -= 1;
    const refusal = this.options.refuse?.get(name);
    if (refusal && (this.refused.get(name) ?? 0) < refusal.times) {
      this.refused.set(name, (this.refused.get(name) ?? 0) + 1);
      this.trace();
      throw refusal.error;
    }
    if (this.options.dryRun) return { jobName: name, outcome: 'dry-run' };
    if (this.jobs.has(name)) {
      this.trace();
      return { jobName: name, outcome: 'exists' };
    }
    this.start(name, request);
    return { jobName: name, outcome: 'created' };
  }

  private start(name: string, request: DispatchJobRequest): void {
    const startedAt = new Date(this.clock.now());
    this.jobs.set(name, { request, phase: 'active' });
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.trace();
    this.events.next({ type: 'active', count: this.running });
    this.clock.schedule(() => {
      const phase = this.options.fails?.(request) ? 'failed' : 'succeeded';
      this.jobs.set(name, { request, phase });
      this.running -= 1;
      this.trace();
      this.events.next({ type: 'active', count: this.running });
      this.events.next({ type: 'finished', job: this.status(name, request, phase, startedAt) });
    }, this.options.runMs ?? 10);
  }

  status(name: string, request: DispatchJobRequest, phase: JobStatus['phase'], startedAt: Date): JobStatus {
    return {
      name,
      phase,
      labels: { 'pkgstream.dev/solver': request.solver },
      annotations: {
        'pkgstream.dev/index-url': request.indexUrl,
        'pkgstream.dev/project': request.project,
        'pkgstream.dev/version': request.version,
        'pkgstream.dev/solver': request.solver,
      },
      startedAt,
      finishedAt: new Date(this.clock.now()),
    };
  }

  watch(): Observable<JobsWatchEvent> {
    return new Observable<JobsWatchEvent>((subscriber) => {
      this.watchSubscriptions += 1;
      subscriber.next({ type: 'active', count: this.running });
      const inner = this.events.subscribe(subscriber);
      return () => {
        this.watchUnsubscriptions += 1;
        inner.unsubscribe();
      };
    });
  }

  async close(): Promise<void> {}

  callsFor(project: string, solver?: string): DispatchJobRequest[] {
    return this.calls.map((c) => c.request).filter((r) => r.project === project && (solver === undefined || r.solver === solver));
  }
}

function releasedMessage(project: string, version: string, onAck: () => void = () => undefined) {
  const state = { acked: 0 };
  const message: ReleasedMessage = {
    value: { index_url: INDEX.simpleUrl, package_name: project, package_version: version },
    ack: async () => {
      state.acked += 1;
      onAck();
    },
  };
  return { message, state };
}

// ---------------------------------------------------------------------------------------
// Harness

const BASE: DispatchOptions = {
  solvers: ['solver-a'],
  capacity: 5,
  scanIntervalMs: 60_000,
  pageSize: 10,
  concurrency: 4,
  maxJobAttempts: 3,
  reverse: false,
  dedupeMax: 1000,
  random: () => 0,
};

function setup(cluster: ClusterOptions = {}) {
  const clock = new Clock();
  const store = new FakeStore(clock);
  const jobs = new FakeCluster(clock, cluster);
  const events = store.events;
  const released = new Subject<ReleasedMessage>();
  const outcomes: DispatchPipelineOutcome[] = [];
  const errors: unknown[] = [];
  let subscription: Subscription | null = null;
  const start = (options: Partial<DispatchOptions> = {}): void => {
    subscription = dispatchPipeline({ store, jobs, released, scheduler: clock }, { ...BASE, ...options }).subscribe({
      next: (o) => outcomes.push(o),
      error: (e: unknown) => errors.push(e),
    });
  };
  const stop = (): void => subscription?.unsubscribe();
  const ofType = <K extends DispatchPipelineOutcome['type']>(type: K) =>
    outcomes.filter((o): o is Extract<DispatchPipelineOutcome, { type: K }> => o.type === type);
  return { clock, store, jobs, events, released, outcomes, errors, start, stop, ofType };
}

// ---------------------------------------------------------------------------------------

describe('dispatchPipeline', () => {
  it('never exceeds the capacity with 50 items and capacity 5, and keeps it full while work waits', async () => {
    const t = setup({ responseMs: 1, runMs: 10 });
    for (let i = 0; i < 25; i += 1) t.store.add(`p${i}`, '1.0');
    const registry = new Registry();
    const metrics = createMetrics(registry, { defaultMetrics: false });
    t.start({ solvers: ['solver-a', 'solver-b'], capacity: 5, concurrency: 8, metrics });
    await t.clock.advanceTo(1_000);

    expect(t.errors).toEqual([]);
    expect(t.jobs.calls).toHaveLength(50); // every item once
    expect(new Set(t.jobs.calls.map((c) => jobName(c.request))).size).toBe(50);
    expect(t.jobs.maxRunning).toBe(5);
    // slots in use (running Jobs + create calls in flight), as they stand at the end of each instant
    const atEnd = new Map<number, number>();
    for (const [at, used] of t.jobs.usedTrace) atEnd.set(at, used);
    expect(Math.max(...t.jobs.usedTrace.map(([, used]) => used))).toBe(5);
    const lastCall = Math.max(...t.jobs.calls.map((c) => c.at));
    const whileWaiting = [...atEnd].filter(([at]) => at < lastCall);
    expect(whileWaiting.length).toBeGreaterThan(5);
    for (const [at, used] of whileWaiting) expect({ at, used }).toEqual({ at, used: 5 });
    // 10 waves of 5: a wave takes 1 ms to create and 10 ms to run
    expect(lastCall).toBe(99);

    expect(t.ofType('scheduled')).toHaveLength(50);
    expect(t.store.runs.size).toBe(50);
    expect([...t.store.runs.values()].every((r) => r.state === 'succeeded')).toBe(true);
    expect(t.ofType('scan')).toEqual([{ type: 'scan', items: 50 }]);
    expect(t.jobs.watchSubscriptions).toBe(1); // active counts and finished Jobs share one watch
    expect((await metrics.jobsCapacity.get()).values[0]?.value).toBe(5);
    expect((await metrics.lastSuccessfulPass.get()).values[0]?.labels).toEqual({ pipeline: 'dispatch' });
    const scheduleInflight = (await metrics.stageInflight.get()).values.find((v) => v.labels.stage === 'schedule');
    expect(scheduleInflight?.value).toBe(0);
    t.stop();
    expect(t.jobs.watchUnsubscriptions).toBe(1);
  });

  it('a released message yields one Job per solver and is acked only after their solver runs are recorded', async () => {
    const t = setup({ responseMs: 1, runMs: 50 });
    const release = t.store.add('requests', '2.32.0');
    t.store.writeMs = 5;
    const runsAtAck: (Run | undefined)[][] = [];
    const { message, state } = releasedMessage('Requests', '2.32.0', () =>
      runsAtAck.push([t.store.run(release, 'solver-a'), t.store.run(release, 'solver-b')]),
    );
    t.start({ solvers: ['solver-a', 'solver-b'], scanIntervalMs: 60_000 });
    await t.clock.advanceTo(100);
    expect(t.jobs.calls).toHaveLength(2); // the scan at 0 scheduled the stored release
    expect(t.ofType('scan')).toEqual([{ type: 'scan', items: 2 }]);

    // a new release, announced by a message
    const fresh = t.store.add('flask', '3.1.0');
    const announced = releasedMessage('Flask', '3.1.0', () =>
      runsAtAck.push([t.store.run(fresh, 'solver-a'), t.store.run(fresh, 'solver-b')]),
    );
    t.released.next(announced.message);
    await t.clock.advance(1); // the create calls answered, the runs not yet recorded (5 ms)
    expect(t.jobs.callsFor('flask').map((r) => r.solver).sort()).toEqual(['solver-a', 'solver-b']);
    expect(announced.state.acked).toBe(0);
    await t.clock.advance(3);
    expect(announced.state.acked).toBe(0);
    await t.clock.advance(10);
    expect(announced.state.acked).toBe(1);
    expect(runsAtAck).toEqual([[expect.objectContaining({ state: 'scheduled' }), expect.objectContaining({ state: 'scheduled' })]]);
    expect(t.ofType('released')).toEqual([{ type: 'released', message: announced.message.value, items: 2 }]);

    // the first message names an already scheduled release: no new Job, acked at once
    t.released.next(message);
    await t.clock.advance(1);
    expect(state.acked).toBe(1);
    expect(t.jobs.callsFor('requests')).toHaveLength(2);
    expect(t.errors).toEqual([]);
    t.stop();
  });

  it('schedules a release once when both the message and the scan bring it', async () => {
    const t = setup({ responseMs: 3, runMs: 20 });
    const release = t.store.add('numpy', '2.0.0');
    t.store.writeMs = 5;
    const runsAtAck: (Run | undefined)[][] = [];
    const { message, state } = releasedMessage('numpy', '2.0.0', () =>
      runsAtAck.push([t.store.run(release, 'solver-a'), t.store.run(release, 'solver-b')]),
    );
    t.start({ solvers: ['solver-a', 'solver-b'] });
    await t.clock.advanceTo(1); // the scan at 0 brought both pairs: created at 3, recorded at 8
    t.released.next(message); // a repeat of items in flight: it waits for their outcome
    await t.clock.advanceTo(7);
    expect(state.acked).toBe(0);
    await t.clock.advanceTo(200);
    expect(state.acked).toBe(1);
    expect(runsAtAck).toEqual([[expect.objectContaining({ state: 'scheduled' }), expect.objectContaining({ state: 'scheduled' })]]);
    expect(t.jobs.calls).toHaveLength(2);
    expect(t.store.scheduledCalls).toHaveLength(2);
    expect(t.ofType('scheduled')).toHaveLength(2);
    expect(t.ofType('scan')).toEqual([{ type: 'scan', items: 2 }]);
    // both at the same instant, the message first this time
    const other = t.store.add('pandas', '2.2.0');
    const both = releasedMessage('pandas', '2.2.0');
    await t.clock.advanceTo(59_999);
    t.released.next(both.message);
    await t.clock.advanceTo(61_000);
    expect(t.store.scans).toBe(2);
    expect(t.jobs.callsFor('pandas')).toHaveLength(2);
    expect(t.store.run(other, 'solver-a')).toBeDefined();
    expect(both.state.acked).toBe(1);
    expect(t.jobs.calls).toHaveLength(4);
    t.stop();
  });

  it('acks a message naming an unknown release without scheduling anything', async () => {
    const t = setup();
    const { message, state } = releasedMessage('ghost', '0.1');
    t.start();
    t.released.next(message);
    await t.clock.advanceTo(10);
    expect(state.acked).toBe(1);
    expect(t.jobs.calls).toEqual([]);
    expect(t.ofType('released')).toEqual([{ type: 'released', message: message.value, items: 0 }]);
    t.stop();
  });

  it('counts a 409 exists as scheduled', async () => {
    const t = setup();
    const release = t.store.add('django', '5.0');
    t.jobs.preexisting({ indexUrl: INDEX.simpleUrl, project: 'django', version: '5.0', solver: 'solver-a', template: 'solver' });
    t.start();
    await t.clock.advanceTo(10);
    expect(t.ofType('scheduled')).toEqual([
      expect.objectContaining({ outcome: 'exists', jobName: 'solver-solver-a-django-5.0', runAttempts: 1 }),
    ]);
    expect(t.store.run(release, 'solver-a')).toMatchObject({ jobName: 'solver-solver-a-django-5.0', state: 'scheduled' });
    expect(t.events.of('solver-scheduled')).toEqual([
      { kind: 'solver-scheduled', indexUrl: INDEX.simpleUrl, project: 'django', version: '5.0', solver: 'solver-a', fields: { job_name: 'solver-solver-a-django-5.0' } },
    ]);
    expect(t.store.attention).toEqual([]);
    t.stop();
  });

  it('waits out a quota refusal (retriable, retryAfterMs) and then schedules', async () => {
    const quota = new PkgstreamError('JOB_QUOTA', 'exceeded quota', { retryAfterMs: 5_000 });
    const t = setup({ refuse: new Map([['solver-solver-a-scipy-1.14', { error: quota, times: 1 }]]) });
    t.store.add('scipy', '1.14');
    t.start();
    await t.clock.advanceTo(4_000);
    expect(t.jobs.calls.map((c) => c.at)).toEqual([0]);
    expect(t.ofType('scheduled')).toEqual([]);
    await t.clock.advanceTo(6_000);
    expect(t.jobs.calls.map((c) => c.at)).toEqual([0, 5_001]);
    expect(t.ofType('scheduled')).toEqual([expect.objectContaining({ jobName: 'solver-solver-a-scipy-1.14', outcome: 'created' })]);
    expect(t.store.attention).toEqual([]);
    t.stop();
  });

  it('sends a create call that fails for good to attention, and goes on', async () => {
    const invalid = new PkgstreamError('JOB_INVALID', 'template rejected');
    const t = setup({ refuse: new Map([['solver-solver-a-bad-1.0', { error: invalid, times: 99 }]]) });
    t.store.add('bad', '1.0');
    t.store.add('good', '1.0');
    t.start();
    await t.clock.advanceTo(100);
    expect(t.store.attention).toEqual([
      expect.objectContaining({ pipeline: 'dispatch', itemKey: `${INDEX.simpleUrl}|bad|1.0|solver-a`, errorCode: 'JOB_INVALID', attempts: 1 }),
    ]);
    expect(t.ofType('failed')).toEqual([expect.objectContaining({ errorCode: 'JOB_INVALID' })]);
    expect(t.ofType('scheduled').map((o) => o.item.project)).toEqual(['good']);
    expect(t.errors).toEqual([]);
    t.stop();
  });

  it('records finished Jobs and publishes solver-finished', async () => {
    const t = setup({ responseMs: 1, runMs: 30 });
    const release = t.store.add('attrs', '24.1');
    t.start();
    await t.clock.advanceTo(100);
    expect(t.store.run(release, 'solver-a')).toMatchObject({
      state: 'succeeded',
      startedAt: new Date(1),
      finishedAt: new Date(31),
    });
    expect(t.events.of('solver-finished')).toEqual([
      {
        kind: 'solver-finished',
        indexUrl: INDEX.simpleUrl,
        project: 'attrs',
        version: '24.1',
        solver: 'solver-a',
        fields: { job_name: 'solver-solver-a-attrs-24.1', outcome: 'succeeded', duration_seconds: 0.03 },
      },
    ]);
    expect(t.ofType('finished')).toEqual([
      expect.objectContaining({ jobName: 'solver-solver-a-attrs-24.1', phase: 'succeeded', recorded: true, next: 'none' }),
    ]);
    t.stop();
  });

  it('re-runs a failed Job under a new name up to maxJobAttempts, then sends it to attention', async () => {
    const t = setup({ responseMs: 1, runMs: 10, fails: (r) => r.project === 'flaky' });
    const flaky = t.store.add('flaky', '0.1');
    t.store.add('steady', '1.0');
    t.start({ maxJobAttempts: 3 });
    await t.clock.advanceTo(500);
    expect(t.jobs.callsFor('flaky').map(jobName)).toEqual([
      'solver-solver-a-flaky-0.1',
      'solver-solver-a-flaky-0.1-a2',
      'solver-solver-a-flaky-0.1-a3',
    ]);
    expect(t.jobs.callsFor('flaky').map((r) => r.attempt)).toEqual([undefined, 2, 3]);
    expect(t.store.run(flaky, 'solver-a')).toMatchObject({ attempts: 3, state: 'failed', jobName: 'solver-solver-a-flaky-0.1-a3' });
    expect(t.store.attention).toEqual([
      expect.objectContaining({ pipeline: 'dispatch', itemKey: `${INDEX.simpleUrl}|flaky|0.1|solver-a`, errorCode: 'JOB_FAILED', attempts: 3 }),
    ]);
    expect(t.ofType('finished').filter((o) => o.item?.project === 'flaky').map((o) => o.next)).toEqual(['retry', 'retry', 'attention']);
    expect(t.events.of('solver-finished').filter((e) => e.project === 'flaky').map((e) => e.fields?.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(t.jobs.callsFor('steady')).toHaveLength(1);
    // the next scan does not bring the failed pair back: it has a solver run
    await t.clock.advanceTo(60_100);
    expect(t.store.scans).toBe(2);
    expect(t.jobs.callsFor('flaky')).toHaveLength(3);
    t.stop();
  });

  it('sends a failed Job to attention when the Job sink gives its re-run the same name', async () => {
    const t = setup({ fails: () => true, name: (r) => jobName({ ...r, attempt: undefined }) });
    t.store.add('same', '1');
    t.start({ maxJobAttempts: 3 });
    await t.clock.advanceTo(200);
    expect(t.jobs.calls.map((c) => c.request.attempt)).toEqual([undefined, 2]);
    expect(t.store.attention).toEqual([expect.objectContaining({ errorCode: 'JOB_FAILED', itemKey: `${INDEX.simpleUrl}|same|1|solver-a` })]);
    expect(t.ofType('failed')).toEqual([expect.objectContaining({ errorCode: 'JOB_FAILED', jobName: 'solver-solver-a-same-1' })]);
    t.stop();
  });

  it('after a restart, records a failed Job it did not create from its annotations and re-runs it; ignores a stale one', async () => {
    const t = setup({ fails: () => true });
    const release = t.store.add('old', '1');
    const request: DispatchJobRequest = { indexUrl: INDEX.simpleUrl, project: 'old', version: '1', solver: 'solver-a', template: 'solver' };
    await t.store.recordScheduled({ releaseId: release.id, solver: 'solver-a', jobName: jobName(request) }); // before the restart
    t.start({ maxJobAttempts: 2 });
    await t.clock.advanceTo(5);
    expect(t.jobs.calls).toEqual([]); // the scan skips the pair: it has a run
    t.jobs.events.next({ type: 'finished', job: t.jobs.status(jobName(request), request, 'failed', new Date(0)) });
    t.jobs.events.next({ type: 'finished', job: t.jobs.status('solver-solver-a-gone-9', { ...request, project: 'gone', version: '9' }, 'failed', new Date(0)) });
    await t.clock.advanceTo(100);
    // by job name only: a Job this process did not create must not overwrite a newer run
    // (each with its solver-finished event, written only if the call changes a run)
    expect(t.store.finishedCalls.slice(0, 2).sort((a, b) => (a.jobName < b.jobName ? 1 : -1)).map(({ event: _event, ...call }) => call)).toEqual([
      { jobName: 'solver-solver-a-old-1', phase: 'failed', startedAt: new Date(0), finishedAt: new Date(5) },
      { jobName: 'solver-solver-a-gone-9', phase: 'failed', startedAt: new Date(0), finishedAt: new Date(5) },
    ]);
    const firstTwo = t.ofType('finished').slice(0, 2).sort((a, b) => (a.jobName < b.jobName ? 1 : -1));
    expect(firstTwo).toEqual([
      expect.objectContaining({ jobName: 'solver-solver-a-old-1', recorded: true, next: 'retry' }),
      expect.objectContaining({ jobName: 'solver-solver-a-gone-9', recorded: false, next: 'none', item: null }),
    ]);
    expect(firstTwo[0]?.item).toEqual({ releaseId: release.id, indexUrl: INDEX.simpleUrl, project: 'old', version: '1', solver: 'solver-a' });
    expect(t.jobs.calls.map((c) => jobName(c.request))).toEqual(['solver-solver-a-old-1-a2']);
    // the re-run failed too: 2 of 2 attempts
    expect(t.store.run(release, 'solver-a')).toMatchObject({ attempts: 2, state: 'failed' });
    expect(t.store.attention).toEqual([expect.objectContaining({ errorCode: 'JOB_FAILED', attempts: 2 })]);
    t.stop();
  });

  it('records a Job that finished before its create call answered once its run is recorded', async () => {
    const t = setup({ startOnCall: true, runMs: 1, responseMs: 3 });
    const release = t.store.add('quick', '1');
    t.start();
    await t.clock.advanceTo(50);
    expect(t.ofType('finished')).toEqual([
      expect.objectContaining({ jobName: 'solver-solver-a-quick-1', recorded: false }), // at 1: no run yet
      expect.objectContaining({ jobName: 'solver-solver-a-quick-1', recorded: true, phase: 'succeeded' }), // after the run at 3
    ]);
    expect(t.store.run(release, 'solver-a')).toMatchObject({ state: 'succeeded', attempts: 1, finishedAt: new Date(1) });
    expect(t.events.of('solver-finished')).toHaveLength(1);
    t.stop();
  });

  it('adds one reverse-solver Job per release in reverse mode', async () => {
    const t = setup();
    t.store.add('a', '1');
    t.store.add('b', '2');
    const { message, state } = releasedMessage('b', '2');
    t.start({ reverse: true, solvers: ['solver-a', 'solver-b'] });
    t.released.next(message);
    await t.clock.advanceTo(200);
    const reverse = t.jobs.calls.map((c) => c.request).filter((r) => r.template === 'reverse');
    expect(reverse.map((r) => [r.project, r.solver]).sort()).toEqual([['a', 'reverse'], ['b', 'reverse']]);
    expect(t.jobs.calls.filter((c) => c.request.template === 'solver')).toHaveLength(4);
    expect(state.acked).toBe(1);
    t.stop();
  });

  it('in dry-run writes no solver run and only reports the outcome', async () => {
    const t = setup({ dryRun: true });
    t.store.add('dry', '1');
    t.start();
    await t.clock.advanceTo(10);
    expect(t.ofType('dry-run')).toEqual([expect.objectContaining({ jobName: 'solver-solver-a-dry-1' })]);
    expect(t.store.scheduledCalls).toEqual([]);
    expect(t.events.published).toEqual([]);
    t.stop();
  });
});

describe('dispatchOnce', () => {
  it('completes once every item of the scan has its outcome, within capacity', async () => {
    const clock = new Clock();
    const store = new FakeStore(clock);
    const jobs = new FakeCluster(clock, { responseMs: 1, runMs: 10 });
    for (let i = 0; i < 12; i += 1) store.add(`p${i}`, '1.0');
    const outcomes: DispatchPipelineOutcome[] = [];
    let completedAt: number | null = null;
    dispatchOnce({ store, jobs, scheduler: clock }, { ...BASE, capacity: 5 }).subscribe({
      next: (o) => outcomes.push(o),
      complete: () => (completedAt = clock.now()),
    });
    await clock.advanceTo(1_000);
    // waves at 0, 11 and 22: the last two are scheduled at 23
    expect(completedAt).toBe(23);
    expect(outcomes.filter((o) => o.type === 'scheduled')).toHaveLength(12);
    expect(outcomes[outcomes.length - 1]).toEqual({ type: 'scan', items: 12 });
    expect(jobs.maxRunning).toBe(5);
    expect(store.scans).toBe(1);
    expect(jobs.watchSubscriptions).toBe(1);
    expect(jobs.watchUnsubscriptions).toBe(1);
  });

  it('errors when the scan fails', async () => {
    const clock = new Clock();
    const store = new FakeStore(clock);
    store.scanUnsolved = async function* () {
      yield* [];
      throw new PkgstreamError('DB_UNAVAILABLE', 'connection refused');
    };
    const jobs = new FakeCluster(clock);
    const errors: unknown[] = [];
    dispatchOnce({ store, jobs, scheduler: clock }, BASE).subscribe({ error: (e: unknown) => errors.push(e) });
    await clock.advanceTo(10);
    expect(errors).toEqual([expect.objectContaining({ code: 'DB_UNAVAILABLE' })]);
  });
});
