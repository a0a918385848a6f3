/**
 * The update pipeline whole, in virtual time: its edge (`PassPorts`) answers with
 * TestScheduler cold observables (the index listing, the page requests behind a token
 * bucket, the re-checks, the store writes) and sync scans, and the outcome stream and the
 * ports' subscriptions are asserted as marble diagrams.
 *
 * Not here, because they await Promises inside and so cannot finish within
 * `TestScheduler.run`'s synchronous flush: the project fetcher (project-fetcher.ts awaits
 * the index client and the validators; its retries and 404s are its own spec's), the
 * re-check of a project against its page (`checkProject` awaits the store: which changes
 * give events is update.test.ts's, driven by `drive`), and the replicas' claims
 * (claimedScan awaits `ProjectClaims`: update-replicas.test.ts). Here the re-check port
 * answers with the events a check gave, and the spec asserts what the pipeline does with them.
 */
import { describe, expect, it } from 'vitest';
import { catchError, map, NEVER, Observable, of, Subject, type SchedulerLike } from 'rxjs';
import { PkgstreamError } from '../../src/domain/errors.js';
import type { AttentionFailure } from '../../src/domain/ports.js';
import type { PackageEvent, PackageIndex, ProjectPage, StoredRelease } from '../../src/domain/types.js';
import { rateLimit } from '../../src/operators/rate-limit.js';
import type { RetryOutcome } from '../../src/operators/retry-backoff.js';
import type { CheckedPage, ProjectRequest } from '../../src/pipelines/project-fetcher.js';
import type { ProjectCheckResult } from '../../src/pipelines/update-project.js';
import { updatePass, updatePipeline, type PassPorts, type UpdateOptions, type UpdateOutcome } from '../../src/pipelines/update.js';
import { testScheduler } from '../operators/helpers.js';
import { storedRelease } from '../support/stored-release.js';

const INDEX: PackageIndex = { id: 1, simpleUrl: 'https://a.example/simple', jsonApiUrl: null, rssUrl: null, verifyTls: true, enabled: true, watchMode: 'all' };

const OPTIONS: UpdateOptions = {
  concurrency: 2,
  pageSize: 10,
  // Every backoff is half its cap: 10 ms before the second attempt, 20 ms before the third.
  retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 1_000 },
  random: () => 0.5,
  deferOnFailureMs: 60_000,
};

let nextId = 1;
const row = (project: string, version = '1.0'): StoredRelease => storedRelease(INDEX, project, version, { id: nextId++ });

const page = (project: string): ProjectPage => ({ project, releases: [], validators: {} });
const yanked = (project: string): PackageEvent => ({ kind: 'package-yanked', indexUrl: INDEX.simpleUrl, project, version: '1.0', fields: { reason: null } });
const result = (events: readonly PackageEvent[] = []): ProjectCheckResult => ({ releases: 1, changed: events.length, recorded: [], events });
const busy = new PkgstreamError('DB_CONFLICT', 'a write lost a race');

/** The index behind one token bucket (burst 1, `rate` a second), as the polite client holds its requests. */
function tokenBucket(rate: number, scheduler: SchedulerLike) {
  const waiting = new Subject<() => void>();
  waiting.pipe(rateLimit({ rate, burst: 1, scheduler })).subscribe((send) => send());
  return <T>(request: () => Observable<T>): Observable<T> =>
    new Observable<T>((subscriber) => {
      const answer = { unsubscribe: () => undefined };
      waiting.next(() => Object.assign(answer, request().subscribe(subscriber)));
      return () => answer.unsubscribe();
    });
}

/** An edge whose every call answers with an observable the test made, in call order per project. */
function fakeEdge(options: {
  readonly scheduler: SchedulerLike;
  readonly due: readonly StoredRelease[];
  readonly pages: Record<string, Observable<CheckedPage>[]>;
  readonly checks: Record<string, Observable<ProjectCheckResult>[]>;
  readonly listing?: Observable<readonly PackageIndex[]>;
  /** Page requests a second (one bucket); absent: no limit. */
  readonly rate?: number;
}) {
  const attention: AttentionFailure[] = [];
  const deferred: { readonly id: number; readonly until: number }[] = [];
  const limited = options.rate === undefined ? <T>(request: () => Observable<T>) => request() : tokenBucket(options.rate, options.scheduler);
  let requests = 0;
  const edge: PassPorts = {
    scheduler: options.scheduler,
    store: {
      listIndexes: () => options.listing ?? of([INDEX]),
      countDue: () => of(options.due.length),
      unrecordedProjects: () => [],
      scanDue: () => options.due,
      deferCheck: (id, until) => {
        deferred.push({ id, until: until.getTime() });
        return of(undefined);
      },
      recordAttention: (failure) => {
        attention.push(failure);
        return of(failure);
      },
    },
    work: {
      fetch: (request) =>
        limited(() => {
          requests += 1;
          return options.pages[request.project]?.shift() ?? NEVER;
        }).pipe(
          // What the project fetcher answers once its retries are over: the page, or the error left.
          map((value): RetryOutcome<ProjectRequest, CheckedPage> => ({ ok: true, item: request, value, attempts: 1 })),
          catchError((error: unknown) => of<RetryOutcome<ProjectRequest, CheckedPage>>({ ok: false, item: request, error, attempts: 1 })),
        ),
      check: (input) => options.checks[input.project]?.shift() ?? NEVER,
      requests: () => requests,
    },
  };
  return { edge, attention, deferred };
}

