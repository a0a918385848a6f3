/**
 * The update pipeline against fake ports: in-memory objects implementing PackageStore,
 * IndexClient and the store's event outbox (ports, not client libraries), driven in virtual time. The
 * fake store applies checks the way the real one does (state, artifacts, due time), so
 * several passes over the same data show what a real deployment would emit.
 */
import { describe, expect, it } from 'vitest';
import { asyncScheduler, Subject, VirtualTimeScheduler, type Observable, type SchedulerLike } from 'rxjs';
import { Registry } from 'prom-client';
import { newAttentionItem } from '../../src/domain/attention.js';
import { PkgstreamError } from '../../src/domain/errors.js';
import type {
  AttentionFailure,
  AttentionItem,
  RecordReleaseOptions,
  IndexClient,
  PackageStore,
  RecordedRelease,
  ReleaseCheck,
} from '../../src/domain/ports.js';
import type { IndexFile, IndexRelease, PackageEvent, PackageIndex, ProjectPage, ProjectRef, StoredArtifact, StoredRelease } from '../../src/domain/types.js';
import { transition } from '../../src/db/release-checks.js';
import { updatePass, updatePipeline, type UpdateOptions, type UpdateOutcome } from '../../src/pipelines/update.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { drive as driveAll, settle } from '../support/virtual-time.js';
import { politeIndexClient } from '../../src/sources/index-client/polite-client.js';

const drive = <T>(scheduler: VirtualTimeScheduler, source: Observable<T>, maxSteps?: number) =>
  driveAll(scheduler, source, maxSteps === undefined ? {} : { maxSteps });

// ---------------------------------------------------------------------------------------
// Fixtures

const A: PackageIndex = { id: 1, simpleUrl: 'https://a.example/simple', jsonApiUrl: null, rssUrl: null, verifyTls: true, enabled: true, watchMode: 'all' };
const B: PackageIndex = { id: 2, simpleUrl: 'https://b.example/simple', jsonApiUrl: null, rssUrl: null, verifyTls: true, enabled: true, watchMode: 'all' };
const DAY = 86_400_000;

const sha = (c: string): string => c.repeat(64);
const file = (name: string, hash: string, extra: Partial<IndexFile> = {}): IndexFile => ({
  filename: name,
  sha256: hash,
  yanked: false,
  yankedReason: null,
  uploadTime: null,
  size: null,
  ...extra,
});
const release = (version: string, files: IndexFile[]): IndexRelease => ({ version, files });
const wheel = (project: string, version: string, hash = sha('a')): IndexFile => file(`${project}-${version}-py3-none-any.whl`, hash);

interface Seed {
  readonly index?: PackageIndex;
  readonly project: string;
  readonly version: string;
  readonly artifacts?: StoredArtifact[];
  readonly state?: StoredRelease['state'];
  /** Order of due time: the row is due at `due - 1000` ms (so 0..999 are due at the start of time). */
  readonly due?: number;
}

// ---------------------------------------------------------------------------------------
// Fake ports

type Row = { -readonly [K in keyof StoredRelease]: StoredRelease[K] };

class FakeStore implements PackageStore {
  readonly rows = new Map<number, Row>();
  readonly log: string[];
  readonly attention: AttentionFailure[] = [];
  readonly deferred: { id: number; until: number }[] = [];
  readonly checks: { id: number; check: ReleaseCheck }[] = [];
  readonly scans: number[] = [];
  /** Rows handed to the pipeline by scanDue, all passes. */
  handedOut = 0;
  scanFails = false;
  applyFails: ((row: Row) => Error | null) | null = null;
  private nextId = 1;

  constructor(
    readonly scheduler: SchedulerLike,
    seeds: readonly Seed[],
    log: string[] = [],
    readonly outbox: FakeOutbox = new FakeOutbox(log),
  ) {
    this.log = log;
    for (const seed of seeds) this.add(seed);
  }

  add(seed: Seed): Row {
    const index = seed.index ?? A;
    const row: Row = {
      id: this.nextId++,
      indexId: index.id,
      indexUrl: index.simpleUrl,
      project: seed.project,
      version: seed.version,
      state: seed.state ?? 'present',
      yankedReason: null,
      artifacts: seed.artifacts ?? [{ filename: `${seed.project}-${seed.version}-py3-none-any.whl`, sha256: sha('a') }],
      lastCheckedAt: null,
      nextDueAt: new Date((seed.due ?? 0) - 1000),
    };
    this.rows.set(row.id, row);
    return row;
  }

  byVersion(project: string, version: string): Row {
    const row = [...this.rows.values()].find((r) => r.project === project && r.version === version);
    if (!row) throw new Error(`no row ${project} ${version}`);
    return row;
  }

  listIndexes = async (): Promise<PackageIndex[]> => [A, B];

  private isDue(row: Row, options: { readonly now: Date; readonly all?: boolean }): boolean {
    return options.all === true || row.nextDueAt.getTime() <= options.now.getTime();
  }

  countDue = async (options: { readonly now: Date; readonly all?: boolean }): Promise<number> =>
    [...this.rows.values()].filter((row) => this.isDue(row, options)).length;

