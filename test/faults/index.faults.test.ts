/**
 * Faults of the package index under the releases pipeline (real store, real undici client
 * with short timeouts, the local index): bursts of 5xx, answers slower than the client's
 * timeouts, 429 with Retry-After, slow-drip and truncated bodies. Whatever the fault, every
 * release ends up recorded once and announced exactly once (by key), nothing in attention.
 */
import { asyncScheduler, Subject, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addIndex, setIndexEnabled } from '../../src/db/indexes.js';
import { addProject } from '../../src/db/projects.js';
import type { PackageIndex } from '../../src/domain/types.js';
import { releasesPipeline, type ReleasesOutcome } from '../../src/pipelines/releases.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createIndexClient, type IndexClientOptions } from '../../src/sources/index-client/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { publishingStore } from '../support/outbox.js';
import { collectingSink, countingErrors, repeated, rowCount, sleep, timeRequests, until, type CollectingSink, type ErrorTally } from './helpers.js';
import { politeIndexClient } from '../../src/sources/index-client/polite-client.js';

let db: TestDatabase;
const cleanups: (() => Promise<void>)[] = [];

// Each test its own database: a test that fails before disabling its index would leave it
// polled by the next test's releases pipeline.
beforeEach(async () => {
  db = await createTestDatabase();
  // The seeded pypi.org index is not reachable from tests.
  await setIndexEnabled(db.pool, 'https://pypi.org/simple', false);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await db?.close();
});

/** Short client timeouts, so that a slow index is a timeout within a test's time. */
const SHORT_TIMEOUTS: Partial<IndexClientOptions> = { headersTimeoutMs: 800, bodyTimeoutMs: 800, requestTimeoutMs: 1_500 };

interface Watcher {
  readonly index: IndexServer;
  readonly registered: PackageIndex;
  readonly sink: CollectingSink;
  readonly errors: ErrorTally;
  readonly outcomes: ReleasesOutcome[];
  /** Adds `versions` of each project to the index; returns their event keys. */
  publish(projects: readonly string[], versions: readonly string[]): string[];
  /** Waits until every key is announced and recorded. */
  settled(keys: readonly string[]): Promise<void>;
  /** Stops the pipeline and asserts: exactly once per key, every row recorded, no attention. */
  verify(keys: readonly string[]): Promise<{ announced: number; rows: number }>;
}

