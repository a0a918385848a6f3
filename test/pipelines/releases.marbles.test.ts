/**
 * The releases pipeline whole, in virtual time: its edge (`ReleasesEdge`) answers with
 * TestScheduler cold observables (the feed polls, the page attempts, the store's writes, the
 * backfill's plan and checks) and sync iterables, and the outcome stream and the ports'
 * subscriptions are asserted as marble diagrams.
 *
 * Not here, because they await Promises inside: the page reads against the index client and
 * the validators (project-fetcher.ts: conditional-fetch.test.ts), what a gap's backfill reads
 * (planBackfill: gap-backfill.test.ts), a page checked whole against the store
 * (checkProject: update.test.ts), and the replicas' leases (whileLeased's own spec). Here the
 * plan and check ports answer with what those gave, and the spec asserts what the pipeline
 * does with them; releases-virtual-time.test.ts and releases.test.ts run the adapters.
 */
import { describe, expect, it } from 'vitest';
import { map, NEVER, of, type Observable, type SchedulerLike } from 'rxjs';
import type { AttentionFailure, FeedCheckpoint, RecordedRelease } from '../../src/domain/ports.js';
import type { FeedItem, FeedResult, IndexRelease, PackageEvent, PackageIndex, ProjectPage } from '../../src/domain/types.js';
import type { BackfillPlan } from '../../src/pipelines/gap-backfill.js';
import type { ProjectCheckInput, ProjectCheckResult } from '../../src/pipelines/update-project.js';
import { releasesPipeline, type ReleasesEdge, type ReleasesOptions, type ReleasesOutcome } from '../../src/pipelines/releases.js';
import { IndexError } from '../../src/sources/index-client/errors.js';
import { testScheduler } from '../operators/helpers.js';

const INDEX: PackageIndex = { id: 1, simpleUrl: 'https://idx.example/simple', jsonApiUrl: null, rssUrl: 'https://idx.example/rss', verifyTls: true, enabled: true, watchMode: 'seen' };
const indexUrl = INDEX.simpleUrl;

const OPTIONS: ReleasesOptions = {
  pollIntervalMs: 60_000,
  concurrency: 2,
  // Every backoff is half its cap: 10 ms before the second attempt, 20 ms before the third.
  retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 1_000 },
  random: () => 0.5,
};

/** Feed dates are wall-clock (feed-source.ts screens those after now): a day long past. */
const DAY = Date.parse('2025-01-01T00:00:00Z');
const item = (project: string, version: string, second: number): FeedItem => ({ project, version, publishedAt: new Date(DAY + second * 1000), link: null });
/** A feed answer: its items newest first, as the index lists them. */
const feedOf = (...items: FeedItem[]): FeedResult => ({
  notModified: false,
  items: [...items].sort((a, b) => b.publishedAt.getTime() - a.publishedAt.getTime()),
  badItems: [],
  validators: {},
});
const release = (version: string): IndexRelease => ({ version, files: [] });
const page = (project: string, ...versions: string[]): ProjectPage => ({ project, releases: versions.map(release), validators: {} });
const releasedEvent = (project: string, version: string): PackageEvent => ({ kind: 'package-released', indexUrl, project, version });
const released = (project: string, versions: string[], backfill = false): ReleasesOutcome => ({
  type: 'released',
  indexUrl,
  project,
  events: versions.map((version) => releasedEvent(project, version)),
  backfill,
});
const poll = (items: number, status: 'items' | 'not-modified' = 'items'): ReleasesOutcome => ({ type: 'poll', indexUrl, feed: 'updates', items, status });

/**
 * An edge whose every call answers with an observable the test made: the feed's polls and each
 * project's page attempts in call order (the last one answering again), the writes after `write`.
 */