  async *scanDue(options: { readonly now: Date; readonly pageSize: number; readonly all?: boolean }): AsyncGenerator<StoredRelease> {
    this.scans.push(this.scheduler.now());
    if (this.scanFails) throw new Error('scan failed');
    const due = [...this.rows.values()]
      .filter((row) => this.isDue(row, options))
      .sort((a, b) => a.nextDueAt.getTime() - b.nextDueAt.getTime() || a.id - b.id)
      .map((row) => row.id);
    for (const id of due) {
      const row = this.rows.get(id);
      if (!row) continue;
      this.handedOut += 1;
      yield snapshot(row);
    }
  }

  async loadProjectReleases(indexId: number, project: string): Promise<StoredRelease[]> {
    return [...this.rows.values()].filter((row) => row.indexId === indexId && row.project === project).map(snapshot);
  }

  async applyCheck(release: StoredRelease | number, check: ReleaseCheck) {
    const id = typeof release === 'number' ? release : release.id;
    const row = this.rows.get(id);
    if (!row) throw new Error(`no row ${id}`);
    this.log.push(`applyCheck ${row.project} ${row.version}`);
    const failure = this.applyFails?.(row);
    if (failure) throw failure;
    this.checks.push({ id, check });
    // The real store's transition; artifacts and due time simplified.
    const before = JSON.stringify([row.state, row.yankedReason, row.artifacts]);
    const { state, yankedReason, touched } = transition({ state: row.state, yanked_reason: row.yankedReason }, check.changes);
    row.state = state;
    row.yankedReason = yankedReason;
    if (check.files !== null && touched) {
      row.artifacts = check.files.flatMap((f) => (f.sha256 === null ? [] : [{ filename: f.filename, sha256: f.sha256 }]));
    }
    row.lastCheckedAt = check.checkedAt;
    row.nextDueAt = check.nextDueAt ?? new Date(check.checkedAt.getTime() + DAY);
    const changed = before !== JSON.stringify([row.state, row.yankedReason, row.artifacts]);
    // The real store writes a check's events with it, when it changed the row.
    if (changed) this.outbox.write(check.events ?? []);
    return { state: row.state, changed, nextDueAt: row.nextDueAt };
  }

  async applyChecks(checks: readonly { release: StoredRelease | number; check: ReleaseCheck }[]) {
    const applied = [];
    for (const { release, check } of checks) applied.push(await this.applyCheck(release, check));
    return applied;
  }

  async recordReleases(
    index: PackageIndex,
    project: string,
    releases: readonly IndexRelease[],
    options: RecordReleaseOptions = {},
  ): Promise<RecordedRelease[]> {
    this.log.push(`recordReleases ${project} ${releases.map((r) => r.version).join(',')}`);
    const recorded = releases.map((r) => {
      const existing = [...this.rows.values()].find((row) => row.indexId === index.id && row.project === project && row.version === r.version);
      if (existing) return { id: existing.id, version: r.version, created: false };
      const row = this.add({
        index,
        project,
        version: r.version,
        artifacts: r.files.flatMap((f) => (f.sha256 === null ? [] : [{ filename: f.filename, sha256: f.sha256 }])),
        due: this.scheduler.now() + DAY + 1000,
      });
      return { id: row.id, version: r.version, created: true };
    });
    // Announced by the writer that created the rows, in the same write.
    this.outbox.write(recorded.filter((r) => r.created).flatMap((r) => options.announce?.(r.version) ?? []));
    return recorded;
  }

  async deferCheck(releaseId: number, until: Date): Promise<void> {
    this.log.push(`deferCheck ${releaseId}`);
    this.deferred.push({ id: releaseId, until: until.getTime() });
    const row = this.rows.get(releaseId);
    if (row) row.nextDueAt = until;
  }

  async recordAttention(failure: AttentionFailure): Promise<AttentionItem> {
    this.log.push(`recordAttention ${failure.itemKey}`);
    this.attention.push(failure);
    return newAttentionItem(this.attention.length, failure, failure.failedAt ?? new Date(0));
  }

  // Not used by the update pipeline.
  isKnownProject = unused('isKnownProject');
  knownProjects = unusedIterable('knownProjects');
  /** Registered projects without a release row (a feedless index's `package add`). */
  readonly unrecorded: ProjectRef[] = [];
  async *unrecordedProjects(): AsyncIterable<ProjectRef> {
    await Promise.resolve();
    yield* this.unrecorded;
  }
  recordRelease = unused('recordRelease');
  loadRelease = unused('loadRelease');
  getCheckpoint = unused('getCheckpoint');
  saveCheckpoint = unused('saveCheckpoint');
  listAttention = unused('listAttention');
  resolveAttention = unused('resolveAttention');
  requestRetry = unused('requestRetry');
  openAttentionCounts = unused('openAttentionCounts');
  unsolvedPage = unused('unsolvedPage');
  scanUnsolved = unusedIterable('scanUnsolved');
  recordScheduled = unused('recordScheduled');
  recordFinished = unused('recordFinished');
}

function unused(name: string): () => Promise<never> {
  return () => Promise.reject(new Error(`${name} is not used by the update pipeline`));
}
function unusedIterable(name: string): () => AsyncIterable<never> {
  return () => {
    throw new Error(`${name} is not used by the update pipeline`);
  };
}

function snapshot(row: Row): StoredRelease {
  return { ...row, artifacts: [...row.artifacts] };
}

type PageAnswer = ProjectPage | Error;

/** Pages by `indexUrl|project`; a missing page is a 404. `answer` can replace it per request. */
class FakeIndex implements IndexClient {
  readonly pages = new Map<string, IndexRelease[]>();
  readonly requests: { host: string; project: string; at: number }[] = [];
  answer: ((host: string, project: string, attempt: number) => PageAnswer | undefined) | null = null;