async function watch(options: {
  projects: readonly string[];
  rate?: number;
  burst?: number;
  concurrency?: number;
  client?: Partial<IndexClientOptions>;
}): Promise<Watcher> {
  const index = await startIndexServer();
  const registered = await addIndex(db.pool, { simpleUrl: `${index.url}/simple`, warehouse: true, watchMode: 'seen' });
  for (const project of options.projects) await addProject(db.pool, { project, indexId: registered.id });
  const metrics = createMetrics();
  const { client, errors } = countingErrors(createIndexClient({ version: 'faults', metrics, connections: 4, ...SHORT_TIMEOUTS, ...options.client }));
  const sink = collectingSink();
  const store = publishingStore(db.pool, sink, { analyzeBeforeScan: db.embedded });
  const stop$ = new Subject<void>();
  const outcomes: ReleasesOutcome[] = [];
  let failure: unknown = null;
  const subscription: Subscription = releasesPipeline(
    { store, index: politeIndexClient(client, { rate: options.rate ?? 50, burst: options.burst ?? 10, metrics }).forPipeline('releases'), scheduler: asyncScheduler },
    {
      pollIntervalMs: 200,
      concurrency: options.concurrency ?? 4,
      // More attempts than any burst below has failures: a fault delays, never drops.
      retry: { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 400 },
      metrics,
      logger: silentLogger(),
      stop$,
    },
  ).subscribe({ next: (outcome) => outcomes.push(outcome), error: (error: unknown) => (failure = error) });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    stop$.next();
    subscription.unsubscribe();
    await setIndexEnabled(db.pool, registered.simpleUrl, false);
    await client.close();
    await index.stop();
  };
  cleanups.push(stop);

  const recorded = () =>
    rowCount(db.pool, 'SELECT 1 FROM package_version WHERE index_id = $1', [registered.id]);
  return {
    index,
    registered,
    sink,
    errors,
    outcomes,
    publish(projects, versions) {
      const keys: string[] = [];
      for (const project of projects) {
        for (const version of versions) {
          index.addRelease(project, version);
          keys.push(`${registered.simpleUrl}|${project}|${version}`);
        }
      }
      return keys;
    },
    async settled(keys) {
      await until(`${keys.length} releases announced and recorded`, async () => {
        if (failure) throw failure as Error;
        const announced = new Set(sink.keys('package-released'));
        return keys.every((key) => announced.has(key)) && (await recorded()) >= keys.length;
      });
    },
    async verify(keys) {
      // A few more polls: a repeat announcement would show up here.
      await sleep(600);
      await stop();
      expect(failure).toBeNull();
      const announced = sink.keys('package-released');
      expect(repeated(announced)).toEqual([]);
      expect([...announced].sort()).toEqual([...keys].sort());
      const { rows } = await db.pool.query<{ key: string }>(
        `SELECT $2 || '|' || project || '|' || version AS key FROM package_version WHERE index_id = $1`,
        [registered.id, registered.simpleUrl],
      );
      expect(rows.map((row) => row.key).sort()).toEqual([...keys].sort());
      const attention = await rowCount(db.pool, `SELECT 1 FROM attention WHERE item_key LIKE $1 || '%'`, [registered.simpleUrl]);
      expect(attention).toBe(0);
      expect(outcomes.filter((outcome) => outcome.type === 'failed')).toEqual([]);
      return { announced: announced.length, rows: rows.length };
    },
  };
}

const PROJECTS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];