const checked = (r: StoredRelease, events: readonly PackageEvent[] = []): UpdateOutcome => ({
  type: 'checked',
  indexUrl: r.indexUrl,
  project: r.project,
  releases: 1,
  changed: events.length,
  newReleases: [],
  notFound: false,
  events,
  attempts: 1,
});
const skipped = (r: StoredRelease, reason: 'project-checked' | 'project-failed'): UpdateOutcome => ({
  type: 'skipped',
  indexUrl: r.indexUrl,
  project: r.project,
  version: r.version,
  reason,
});
const complete = (figures: { rows: number; projects: number; requests: number; failed: number; events: number; startedAt: number; finishedAt: number; stopped?: boolean }): UpdateOutcome => ({
  type: 'pass-complete',
  rows: figures.rows,
  projects: figures.projects,
  requests: figures.requests,
  failed: figures.failed,
  events: figures.events,
  startedAt: new Date(figures.startedAt),
  finishedAt: new Date(figures.finishedAt),
  stopped: figures.stopped ?? false,
});

describe('updatePass (marbles)', () => {
  it('one request per project, spaced by the rate limit; later rows skipped; only a change gives events', () => {
    const scheduler = testScheduler();
    const [alpha1, alpha2, beta] = [row('alpha', '1.0'), row('alpha', '2.0'), row('beta')];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const listing = cold('-(l|)', { l: [INDEX] });
      const alphaPage = cold('-(p|)', { p: page('alpha') });
      const betaPage = cold('-(p|)', { p: page('beta') });
      const { edge } = fakeEdge({
        scheduler,
        due: [alpha1, alpha2, beta],
        listing,
        rate: 100, // a token every 10 ms
        pages: { alpha: [alphaPage], beta: [betaPage] },
        checks: { alpha: [cold('-(r|)', { r: result() })], beta: [cold('-(r|)', { r: result([yanked('beta')]) })] },
      });
      // alpha 2.0 is skipped at once; beta waits for the listing both share, then for a token.
      expectObservable(updatePass(edge, OPTIONS)).toBe('s--a 9ms (bp|)', {
        s: skipped(alpha2, 'project-checked'),
        a: checked(alpha1),
        b: checked(beta, [yanked('beta')]),
        p: complete({ rows: 3, projects: 2, requests: 2, failed: 0, events: 1, startedAt: 0, finishedAt: 13 }),
      });
      expectSubscriptions(listing.subscriptions).toBe('^!');
      expectSubscriptions(alphaPage.subscriptions).toBe('-^!');
      expectSubscriptions(betaPage.subscriptions).toBe('11ms ^!');
    });
  });

  it('a failing project is retried on its backoff, then failed (attention, its rows deferred) while the next goes on', () => {
    const scheduler = testScheduler();
    const [alpha1, alpha2, beta, alpha3] = [row('alpha', '1.0'), row('alpha', '2.0'), row('beta'), row('alpha', '3.0')];
    const written = { attention: [] as AttentionFailure[], deferred: [] as { id: number; until: number }[] };
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempts = [1, 2, 3].map(() => cold<ProjectCheckResult>('-#', undefined, busy));
      const { edge, attention, deferred } = fakeEdge({
        scheduler,
        due: [alpha1, alpha2, beta, alpha3],
        pages: { alpha: [cold('-(p|)', { p: page('alpha') })], beta: [cold('-(p|)', { p: page('beta') })] },
        checks: { alpha: [...attempts], beta: [cold('40ms (r|)', { r: result([yanked('beta')]) })] },
      });
      Object.assign(written, { attention, deferred });
      // alpha's re-check fails at 2, 13 and 34 (10 then 20 ms of backoff) while beta's runs;
      // alpha 3.0, pulled into the slot alpha frees, is skipped as failed and deferred.
      expectObservable(updatePass(edge, OPTIONS)).toBe('s 33ms (ft) 3ms (bp|)', {
        s: skipped(alpha2, 'project-checked'),
        f: { type: 'failed', indexUrl: INDEX.simpleUrl, project: 'alpha', stage: 'apply', errorCode: 'DB_CONFLICT', error: busy, attempts: 3 },
        b: checked(beta, [yanked('beta')]),
        t: skipped(alpha3, 'project-failed'),
        p: complete({ rows: 4, projects: 2, requests: 2, failed: 1, events: 1, startedAt: 0, finishedAt: 41 }),
      });
      for (const [attempt, subscribed] of ['-^!', '12ms ^!', '33ms ^!'].entries()) expectSubscriptions(attempts[attempt]!.subscriptions).toBe(subscribed);
    });
    expect(written.attention).toEqual([expect.objectContaining({ pipeline: 'update', itemKey: `${INDEX.simpleUrl}|alpha`, errorCode: 'DB_CONFLICT', attempts: 3, failedAt: new Date(34) })]);
    expect(written.deferred).toEqual([
      { id: alpha1.id, until: 60_034 },
      { id: alpha2.id, until: 60_034 },
      { id: alpha3.id, until: 60_034 },
    ]);
  });

  it('a page the index will not give fails its project at the fetch stage', () => {
    const scheduler = testScheduler();
    const alpha = row('alpha');
    const gone = new PkgstreamError('INDEX_NOT_FOUND', 'HTTP 410');
    scheduler.run(({ cold, expectObservable }) => {
      const { edge } = fakeEdge({ scheduler, due: [alpha], pages: { alpha: [cold('--#', undefined, gone)] }, checks: {} });
      expectObservable(updatePass(edge, OPTIONS)).toBe('--(fp|)', {
        f: { type: 'failed', indexUrl: INDEX.simpleUrl, project: 'alpha', stage: 'fetch', errorCode: 'INDEX_NOT_FOUND', error: gone, attempts: 1 },
        p: complete({ rows: 1, projects: 1, requests: 1, failed: 1, events: 0, startedAt: 0, finishedAt: 2 }),
      });
    });
  });
});