  constructor(
    readonly scheduler: SchedulerLike,
    /** Virtual ms before each answer. */
    readonly latencyMs = 0,
  ) {}

  set(index: PackageIndex, project: string, releases: IndexRelease[]): void {
    this.pages.set(`${index.simpleUrl}|${project}`, releases);
  }

  times(project: string): number[] {
    return this.requests.filter((r) => r.project === project).map((r) => r.at);
  }

  fetchFeed = unused('fetchFeed');
  fetchProjectList = unused('fetchProjectList');
  close = async (): Promise<void> => undefined;

  fetchProject(index: PackageIndex, project: string): Promise<ProjectPage | null> {
    const host = new URL(index.simpleUrl).host;
    this.requests.push({ host, project, at: this.scheduler.now() });
    const attempt = this.requests.filter((r) => r.project === project && r.host === host).length;
    const releases = this.pages.get(`${index.simpleUrl}|${project}`);
    const answer: PageAnswer =
      this.answer?.(host, project, attempt) ??
      (releases
        ? { project, releases, validators: {} }
        : new PkgstreamError('INDEX_NOT_FOUND', `${project} not found`));
    return new Promise((resolve, reject) => {
      const reply = (): void => (answer instanceof Error ? reject(answer) : resolve(answer));
      if (this.latencyMs > 0) this.scheduler.schedule(reply, this.latencyMs);
      else reply();
    });
  }
}

/** The event outbox of the fake store: what its writes announced. */
class FakeOutbox {
  readonly published: PackageEvent[] = [];
  constructor(readonly log: string[]) {}
  write(events: readonly PackageEvent[]): void {
    if (events.length === 0) return;
    this.log.push(`publish ${events.map((e) => `${e.kind} ${e.project} ${e.version ?? ''}`).join('; ')}`);
    this.published.push(...events);
  }
}

// ---------------------------------------------------------------------------------------
// Harness

const OPTIONS: UpdateOptions = {
  concurrency: 4,
  pageSize: 10,
  all: false,
  retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
  random: () => 0.5,
  deferOnFailureMs: 3_600_000,
};

function setup(seeds: readonly Seed[], latencyMs = 0) {
  const scheduler = new VirtualTimeScheduler();
  const log: string[] = [];
  const events = new FakeOutbox(log);
  const store = new FakeStore(scheduler, seeds, log, events);
  const index = new FakeIndex(scheduler, latencyMs);
  return { scheduler, log, store, index, events, ports: { store, index, scheduler } };
}

/** The ports with the index behind the process's one polite client (rate per host, burst). */
function rateLimited(ports: ReturnType<typeof setup>['ports'], rate: number, burst: number) {
  return { ...ports, index: politeIndexClient(ports.index, { rate, burst, scheduler: ports.scheduler }).forPipeline('update') };
}

const ofType = <K extends UpdateOutcome['type']>(outcomes: readonly UpdateOutcome[], type: K) =>
  outcomes.filter((o): o is Extract<UpdateOutcome, { type: K }> => o.type === type);

const kinds = (events: readonly PackageEvent[]): string[] => events.map((e) => `${e.kind} ${e.project} ${e.version ?? ''}`.trim()).sort();

// ---------------------------------------------------------------------------------------

