import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NEVER, type Observable, map, take, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Registry } from 'prom-client';
import type { FeedItem, FeedResult, PackageIndex, Validators } from '../../src/domain/types.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import {
  EMPTY_POSITION,
  checkpointFromPosition,
  evaluateFeed,
  feedSource,
  positionFromCheckpoint,
  type FeedEvent,
  type FeedPosition,
} from '../../src/sources/feed-source.js';
import { IndexError, createIndexClient } from '../../src/sources/index-client/index.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const item = (project: string, seconds: number, version = '1.0'): FeedItem => ({ project, version, publishedAt: at(seconds), link: null });
const page = (etag: string, ...items: FeedItem[]): FeedResult => ({ notModified: false, items, badItems: [], validators: { etag } });
const NOT_MODIFIED: FeedResult = { notModified: true };

const index: PackageIndex = {
  id: 1,
  simpleUrl: 'https://pypi.example/simple',
  jsonApiUrl: 'https://pypi.example/pypi',
  rssUrl: 'https://pypi.example/rss',
  verifyTls: true,
  enabled: true,
  watchMode: 'all',
};

/**
 * A promise-shaped value that settles synchronously when the observable emits, so that the
 * port's `Promise` stays inside the TestScheduler's virtual time.
 */
function virtualPromise<T>(source: Observable<T>): Promise<T> {
  const chain = { then: () => chain };
  return {
    then(onValue?: (value: T) => unknown, onError?: (error: unknown) => unknown) {
      source.pipe(take(1)).subscribe({ next: (value) => onValue?.(value), error: (error: unknown) => onError?.(error) });
      return chain;
    },
  } as unknown as Promise<T>;
}

/** A fake IndexClient (the port): one scripted answer per poll, and a record of each call. */
function scriptedClient(scheduler: TestScheduler) {
  const calls: { at: number; validators: Validators | undefined }[] = [];
  /** Filled inside `scheduler.run`, where marble frames are 1 ms. */
  const answers: Observable<FeedResult>[] = [];
  return {
    calls,
    answers,
    client: {
      fetchFeed: (_index: PackageIndex, _feed: string, validators?: Validators) => {
        calls.push({ at: scheduler.now(), validators });
        return virtualPromise(answers[calls.length - 1] ?? NEVER);
      },
    },
  };
}

function summary(event: FeedEvent): string {
  switch (event.type) {
    case 'items':
      return `items:${event.items.map((i) => `${i.project}@${(i.publishedAt.getTime() - T0) / 1000}`).join(',')}`;
    case 'gap':
      return `gap:${(event.since.getTime() - T0) / 1000}-${(event.until.getTime() - T0) / 1000}`;
    case 'not-modified':
      return 'not-modified';
    case 'error':
      return `error:${(event.error as { code?: string }).code ?? '?'}`;
  }
}