describe('index faults under the releases pipeline', () => {
  it('bursts of 500 and 503 (feed and project pages) delay releases, never lose or repeat them', async () => {
    const w = await watch({ projects: PROJECTS });
    const first = w.publish(PROJECTS, ['1.0', '1.1']);
    w.index.inject({ kind: 'status', status: 500 }, { times: 4 });
    w.index.inject({ kind: 'status', status: 503 }, { times: 3 });
    await w.settled(first);
    // A second burst in the middle of the run, on project pages only this time.
    const second = w.publish(PROJECTS, ['2.0']);
    w.index.inject({ kind: 'status', status: 503 }, { times: 5, routes: ['simple-project'] });
    w.index.inject({ kind: 'status', status: 500 }, { times: 2, routes: ['simple-project'] });
    await w.settled([...first, ...second]);
    const failedAnswers = w.index.counters.count(undefined, 500) + w.index.counters.count(undefined, 503);
    const { announced, rows } = await w.verify([...first, ...second]);
    expect(failedAnswers).toBe(14);
    expect(w.errors.codes.get('INDEX_HTTP_5XX')).toBe(14);
    console.info(`[faults/index] 5xx: ${failedAnswers} injected answers, ${announced} announced, ${rows} rows`);
  });

  it('answers slower than the client timeout are timeouts, retried until the index is fast again', async () => {
    const w = await watch({ projects: PROJECTS });
    const first = w.publish(PROJECTS, ['1.0']);
    w.index.setLatency(2_000);
    // Let some requests run into the timeouts, then make the index fast again.
    await until('requests timing out', () => (w.errors.codes.get('INDEX_TIMEOUT') ?? 0) >= 3, 20_000);
    w.index.setLatency(0);
    await w.settled(first);
    // Again mid-run, on project pages.
    const second = w.publish(PROJECTS, ['1.1']);
    w.index.setLatency(1_800, 300);
    await until('project pages timing out again', () => (w.errors.codes.get('INDEX_TIMEOUT') ?? 0) >= 5, 20_000);
    w.index.setLatency(0);
    await w.settled([...first, ...second]);
    const { announced, rows } = await w.verify([...first, ...second]);
    const timeouts = w.errors.codes.get('INDEX_TIMEOUT') ?? 0;
    expect(timeouts).toBeGreaterThanOrEqual(5);
    console.info(`[faults/index] timeouts: ${timeouts} INDEX_TIMEOUT, ${announced} announced, ${rows} rows`);
  });

  it('429 with Retry-After: no request reaches the index before Retry-After has elapsed', async () => {
    const retryAfterSeconds = 2;
    // One request every 500 ms (burst 1), so the 429 is read before the next token.
    const w = await watch({ projects: PROJECTS, rate: 2, burst: 1, concurrency: 4 });
    const timed = timeRequests(w.index);
    const keys = w.publish(PROJECTS, ['1.0']);
    // Wait for a moment with no request in flight: one that has arrived (and is logged) picks
    // its fault only after the server's latency wait, so it could still take the 429 below.
    await until(
      'three project pages asked, none in flight',
      () => timed.filter((r) => r.path.startsWith('/simple/')).length >= 3 && w.index.counters.snapshot().inFlight === 0,
      20_000,
      10,
    );
    const limitedAt = timed.length; // the next request arriving is the one answered 429
    w.index.inject({ kind: 'rate-limited', retryAfter: retryAfterSeconds });
    await w.settled(keys);
    expect(w.index.counters.count(undefined, 429)).toBe(1);
    const limited = timed[limitedAt];
    expect(limited).toBeDefined();
    const after = timed.slice(limitedAt + 1);
    expect(after.length).toBeGreaterThan(0);
    const firstAfter = Math.min(...after.map((request) => request.at));
    const gapMs = firstAfter - (limited?.at ?? 0);
    // Arrival times on the server: the next request comes Retry-After later (a few ms of timer slack).
    expect(gapMs).toBeGreaterThanOrEqual(retryAfterSeconds * 1000 - 15);
    const { announced } = await w.verify(keys);
    expect(w.errors.codes.get('INDEX_RATE_LIMITED')).toBe(1);
    console.info(`[faults/index] 429: Retry-After ${retryAfterSeconds} s, next request ${gapMs} ms after the 429, ${after.length} requests after it, ${announced} announced`);
  });

  it('slow-drip bodies (past the request timeout) and truncated bodies are retried; nothing lost or repeated', async () => {
    const w = await watch({ projects: PROJECTS });
    const first = w.publish(PROJECTS, ['1.0', '1.1']);
    w.index.inject({ kind: 'drip', chunkBytes: 8, intervalMs: 60 }, { times: 1, routes: ['rss-updates'] });
    w.index.inject({ kind: 'drip', chunkBytes: 8, intervalMs: 60 }, { times: 3, routes: ['simple-project'] });
    await w.settled(first);
    const second = w.publish(PROJECTS, ['2.0']);
    w.index.inject({ kind: 'truncate' }, { times: 1, routes: ['rss-updates'] });
    w.index.inject({ kind: 'truncate' }, { times: 4, routes: ['simple-project'] });
    await w.settled([...first, ...second]);
    const { announced, rows } = await w.verify([...first, ...second]);
    const timeouts = w.errors.codes.get('INDEX_TIMEOUT') ?? 0;
    const broken = w.errors.codes.get('INDEX_CONNECTION') ?? 0;
    // At least the injected ones (4 drips, 5 truncations); a loaded machine may add a timeout.
    expect(timeouts).toBeGreaterThanOrEqual(4);
    expect(broken).toBeGreaterThanOrEqual(5);
    console.info(`[faults/index] drip: ${timeouts} INDEX_TIMEOUT; truncate: ${broken} INDEX_CONNECTION; ${announced} announced, ${rows} rows`);
  });
});