describe('updatePass', () => {
  it('spaces the index requests by the per-host rate limit, in virtual time; hosts do not wait for each other', async () => {
    const projects = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const { scheduler, ports, index } = setup([
      ...projects.map((project, i) => ({ project, version: '1.0', due: i })),
      { index: B, project: 'q1', version: '1.0', due: 10 },
    ]);
    for (const project of projects) index.set(A, project, [release('1.0', [wheel(project, '1.0')])]);
    index.set(B, 'q1', [release('1.0', [wheel('q1', '1.0')])]);

    // 2 requests per second, burst 1: a.example gets one every 500 ms from 0
    const outcomes = await drive(scheduler, updatePass(rateLimited(ports, 2, 1), { ...OPTIONS, concurrency: 6, all: true }));

    expect(index.requests.filter((r) => r.host === 'a.example').map((r) => r.at)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(index.times('q1')).toEqual([0]);
    expect(ofType(outcomes, 'checked')).toHaveLength(6);
    expect(ofType(outcomes, 'pass-complete')[0]).toMatchObject({ rows: 6, projects: 6, requests: 6, failed: 0, events: 0 });
  });

  it('reads a registered project without releases (a feedless index) once, first, and records its releases', async () => {
    const { scheduler, ports, index, store, log } = setup([{ project: 'known', version: '1.0', due: 0 }]);
    store.unrecorded.push({ indexId: A.id, indexUrl: A.simpleUrl, project: 'fresh' });
    index.set(A, 'known', [release('1.0', [wheel('known', '1.0')])]);
    index.set(A, 'fresh', [release('0.1', [wheel('fresh', '0.1')]), release('0.2', [wheel('fresh', '0.2')])]);

    const outcomes = await drive(scheduler, updatePass(ports, { ...OPTIONS, concurrency: 1 }));

    expect(index.requests.map((r) => r.project)).toEqual(['fresh', 'known']);
    expect(log).toContain('recordReleases fresh 0.1,0.2');
    expect(ofType(outcomes, 'checked').find((o) => o.project === 'fresh')).toMatchObject({ newReleases: ['0.1', '0.2'] });
    // Progress counts due rows only: the one row of `known`.
    expect(ofType(outcomes, 'pass-complete')[0]).toMatchObject({ rows: 1, projects: 2, requests: 2, failed: 0 });
  });

  it('asks the index once per project, not per version: 10 projects x 5 versions -> 10 requests per pass', async () => {
    const seeds: Seed[] = [];
    // interleaved by due time, so rows of a project arrive while it is being checked
    for (let v = 0; v < 5; v += 1) for (let p = 0; p < 10; p += 1) seeds.push({ project: `p${p}`, version: `1.${v}`, due: v * 10 + p });
    const { scheduler, ports, index, store, events } = setup(seeds, 5);
    for (let p = 0; p < 10; p += 1) index.set(A, `p${p}`, [0, 1, 2, 3, 4].map((v) => release(`1.${v}`, [wheel(`p${p}`, `1.${v}`)])));

    const first = await drive(scheduler, updatePass(ports, { ...OPTIONS, concurrency: 4, pageSize: 7, all: true }));
    expect(index.requests).toHaveLength(10);
    expect(new Set(index.requests.map((r) => r.project)).size).toBe(10);
    expect(ofType(first, 'checked')).toHaveLength(10);
    expect(ofType(first, 'checked').every((o) => o.releases === 5 && o.events.length === 0)).toBe(true);
    expect(ofType(first, 'skipped')).toHaveLength(40);
    expect(ofType(first, 'pass-complete')[0]).toMatchObject({ rows: 50, projects: 10, requests: 10 });
    // every release was checked (one applyCheck each), none changed, nothing published
    expect(store.checks.map((c) => c.id).sort((a, b) => a - b)).toEqual([...store.rows.keys()].sort((a, b) => a - b));
    expect(store.checks.every((c) => c.check.changes.length === 1 && c.check.changes[0]!.kind === 'unchanged')).toBe(true);
    expect([...store.rows.values()].every((row) => row.lastCheckedAt !== null)).toBe(true);
    expect(events.published).toEqual([]);

    // the "checked" memory is per pass: the next pass asks again, once per project
    await drive(scheduler, updatePass(ports, { ...OPTIONS, concurrency: 4, pageSize: 7, all: true }));
    expect(index.requests).toHaveLength(20);
  });

  it('reports each change of state once across three passes: hash, removed version, yank, 404, PEP 440 spellings', async () => {
    const { scheduler, ports, index, store, events } = setup([
      { project: 'hashy', version: '1.0', artifacts: [{ filename: 'hashy-1.0.tar.gz', sha256: sha('a') }] },
      { project: 'gone', version: '1.0' },
      { project: 'gone', version: '2.0' },
      { project: 'yanky', version: '1.0' },
      { project: 'absent', version: '1.0' },
      { project: 'absent', version: '1.1' },
      { project: 'absent', version: '2.0' },
      { project: 'spelled', version: '1.0.0' },
      { project: 'spelled', version: '2.0.0-rc.1' },
    ]);
    index.set(A, 'hashy', [release('1.0', [file('hashy-1.0.tar.gz', sha('b'))])]);
    index.set(A, 'gone', [release('1.0', [wheel('gone', '1.0')])]);
    index.set(A, 'yanky', [release('1.0', [file('yanky-1.0.tar.gz', sha('a'), { yanked: true, yankedReason: 'broken' })])]);
    // 'absent' is not on the index: 404
    index.set(A, 'spelled', [release('1.0', [wheel('spelled', '1.0.0')]), release('2.0.0rc1', [wheel('spelled', '2.0.0-rc.1')])]);
    store.byVersion('yanky', '1.0').artifacts = [{ filename: 'yanky-1.0.tar.gz', sha256: sha('a') }];

    const passes: UpdateOutcome[][] = [];
    for (let pass = 0; pass < 3; pass += 1) {
      const before = events.published.length;
      passes.push(await drive(scheduler, updatePass(ports, { ...OPTIONS, all: true })));
      if (pass > 0) expect(events.published.length).toBe(before); // nothing new after the first pass
    }

    expect(kinds(events.published)).toEqual([
      'hash-mismatch hashy 1.0',
      'missing-package absent 1.0',
      'missing-package absent 1.1',
      'missing-package absent 2.0',
      'missing-version gone 2.0',
      'package-yanked yanky 1.0',
    ]);
    expect(events.published.find((e) => e.kind === 'hash-mismatch')?.fields).toEqual({
      missing_from_source: [sha('a')],
      missing_from_database: [sha('b')],
    });
    expect(events.published.find((e) => e.kind === 'package-yanked')?.fields).toEqual({ yanked_reason: 'broken' });
    expect(store.byVersion('hashy', '1.0').artifacts).toEqual([{ filename: 'hashy-1.0.tar.gz', sha256: sha('b') }]);
    expect(store.byVersion('gone', '2.0').state).toBe('missing');
    expect(store.byVersion('gone', '1.0').state).toBe('present');
    expect(store.byVersion('yanky', '1.0').state).toBe('yanked');
    expect(['1.0', '1.1', '2.0'].map((v) => store.byVersion('absent', v).state)).toEqual(['missing', 'missing', 'missing']);
    // two spellings of one version are neither missing nor new
    expect(store.byVersion('spelled', '1.0.0').state).toBe('present');
    expect(store.rows.size).toBe(9);
    // the 404 project is a checked project with a missing page, not a failure
    expect(ofType(passes[0]!, 'checked').find((o) => o.project === 'absent')).toMatchObject({ notFound: true, releases: 3 });
    expect(store.attention).toEqual([]);
    // an unchanged release is still checked every pass: last_checked_at / due moved
    const unchangedChecks = store.checks.filter((c) => c.id === store.byVersion('gone', '1.0').id);
    expect(unchangedChecks).toHaveLength(3);
    expect(unchangedChecks.every((c) => c.check.changes.every((ch) => ch.kind === 'unchanged'))).toBe(true);
    // the files handed to applyCheck are the version's, matched by PEP 440; null when missing
    const checksOf = (project: string, version: string) => store.checks.filter((c) => c.id === store.byVersion(project, version).id);
    expect(checksOf('spelled', '2.0.0-rc.1')[0]!.check.files).toEqual([wheel('spelled', '2.0.0-rc.1')]);
    expect(checksOf('gone', '2.0')[0]!.check.files).toBeNull();
    expect(checksOf('absent', '1.0')[0]!.check.files).toBeNull();
  });

  it('retries a failing project on its backoff schedule, then records attention and defers its rows while later projects go on', async () => {
    const { scheduler, ports, index, store } = setup([
      { project: 'aaa', version: '1.0', due: 0 },
      { project: 'bad', version: '1.0', due: 1 },
      { project: 'bad', version: '2.0', due: 2 },
      { project: 'forbidden', version: '1.0', due: 3 },
      { project: 'zzz', version: '1.0', due: 4 },
    ]);
    for (const project of ['aaa', 'zzz']) index.set(A, project, [release('1.0', [wheel(project, '1.0')])]);
    index.answer = (_host, project) => {
      if (project === 'bad') return new PkgstreamError('INDEX_HTTP_5XX', 'bad gateway');
      if (project === 'forbidden') return new PkgstreamError('INDEX_HTTP_STATUS', 'forbidden');
      return undefined;
    };

    const outcomes = await drive(scheduler, updatePass(ports, { ...OPTIONS, concurrency: 1 }));

    // full jitter with random 0.5: retry 1 after 0.5 * 1000, retry 2 after 0.5 * 2000
    expect(index.times('bad')).toEqual([0, 500, 1500]);
    expect(index.times('forbidden')).toEqual([1500]); // not retriable: one attempt
    expect(index.times('zzz')).toEqual([1500]);
    expect(ofType(outcomes, 'failed')).toMatchObject([
      { project: 'bad', stage: 'fetch', errorCode: 'INDEX_HTTP_5XX', attempts: 3 },
      { project: 'forbidden', stage: 'fetch', errorCode: 'INDEX_HTTP_STATUS', attempts: 1 },
    ]);
    expect(store.attention).toMatchObject([
      { pipeline: 'update', itemKey: 'https://a.example/simple|bad', errorCode: 'INDEX_HTTP_5XX', errorMessage: 'bad gateway', attempts: 3 },
      { pipeline: 'update', itemKey: 'https://a.example/simple|forbidden', errorCode: 'INDEX_HTTP_STATUS', attempts: 1 },
    ]);
    const hour = OPTIONS.deferOnFailureMs;
    expect(store.deferred).toEqual([
      { id: store.byVersion('bad', '1.0').id, until: 1500 + hour },
      { id: store.byVersion('bad', '2.0').id, until: 1500 + hour }, // seen after the failure: deferred too
      { id: store.byVersion('forbidden', '1.0').id, until: 1500 + hour },
    ]);
    expect(ofType(outcomes, 'skipped')).toMatchObject([{ project: 'bad', version: '2.0', reason: 'project-failed' }]);
    expect(ofType(outcomes, 'checked').map((o) => o.project)).toEqual(['aaa', 'zzz']);
    expect(ofType(outcomes, 'pass-complete')[0]).toMatchObject({ rows: 5, projects: 4, requests: 6, failed: 2 });
    // failed rows were not checked: their state and last_checked_at are untouched
    expect(store.byVersion('bad', '1.0').lastCheckedAt).toBeNull();
  });

  it('defers every row of a failed project that was seen while it was in flight', async () => {
    const { scheduler, ports, index, store } = setup(
      [1, 2, 3].map((minor) => ({ project: 'bad', version: `1.${minor}`, due: minor })),
      10,
    );
    index.answer = () => new PkgstreamError('INDEX_TIMEOUT', 'timeout');
    const outcomes = await drive(scheduler, updatePass(ports, { ...OPTIONS, concurrency: 4, retry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 } }));
    expect(index.times('bad')).toEqual([0, 60]); // answer after 10, retry after 0.5 * 100
    expect(ofType(outcomes, 'skipped').map((o) => o.reason)).toEqual(['project-checked', 'project-checked']);
    expect(store.deferred.map((d) => d.id).sort()).toEqual([...store.rows.keys()].sort());
    expect(new Set(store.deferred.map((d) => d.until))).toEqual(new Set([70 + OPTIONS.deferOnFailureMs]));
    expect(store.attention).toHaveLength(1);
  });

  it("pauses a host after a 429 for its Retry-After; other hosts go on", async () => {
    const seeds: Seed[] = [
      { project: 'a1', version: '1.0', due: 0 },
      { project: 'a2', version: '1.0', due: 1 },
      { project: 'a3', version: '1.0', due: 2 },
      { index: B, project: 'b1', version: '1.0', due: 3 },
      { index: B, project: 'b2', version: '1.0', due: 4 },
    ];
    const run = async (with429: boolean) => {
      const { scheduler, ports, index, store } = setup(seeds, 10);
      for (const seed of seeds) index.set(seed.index ?? A, seed.project, [release('1.0', [wheel(seed.project, '1.0')])]);
      if (with429) {
        index.answer = (_host, project, attempt) =>
          project === 'a1' && attempt === 1
            ? new PkgstreamError('INDEX_RATE_LIMITED', 'too many requests', { retryAfterMs: 5000 })
            : undefined;
      }
      const outcomes = await drive(scheduler, updatePass(rateLimited(ports, 10, 1), { ...OPTIONS, concurrency: 5 }));
      return { index, store, outcomes };
    };

    // without a 429: one request per 100 ms per host
    const calm = await run(false);
    expect(calm.index.requests.filter((r) => r.host === 'a.example').map((r) => r.at)).toEqual([0, 100, 200]);

    const limited = await run(true);
    const hostA = limited.index.requests.filter((r) => r.host === 'a.example');
    expect(hostA[0]).toEqual({ host: 'a.example', project: 'a1', at: 0 });
    // the 429 arrives at 10: nothing else goes to a.example before 10 + 5000
    expect(hostA.slice(1).every((r) => r.at >= 5010)).toBe(true);
    expect(hostA.map((r) => r.project).sort()).toEqual(['a1', 'a1', 'a2', 'a3']);
    // b.example is not paused
    expect(limited.index.requests.filter((r) => r.host === 'b.example').map((r) => r.at)).toEqual([0, 100]);
    expect(ofType(limited.outcomes, 'checked')).toHaveLength(5);
    expect(limited.store.attention).toEqual([]);
  });

  it('pulls the scan: rows read never exceed rows done + concurrency + page size (100k rows, lazily generated)', async () => {
    const total = 100_000;
    const perProject = 10;
    const pageSize = 50;
    const concurrency = 8;
    const events = new FakeOutbox([]);
    const store = new FakeStore(asyncScheduler, [], [], events);
    const index = new FakeIndex(asyncScheduler);
    let read = 0; // rows fetched from the "database", a page at a time
    let handed = 0;
    let done = 0;
    let worstRead = 0;
    let worstHanded = 0;
    const version = (i: number): string => `1.${i % perProject}`;
    const projectOf = (i: number): string => `p${Math.floor(i / perProject)}`;
    const rowOf = (i: number): StoredRelease => ({
      id: i + 1,
      indexId: A.id,
      indexUrl: A.simpleUrl,
      project: projectOf(i),
      version: version(i),
      state: 'present',
      yankedReason: null,
      artifacts: [{ filename: `${projectOf(i)}-${version(i)}.tar.gz`, sha256: sha('a') }],
      lastCheckedAt: null,
      nextDueAt: new Date(0),
    });
    store.scanDue = async function* (options) {
      for (let start = 0; start < total; start += options.pageSize) {
        read += Math.min(options.pageSize, total - start);
        worstRead = Math.max(worstRead, read - done);
        for (let i = start; i < Math.min(start + options.pageSize, total); i += 1) {
          handed += 1;
          worstHanded = Math.max(worstHanded, handed - done);
          yield rowOf(i);
        }
      }
    };
    store.loadProjectReleases = async (_indexId, project) => {
      const base = Number(project.slice(1)) * perProject;
      return Array.from({ length: perProject }, (_, k) => rowOf(base + k));
    };
    store.applyCheck = async () => ({ state: 'present', changed: false, nextDueAt: new Date(DAY) });
    index.fetchProject = async (_index, project) => {
      index.requests.push({ host: 'a.example', project, at: 0 });
      await new Promise<void>((resolve) => setImmediate(resolve)); // a page takes a while: the scan must wait
      const base = Number(project.slice(1)) * perProject;
      return {
        project,
        validators: {},
        releases: Array.from({ length: perProject }, (_, k) => release(version(base + k), [file(`${project}-${version(base + k)}.tar.gz`, sha('a'))])),
      };
    };

    let passComplete: UpdateOutcome | undefined;
    await new Promise<void>((resolve, reject) => {
      updatePass({ store, index, scheduler: asyncScheduler }, { ...OPTIONS, concurrency, pageSize }).subscribe({
        next: (outcome) => {
          if (outcome.type === 'pass-complete') passComplete = outcome;
          else done += 1;
        },
        error: reject,
        complete: resolve,
      });
    });

    expect(done).toBe(total);
    expect(index.requests).toHaveLength(total / perProject);
    expect(passComplete).toMatchObject({ rows: total, projects: total / perProject, requests: total / perProject, events: 0 });
    expect(worstHanded).toBeLessThanOrEqual(concurrency);
    expect(worstRead).toBeLessThanOrEqual(concurrency + pageSize);
    expect(events.published).toEqual([]);
  });

  it('writes the events with the check; a failed write writes neither, and the next pass finds the change again', async () => {
    const { scheduler, ports, index, store, events, log } = setup([{ project: 'hashy', version: '1.0' }]);
    index.set(A, 'hashy', [release('1.0', [wheel('hashy', '1.0', sha('c'))])]);
    let failNext = true;
    store.applyFails = () => {
      if (!failNext) return null;
      failNext = false;
      return new Error('database refused'); // not retriable: one attempt
    };

    const first = await drive(scheduler, updatePass(ports, { ...OPTIONS, all: true }));
    expect(log).toEqual([
      'applyCheck hashy 1.0',
      'recordAttention https://a.example/simple|hashy',
      `deferCheck ${store.byVersion('hashy', '1.0').id}`,
    ]);
    expect(ofType(first, 'failed')).toMatchObject([{ project: 'hashy', stage: 'apply', errorCode: 'UNKNOWN', attempts: 1 }]);
    expect(store.byVersion('hashy', '1.0').artifacts[0]!.sha256).toBe(sha('a')); // nothing written
    expect(events.published).toEqual([]); // nor announced

    log.length = 0;
    await drive(scheduler, updatePass(ports, { ...OPTIONS, all: true }));
    expect(log).toEqual(['applyCheck hashy 1.0', 'publish hash-mismatch hashy 1.0']);
    expect(events.published.map((e) => e.kind)).toEqual(['hash-mismatch']);

    log.length = 0;
    await drive(scheduler, updatePass(ports, { ...OPTIONS, all: true }));
    expect(log).toEqual(['applyCheck hashy 1.0']); // unchanged: no event
  });

  it('a store error for one project becomes attention and a failed outcome; the pass goes on', async () => {
    const { scheduler, ports, index, store } = setup([
      { project: 'broken', version: '1.0', due: 0 },
      { project: 'fine', version: '1.0', due: 1 },
    ]);
    index.set(A, 'broken', [release('1.0', [wheel('broken', '1.0')])]);
    index.set(A, 'fine', [release('1.0', [wheel('fine', '1.0')])]);
    store.applyFails = (row) => (row.project === 'broken' ? new PkgstreamError('DB_UNAVAILABLE', 'connection lost') : null);

    const outcomes = await drive(scheduler, updatePass(ports, { ...OPTIONS, concurrency: 1 }));
    expect(ofType(outcomes, 'failed')).toMatchObject([{ project: 'broken', stage: 'apply', errorCode: 'DB_UNAVAILABLE', attempts: 3 }]);
    expect(store.attention).toMatchObject([{ itemKey: 'https://a.example/simple|broken', errorCode: 'DB_UNAVAILABLE', attempts: 3 }]);
    expect(ofType(outcomes, 'checked').map((o) => o.project)).toEqual(['fine']);
    expect(index.times('broken')).toEqual([0]); // the store work is retried, not the index request
  });

  it('records the versions the store does not know and announces each with package-released', async () => {
    const { scheduler, ports, index, store, events, log } = setup([{ project: 'grow', version: '1.0.0' }]);
    index.set(A, 'grow', [
      release('1.0', [wheel('grow', '1.0')]), // 1.0 == 1.0.0: known
      release('1.1', [wheel('grow', '1.1', sha('d'))]),
      release('2.0rc1', [wheel('grow', '2.0rc1')]),
      release('2.0.0-RC.1', [wheel('grow', '2.0.0-RC.1')]), // another spelling of 2.0rc1: recorded once
    ]);

    const first = await drive(scheduler, updatePass(ports, OPTIONS));
    expect(log).toEqual([
      'applyCheck grow 1.0.0',
      'recordReleases grow 1.1,2.0rc1',
      'publish package-released grow 1.1; package-released grow 2.0rc1',
    ]);
    expect(ofType(first, 'checked')).toMatchObject([{ project: 'grow', releases: 1, newReleases: ['1.1', '2.0rc1'] }]);
    expect(events.published).toEqual([
      { kind: 'package-released', indexUrl: A.simpleUrl, project: 'grow', version: '1.1' },
      { kind: 'package-released', indexUrl: A.simpleUrl, project: 'grow', version: '2.0rc1' },
    ]);
    expect(store.byVersion('grow', '1.1').artifacts).toEqual([{ filename: 'grow-1.1-py3-none-any.whl', sha256: sha('d') }]);

    // next pass: they are known now, nothing is announced again
    log.length = 0;
    await drive(scheduler, updatePass(ports, { ...OPTIONS, all: true }));
    expect(events.published).toHaveLength(2);
    expect(log.filter((line) => line.startsWith('publish') || line.startsWith('recordReleases'))).toEqual([]);
  });

  it('only checks due rows unless `all`, and passes the recheck interval as the next due time', async () => {
    const { scheduler, ports, index, store } = setup([
      { project: 'due', version: '1.0', due: 0 },
      { project: 'later', version: '1.0', due: DAY },
    ]);
    index.set(A, 'due', [release('1.0', [wheel('due', '1.0')])]);
    index.set(A, 'later', [release('1.0', [wheel('later', '1.0')])]);
    await drive(scheduler, updatePass(ports, { ...OPTIONS, recheckIntervalMs: 7 * DAY }));
    expect(index.requests.map((r) => r.project)).toEqual(['due']);
    expect(store.checks).toMatchObject([{ id: store.byVersion('due', '1.0').id, check: { nextDueAt: new Date(7 * DAY) } }]);
    await drive(scheduler, updatePass(ports, { ...OPTIONS, all: true }));
    expect(index.requests.map((r) => r.project).sort()).toEqual(['due', 'due', 'later']);
  });

  it('measures rows, events, attention, stages and the pass time', async () => {
    const metrics = createMetrics(new Registry(), { defaultMetrics: false });
    const { scheduler, ports, index } = setup([
      { project: 'hashy', version: '1.0', due: 0 },
      { project: 'hashy', version: '2.0', due: 1 },
      { project: 'bad', version: '1.0', due: 2 },
    ]);
    index.set(A, 'hashy', [release('1.0', [wheel('hashy', '1.0', sha('e'))]), release('2.0', [wheel('hashy', '2.0')])]);
    // Rows due as seen at the first index request: the pass's total from its start, not the rows taken so far.
    const dueSeen: (number | undefined)[] = [];
    index.answer = (_host, project) => {
      void metrics.scanRowsDue.get().then((m) => dueSeen.push(m.values[0]?.value));
      return project === 'bad' ? new PkgstreamError('INDEX_HTTP_STATUS', 'gone') : undefined;
    };
    scheduler.frame = 1000; // pass ends at 1 s of virtual time
    await drive(scheduler, updatePass(ports, { ...OPTIONS, concurrency: 1, metrics }));
    expect(dueSeen[0]).toBe(3);

    const value = async (metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, labels: Record<string, string>) =>
      (await metric.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(await value(metrics.scanRowsDone, { pipeline: 'update' })).toBe(3);
    expect(await value(metrics.scanRowsDue, { pipeline: 'update' })).toBe(3);
    expect(await value(metrics.attentionRecorded, { pipeline: 'update', code: 'INDEX_HTTP_STATUS' })).toBe(1);
    expect(await value(metrics.stageItems, { pipeline: 'update', stage: 'fetch', outcome: 'ok' })).toBe(1);
    expect(await value(metrics.stageItems, { pipeline: 'update', stage: 'fetch', outcome: 'failed' })).toBe(1);
    expect(await value(metrics.stageItems, { pipeline: 'update', stage: 'apply', outcome: 'ok' })).toBe(1);
    expect(await value(metrics.stageInflight, { pipeline: 'update', stage: 'fetch' })).toBe(0);
    expect(await value(metrics.stageInflight, { pipeline: 'update', stage: 'scan' })).toBe(0);
    expect(await value(metrics.lastSuccessfulPass, { pipeline: 'update' })).toBe(1);
  });

  it('stop: takes no new row, lets the project in flight finish, closes the scan and completes', async () => {
    const { scheduler, ports, index, store } = setup(
      ['p1', 'p2', 'p3'].map((project, i) => ({ project, version: '1.0', due: i })),
      100,
    );
    for (const project of ['p1', 'p2', 'p3']) index.set(A, project, [release('1.0', [wheel(project, '1.0')])]);
    let closed = false;
    const scan = store.scanDue.bind(store);
    store.scanDue = async function* (options) {
      try {
        yield* scan(options);
      } finally {
        closed = true;
      }
    };
    const stop = new Subject<void>();
    scheduler.schedule(() => stop.next(), 50); // while p1 is being fetched
    const outcomes = await drive(scheduler, updatePass(ports, { ...OPTIONS, concurrency: 1, stop }));
    expect(ofType(outcomes, 'checked').map((o) => o.project)).toEqual(['p1']);
    expect(ofType(outcomes, 'pass-complete')[0]).toMatchObject({ rows: 1, stopped: true });
    expect(closed).toBe(true);
    expect(store.byVersion('p1', '1.0').lastCheckedAt).toEqual(new Date(100));
  });

  it('rejects bad options', () => {
    const { ports } = setup([]);
    expect(() => updatePass(ports, { ...OPTIONS, concurrency: 0 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
    expect(() => updatePass(ports, { ...OPTIONS, pageSize: 1.5 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
  });
});

describe('updatePipeline', () => {
  it('starts each pass intervalMs after the previous one completed, survives a failed pass, and stops', async () => {
    const { scheduler, ports, index, store } = setup([{ project: 'p', version: '1.0' }], 100);
    index.set(A, 'p', [release('1.0', [wheel('p', '1.0')])]);
    const stop = new Subject<void>();
    const outcomes: UpdateOutcome[] = [];
    const pipeline = updatePipeline(ports, { ...OPTIONS, all: true, intervalMs: 1000, stop });
    let passes = 0;
    const watched = new Promise<void>((resolve) => {
      const sub = pipeline.subscribe({
        next: (outcome) => {
          outcomes.push(outcome);
          if (outcome.type === 'pass-complete' || outcome.type === 'pass-failed') {
            passes += 1;
            if (passes === 1) store.scanFails = true; // the second pass fails
            if (passes === 2) store.scanFails = false;
            if (passes === 4) stop.next();
          }
        },
        complete: () => {
          sub.unsubscribe();
          resolve();
        },
      });
    });
    // drive until the pipeline completes on stop
    let finished = false;
    void watched.then(() => (finished = true));
    for (let step = 0; step < 1000 && !finished; step += 1) {
      await settle();
      const next = scheduler.actions[0];
      if (!next) continue;
      scheduler.maxFrames = next.delay;
      scheduler.flush();
    }
    await watched;

    // pass 1: 0..100 (one fetch of 100 ms); pass 2 at 1100 fails at once; pass 3 at 2100..2200; pass 4 at 3200..3300
    expect(store.scans).toEqual([0, 1100, 2100, 3200]);
    expect(outcomes.map((o) => o.type)).toEqual([
      'checked',
      'pass-complete',
      'pass-failed',
      'checked',
      'pass-complete',
      'checked',
      'pass-complete',
    ]);
    expect(index.times('p')).toEqual([0, 2100, 3200]);
    expect(scheduler.actions).toHaveLength(0); // no pass scheduled after the stop
  });
});