function newScheduler() {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('feedSource (virtual time)', () => {
  it('polls on the interval, emits only new items, and starts no poll until the previous items are acked', () => {
    const scheduler = newScheduler();
    const stored: FeedPosition[] = [];
    const { client, calls, answers } = scriptedClient(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      answers.push(
        cold('--a|', { a: page('e1', item('b', 2), item('a', 1)) }),
        cold('--a|', { a: page('e2', item('c', 3), item('b', 2), item('a', 1)) }),
        cold('--a|', { a: NOT_MODIFIED }),
      );
      const events = feedSource({ client, index, feed: 'updates', interval: 10, scheduler }).pipe(
        // The consumer makes the effects durable in 15 frames, stores the checkpoint, acks.
        tap((event) => {
          if (event.type === 'items') {
            scheduler.schedule(() => {
              stored.push(event.checkpoint);
              event.ack();
            }, 15);
          }
        }),
        map(summary),
      );
      expectObservable(events, '45ms !').toBe('--a 19ms b 19ms c', { a: 'items:a@1,b@2', b: 'items:c@3', c: 'not-modified' });
    });
    // Ticks at 10 and 30 fell while items were in flight: no poll then.
    expect(calls).toEqual([
      { at: 0, validators: {} },
      { at: 20, validators: { etag: 'e1' } },
      { at: 40, validators: { etag: 'e2' } },
    ]);
    expect(stored).toEqual([
      { newestAt: at(2), newestKeys: ['b|1.0'], validators: { etag: 'e1' } },
      { newestAt: at(3), newestKeys: ['c|1.0'], validators: { etag: 'e2' } },
    ]);
  });

  it('emits a gap before the items when a poll does not overlap the checkpoint, and counts it', () => {
    const scheduler = newScheduler();
    const metrics = createMetrics(new Registry(), { defaultMetrics: false });
    const checkpoint: FeedPosition = { newestAt: at(5), newestKeys: ['x|1.0'], validators: { etag: 'old' } };
    const { client, calls, answers } = scriptedClient(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      answers.push(cold('-a|', { a: page('e1', item('z', 7), item('y', 6)) }));
      const events = feedSource({ client, index, feed: 'updates', interval: 10, scheduler, checkpoint, metrics, indexLabel: 'pypi.example' });
      expectObservable(events.pipe(map(summary)), '5ms !').toBe('-(ab)', { a: 'gap:5-6', b: 'items:y@6,z@7' });
    });
    expect(calls[0]?.validators).toEqual({ etag: 'old' });
    return Promise.all([metrics.feedGaps.get(), metrics.feedItems.get()]).then(([gaps, items]) => {
      expect(gaps.values).toEqual([{ labels: { index: 'pypi.example', feed: 'updates' }, value: 1 }]);
      expect(items.values.find((v) => v.labels.outcome === 'new')?.value).toBe(2);
    });
  });

  it('turns a failed poll into an error event, keeps polling, and honours Retry-After', () => {
    const scheduler = newScheduler();
    const limited = new IndexError('INDEX_RATE_LIMITED', '429', { url: 'u', status: 429, retryAfterMs: 25 });
    const { client, calls, answers } = scriptedClient(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      answers.push(
        cold<FeedResult>('-#', undefined, limited),
        cold<FeedResult>('-#', undefined, new IndexError('INDEX_HTTP_5XX', '503', { url: 'u', status: 503 })),
        cold('-a|', { a: page('e1', item('a', 1)) }),
      );
      const events = feedSource({ client, index, feed: 'packages', interval: 10, scheduler }).pipe(map(summary));
      expectObservable(events, '60ms !').toBe('-a 29ms b 9ms c', { a: 'error:INDEX_RATE_LIMITED', b: 'error:INDEX_HTTP_5XX', c: 'items:a@1' });
    });
    // The poll after the 429 waits out its 25 ms; the one after the 503 waits for the next tick.
    expect(calls.map((c) => c.at)).toEqual([0, 30, 40]);
  });

  it('does not poll again while the consumer has not acked', () => {
    const scheduler = newScheduler();
    const { client, calls, answers } = scriptedClient(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      answers.push(cold('a|', { a: page('e1', item('a', 1)) }));
      expectObservable(feedSource({ client, index, feed: 'updates', interval: 10, scheduler }).pipe(map(summary)), '100ms !').toBe('a', { a: 'items:a@1' });
    });
    expect(calls).toHaveLength(1);
  });
});

describe('evaluateFeed', () => {
  it('compares by time, then by identity at the checkpoint instant', () => {
    const checkpoint: FeedPosition = { newestAt: at(5), newestKeys: ['a|1.0'], validators: {} };
    const result = evaluateFeed(checkpoint, [item('c', 6), item('b', 5), item('a', 5), item('old', 4)], { etag: 'e' });
    expect(result.fresh.map((i) => i.project)).toEqual(['b', 'c']);
    expect(result.old).toBe(2);
    expect(result.gap).toBeNull();
    expect(result.next).toEqual({ newestAt: at(6), newestKeys: ['c|1.0'], validators: { etag: 'e' } });
  });

  it('keeps every identity of the newest instant, and the previous ones when no item is newer', () => {
    const checkpoint: FeedPosition = { newestAt: at(5), newestKeys: ['a|1.0'], validators: {} };
    const result = evaluateFeed(checkpoint, [item('b', 5), item('a', 5), item('a', 3, '0.9')], {});
    expect(result.fresh.map((i) => i.project)).toEqual(['b']);
    expect(result.next.newestKeys).toEqual(['a|1.0', 'b|1.0']);
  });

  it('sees a gap when no item of the poll was seen before, even one at the checkpoint instant', () => {
    const checkpoint: FeedPosition = { newestAt: at(5), newestKeys: ['a|1.0'], validators: {} };
    expect(evaluateFeed(checkpoint, [item('c', 6), item('b', 5)], {}).gap).toEqual({ since: at(5), until: at(5) });
    expect(evaluateFeed(checkpoint, [], {}).gap).toBeNull();
    expect(evaluateFeed(EMPTY_POSITION, [item('c', 6)], {}).gap).toBeNull();
  });

  it('treats the same project at two versions as two items', () => {
    const checkpoint: FeedPosition = { newestAt: at(5), newestKeys: ['a|1.0'], validators: {} };
    expect(evaluateFeed(checkpoint, [item('a', 5, '1.1'), item('a', 5)], {}).fresh).toEqual([item('a', 5, '1.1')]);
  });
});