function fakeEdge(options: {
  readonly scheduler: SchedulerLike;
  readonly known: readonly string[];
  readonly polls: Observable<FeedResult>[];
  readonly pages?: Record<string, Observable<ProjectPage>[]>;
  /** What each write (a release's record, the checkpoint, an attention row) waits before it is durable. */
  readonly write: Observable<unknown>;
  readonly checkpoint?: FeedCheckpoint | null;
  readonly plan?: BackfillPlan;
  readonly checks?: Record<string, Observable<ProjectCheckResult>>;
}) {
  const { write, scheduler } = options;
  const recorded = new Map<string, string[]>();
  const written = { checkpoints: [] as { at: number; checkpoint: FeedCheckpoint }[], attention: [] as AttentionFailure[], reads: [] as string[], checks: [] as ProjectCheckInput[] };
  const pages = options.pages ?? {};
  const durable = <T>(answer: () => T) => write.pipe(map(answer));
  const edge: ReleasesEdge = {
    scheduler,
    store: {
      listIndexes: () => of([INDEX]),
      getCheckpoint: () => of(options.checkpoint ?? null),
      saveCheckpoint: (checkpoint) => durable(() => written.checkpoints.push({ at: scheduler.now(), checkpoint })),
      isKnownProject: (project) => of(options.known.includes(project)),
      loadProjectReleases: (_indexId, project) => of((recorded.get(project) ?? []).map((version) => ({ version }))),
      recordReleases: (_index, project, releases) =>
        durable((): RecordedRelease[] => {
          recorded.set(project, [...(recorded.get(project) ?? []), ...releases.map((r) => r.version)]);
          return releases.map((r, id) => ({ id, version: r.version, created: true }));
        }),
      recordAttention: (failure) => durable(() => written.attention.push(failure)),
    },
    index: {
      fetchFeed: () => options.polls.shift() ?? NEVER,
      readPage: ({ project }) => {
        written.reads.push(`${project} @${scheduler.now()}`);
        const attempts = pages[project] ?? [];
        return (attempts.length > 1 ? attempts.shift() : attempts[0]) ?? NEVER;
      },
      readCheckedPage: ({ project }) => {
        written.reads.push(`${project} (checked) @${scheduler.now()}`);
        return of(page(project));
      },
    },
    backfill: {
      plan: () => (options.plan ? of(options.plan) : NEVER),
      check: (input) => {
        written.checks.push(input);
        return options.checks?.[input.project] ?? of({ releases: 0, changed: 0, recorded: [], events: [] });
      },
    },
  };
  return { edge, written, recorded };
}