describe('updatePipeline (marbles)', () => {
  it('stop: no new row is taken, the project in flight finishes, the pass completes and no other starts', () => {
    const scheduler = testScheduler();
    const [alpha, beta] = [row('alpha'), row('beta')];
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const betaPage = cold('-(p|)', { p: page('beta') });
      const { edge } = fakeEdge({
        scheduler,
        due: [alpha, beta],
        pages: { alpha: [cold('-(p|)', { p: page('alpha') })], beta: [betaPage] },
        checks: { alpha: [cold('---(r|)', { r: result() })] },
      });
      const stop = hot('--x');
      expectObservable(updatePipeline(edge, { ...OPTIONS, concurrency: 1, intervalMs: 100, stop })).toBe('----(ap|)', {
        a: checked(alpha),
        p: complete({ rows: 1, projects: 1, requests: 1, failed: 0, events: 0, startedAt: 0, finishedAt: 4, stopped: true }),
      });
      expectSubscriptions(betaPage.subscriptions).toBe([]);
    });
  });

  it('passes intervalMs apart, each one reading the scan again; a stop during the pause ends it', () => {
    const scheduler = testScheduler();
    const alpha = row('alpha');
    scheduler.run(({ cold, hot, expectObservable }) => {
      const { edge } = fakeEdge({
        scheduler,
        due: [alpha],
        pages: { alpha: [cold('-(p|)', { p: page('alpha') }), cold('-(p|)', { p: page('alpha') })] },
        checks: { alpha: [cold('-(r|)', { r: result() }), cold('-(r|)', { r: result() })] },
      });
      const stop = hot('150ms x');
      expectObservable(updatePipeline(edge, { ...OPTIONS, intervalMs: 100, stop })).toBe('--(ap) 98ms (aq) 42ms |', {
        a: checked(alpha),
        p: complete({ rows: 1, projects: 1, requests: 1, failed: 0, events: 0, startedAt: 0, finishedAt: 2 }),
        q: complete({ rows: 1, projects: 1, requests: 1, failed: 0, events: 0, startedAt: 102, finishedAt: 104 }),
      });
    });
  });

  it('a pass whose scan fails becomes pass-failed, and the next pass still comes', () => {
    const scheduler = testScheduler();
    const alpha = row('alpha');
    const broken = new PkgstreamError('DB_UNAVAILABLE', 'connection lost');
    scheduler.run(({ cold, hot, expectObservable }) => {
      const { edge } = fakeEdge({
        scheduler,
        due: [alpha],
        pages: { alpha: [cold('-(p|)', { p: page('alpha') })] },
        checks: { alpha: [cold('-(r|)', { r: result() })] },
      });
      let scans = 0;
      const failingFirst: PassPorts = {
        ...edge,
        store: { ...edge.store, scanDue: (options) => (scans++ === 0 ? failingScan(broken) : edge.store.scanDue(options)) },
      };
      const stop = hot('110ms x');
      expectObservable(updatePipeline(failingFirst, { ...OPTIONS, intervalMs: 100, stop })).toBe('e 101ms (ap) 4ms |', {
        e: { type: 'pass-failed', errorCode: 'DB_UNAVAILABLE', error: broken },
        a: checked(alpha),
        p: complete({ rows: 1, projects: 1, requests: 1, failed: 0, events: 0, startedAt: 100, finishedAt: 102 }),
      });
    });
  });
});

function* failingScan(error: Error): Generator<StoredRelease> {
  yield* [];
  throw error;
}