describe('stored checkpoints', () => {
  it('round-trips a position through the store row shape', () => {
    const position: FeedPosition = { newestAt: at(5), newestKeys: ['a|1.0', 'new-pkg|'], validators: { etag: '"x"', lastModified: null } };
    const row = checkpointFromPosition(1, 'updates', position);
    expect(row).toEqual({
      indexId: 1,
      feed: 'updates',
      etag: '"x"',
      lastModified: null,
      newestPublishedAt: at(5),
      newestItems: [
        { project: 'a', version: '1.0', publishedAt: at(5) },
        { project: 'new-pkg', version: null, publishedAt: at(5) },
      ],
    });
    expect(positionFromCheckpoint(row)).toEqual(position);
    expect(positionFromCheckpoint(null)).toBe(EMPTY_POSITION);
    // Items of older instants in a row do not count as seen at the newest instant.
    expect(positionFromCheckpoint({ ...row, newestItems: [...row.newestItems, { project: 'b', version: '1', publishedAt: at(4) }] }).newestKeys).toEqual(['a|1.0', 'new-pkg|']);
  });
});

describe('feedSource with the real client against the local index', () => {
  // vi.waitFor gives up after 1 s by default: too short for HTTP polls on a loaded machine.
  const WAIT = { timeout: 30_000, interval: 20 };

  let server: IndexServer;

  beforeAll(async () => {
    server = await startIndexServer();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('polls, acks, sees 304s, holds polls while items are in flight, and reports a gap after a burst', async () => {
    const client = createIndexClient({ version: 'test' });
    const events: FeedEvent[] = [];
    server.addRelease('a', '1.0');
    server.addRelease('b', '1.0');
    const subscription = feedSource({ client, index: server.packageIndex(), feed: 'updates', interval: 30 }).subscribe((event) => events.push(event));
    const lastItems = () => events.filter((e): e is Extract<FeedEvent, { type: 'items' }> => e.type === 'items').at(-1);
    try {
      await vi.waitFor(() => expect(lastItems()?.items.map((i) => i.project)).toEqual(['a', 'b']), WAIT);
      lastItems()?.ack();
      await vi.waitFor(() => expect(events.some((e) => e.type === 'not-modified')).toBe(true), WAIT);

      server.addRelease('c', '1.0');
      await vi.waitFor(() => expect(lastItems()?.items.map((i) => i.project)).toEqual(['c']), WAIT);
      const polls = server.counters.count('rss-updates');
      const d = server.addRelease('d', '1.0');
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(server.counters.count('rss-updates')).toBe(polls);
      lastItems()?.ack();
      await vi.waitFor(() => expect(lastItems()?.items.map((i) => i.project)).toEqual(['d']), WAIT);

      const burst = Array.from({ length: 105 }, (_, i) => server.addRelease(`burst-${i}`, '1.0'));
      lastItems()?.ack();
      await vi.waitFor(() => expect(lastItems()?.items).toHaveLength(100), WAIT);
      const gap = events.find((e) => e.type === 'gap');
      expect(gap).toMatchObject({ type: 'gap', feed: 'updates', since: d.uploadTime, until: burst[5]?.uploadTime });
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
    } finally {
      subscription.unsubscribe();
      await client.close();
    }
  });

  it('reports an unreachable index as error events without ending', async () => {
    const gone = await startIndexServer();
    const goneIndex = gone.packageIndex();
    await gone.stop();
    const client = createIndexClient({ version: 'test' });
    try {
      const errors = await new Promise<FeedEvent[]>((resolve) => {
        const seen: FeedEvent[] = [];
        const sub = feedSource({ client, index: goneIndex, feed: 'packages', interval: 20 }).subscribe((event) => {
          seen.push(event);
          if (seen.length === 2) {
            sub.unsubscribe();
            resolve(seen);
          }
        });
      });
      expect(errors.map(summary)).toEqual(['error:INDEX_CONNECTION', 'error:INDEX_CONNECTION']);
    } finally {
      await client.close();
    }
  });
});