describe('releasesPipeline (marbles)', () => {
  it('a feed gaining items over virtual minutes: each poll’s new items read once and released, the checkpoint stored after their writes', () => {
    const scheduler = testScheduler();
    const seen = { value: undefined as ReturnType<typeof fakeEdge>['written'] | undefined, recorded: new Map<string, string[]>() };
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const write = cold('-(w|)', { w: 'durable' });
      const polls = [
        cold('-(r|)', { r: feedOf(item('alpha', '1.0', 0)) }),
        cold('-(r|)', { r: feedOf(item('alpha', '1.0', 0), item('beta', '2.0', 30), item('alpha', '1.1', 40), item('unseen', '9.9', 50)) }),
        cold<FeedResult>('-(r|)', { r: { notModified: true } }),
      ];
      const alphaPages = [cold('-(p|)', { p: page('alpha', '1.0') }), cold('-(p|)', { p: page('alpha', '1.0', '1.1') })];
      const betaPage = cold('-(p|)', { p: page('beta', '2.0') });
      const fake = fakeEdge({ scheduler, known: ['alpha', 'beta'], polls: [...polls], pages: { alpha: [...alphaPages], beta: [betaPage] }, write });
      Object.assign(seen, { value: fake.written, recorded: fake.recorded });
      const stop$ = hot<void>('150s x');
      // Each poll: its answer at +1, the pages at +2, the writes at +3, the checkpoint at +4 and
      // then the poll's outcomes; the third poll is a 304; the stop ends the pipeline.
      expectObservable(releasesPipeline(fake.edge, { ...OPTIONS, stop$ })).toBe('-p--r 59996ms q--(ba) 59993ms n 29998ms |', {
        p: poll(1),
        r: released('alpha', ['1.0']),
        q: poll(3),
        b: released('beta', ['2.0']),
        a: released('alpha', ['1.1']),
        n: poll(0, 'not-modified'),
      });
      for (const [at, subscribed] of ['^!', '60000ms ^!', '120000ms ^!'].entries()) expectSubscriptions(polls[at]!.subscriptions).toBe(subscribed);
      expectSubscriptions(alphaPages[0]!.subscriptions).toBe('-^!');
      expectSubscriptions(alphaPages[1]!.subscriptions).toBe('60001ms ^!');
      expectSubscriptions(betaPage.subscriptions).toBe('60001ms ^!');
      // The releases' writes, then the checkpoint's once they are durable: at 2 then 3, at 60002 (two) then 60003.
      expectSubscriptions(write.subscriptions).toBe(['--^!', '---^!', '60002ms ^!', '60002ms ^!', '60003ms ^!']);
    });
    // The unseen project's page is never read; each project once a poll.
    expect(seen.value?.reads).toEqual(['alpha @1', 'beta @60001', 'alpha @60001']);
    expect(Object.fromEntries(seen.recorded)).toEqual({ alpha: ['1.0', '1.1'], beta: ['2.0'] });
    expect(seen.value?.checkpoints.map(({ at, checkpoint }) => [at, checkpoint.newestItems.map((i) => `${i.project} ${i.version ?? ''}`)])).toEqual([
      [4, ['alpha 1.0']],
      [60004, ['unseen 9.9']],
    ]);
  });

  it('a gap is backfilled before its poll’s items: the plan’s projects checked, then the plan done, then the items read', () => {
    const scheduler = testScheduler();
    const seen = { value: undefined as ReturnType<typeof fakeEdge>['written'] | undefined };
    const lastSeen: FeedCheckpoint = {
      indexId: INDEX.id,
      feed: 'updates',
      etag: null,
      lastModified: null,
      newestPublishedAt: new Date(DAY),
      newestItems: [{ project: 'alpha', version: '1.0', publishedAt: new Date(DAY) }],
    };
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const write = cold('-(w|)', { w: 'durable' });
      const done = cold<void>('-|');
      // beta 2.0 fell off the feed during the outage: only its check finds it.
      const betaCheck = cold('-(c|)', { c: { releases: 1, changed: 0, recorded: [], events: [releasedEvent('beta', '2.0')] } });
      const gammaPage = cold('---(p|)', { p: page('gamma', '1.0') });
      const plan: BackfillPlan = { projects: ['alpha', 'beta'], basis: 'serials', listed: true, promisedSerial: () => undefined, readFailed: () => of(undefined), gone: () => [], done: () => done };
      const fake = fakeEdge({
        scheduler,
        known: ['alpha', 'beta', 'gamma'],
        checkpoint: lastSeen,
        // No item of the poll was seen before: a gap since the checkpoint.
        polls: [cold('-(r|)', { r: feedOf(item('gamma', '1.0', 600)) })],
        pages: { gamma: [gammaPage] },
        plan,
        checks: { beta: betaCheck },
        write,
      });
      seen.value = fake.written;
      expectObservable(releasesPipeline(fake.edge, { ...OPTIONS, stop$: hot<void>('1s x') })).toBe('-gb(sp)-r 991ms |', {
        g: { type: 'gap', indexUrl, feed: 'updates' },
        b: released('beta', ['2.0'], true),
        s: { type: 'synced', indexUrl, basis: 'serials', projects: 2, gone: 0 },
        p: poll(1),
        r: released('gamma', ['1.0']),
      });
      expectSubscriptions(betaCheck.subscriptions).toBe('-^!');
      expectSubscriptions(done.subscriptions).toBe('--^!');
      expectSubscriptions(gammaPage.subscriptions).toBe('---^--!');
      // gamma's record, then the checkpoint.
      expectSubscriptions(write.subscriptions).toBe(['6ms ^!', '7ms ^!']);
    });
    expect(seen.value?.checks.map((input) => input.project)).toEqual(['alpha', 'beta']);
    expect(seen.value?.reads).toEqual(['alpha (checked) @1', 'beta (checked) @1', 'gamma @3']);
    expect(seen.value?.checkpoints.map(({ at }) => at)).toEqual([8]);
  });

  it('a failing page is retried on its backoff, then recorded in attention (failed) while the next projects go on', () => {
    const scheduler = testScheduler();
    const seen = { value: undefined as ReturnType<typeof fakeEdge>['written'] | undefined };
    const unavailable = new IndexError('INDEX_HTTP_5XX', 'HTTP 503', { url: indexUrl, status: 503 });
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const write = cold('-(w|)', { w: 'durable' });
      const failing = cold<ProjectPage>('-#', undefined, unavailable);
      const fake = fakeEdge({
        scheduler,
        known: ['alpha', 'beta', 'gamma'],
        polls: [cold('-(r|)', { r: feedOf(item('alpha', '1.0', 0), item('beta', '1.0', 10), item('gamma', '1.0', 20)) })],
        pages: { alpha: [failing], beta: [cold('-(p|)', { p: page('beta', '1.0') })], gamma: [cold('-(p|)', { p: page('gamma', '1.0') })] },
        write,
      });
      seen.value = fake.written;
      // alpha fails at 2, 13 and 34 (10 then 20 ms of backoff) while beta and then gamma (in
      // the slot beta frees) are read and recorded; its attention row at 35, the checkpoint at 36.
      expectObservable(releasesPipeline(fake.edge, { ...OPTIONS, stop$: hot<void>('1s x') })).toBe('-p 34ms (bgf) 959ms |', {
        p: poll(3),
        b: released('beta', ['1.0']),
        g: released('gamma', ['1.0']),
        f: { type: 'failed', indexUrl, project: 'alpha', errorCode: 'INDEX_HTTP_5XX', message: 'HTTP 503 (after 3 attempts)' },
      });
      expectSubscriptions(failing.subscriptions).toBe(['-^!', '12ms ^!', '33ms ^!']);
      // beta's record, gamma's, alpha's attention row, then the checkpoint.
      expectSubscriptions(write.subscriptions).toBe(['--^!', '----^!', '34ms ^!', '35ms ^!']);
    });
    expect(seen.value?.reads).toEqual(['alpha @1', 'beta @1', 'gamma @3', 'alpha @12', 'alpha @33']);
    expect(seen.value?.attention).toEqual([{ pipeline: 'releases', itemKey: `${indexUrl}|alpha`, errorCode: 'INDEX_HTTP_5XX', errorMessage: 'HTTP 503 (after 3 attempts)' }]);
    expect(seen.value?.checkpoints.map(({ at }) => at)).toEqual([36]);
  });
});
