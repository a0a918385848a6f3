import { describe, expect, it } from 'vitest';
import { PkgstreamError } from '../../src/domain/errors.js';
import type { IndexClient } from '../../src/domain/ports.js';
import type { FeedKind, PackageIndex, ProjectListing, ProjectPage } from '../../src/domain/types.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { politeIndexClient } from '../../src/sources/index-client/polite-client.js';
import { maxInWindow } from '../support/time-windows.js';

const indexAt = (host: string): PackageIndex => ({ id: 1, simpleUrl: `https://${host}/simple`, jsonApiUrl: null, rssUrl: null, verifyTls: true, enabled: true, watchMode: 'seen' });
const A = indexAt('a.example');
const B = indexAt('b.example');

/** An index that answers at once and records when each request arrived, per host. */
class RecordingIndex implements IndexClient {
  readonly arrivals: { host: string; kind: string; at: number }[] = [];
  closed = false;
  rateLimitNext = 0;
  private arrive(index: PackageIndex, kind: string): void {
    this.arrivals.push({ host: new URL(index.simpleUrl).host, kind, at: performance.now() });
    if (this.rateLimitNext > 0) {
      const retryAfterMs = this.rateLimitNext;
      this.rateLimitNext = 0;
      throw new PkgstreamError('INDEX_RATE_LIMITED', 'too many requests', { retryAfterMs });
    }
  }
  fetchFeed(index: PackageIndex, _feed: FeedKind) {
    this.arrive(index, 'feed');
    return Promise.resolve({ notModified: true } as const);
  }
  fetchProject(index: PackageIndex, project: string): Promise<ProjectPage | null> {
    this.arrive(index, 'project');
    return Promise.resolve({ project, releases: [], validators: {} });
  }
  fetchProjectList(index: PackageIndex): Promise<ProjectListing> {
    this.arrive(index, 'listing');
    return Promise.resolve({ projects: [], listed: 0, lastSerial: null });
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

describe('politeIndexClient: one bucket per index host for every pipeline and every kind of request', () => {
  it('two pipelines, feeds and pages together, never get more than burst + rate x T from one host', async () => {
    const inner = new RecordingIndex();
    const polite = politeIndexClient(inner, { rate: 40, burst: 3 });
    const releases = polite.forPipeline('releases');
    const update = polite.forPipeline('update');
    const asks: Promise<unknown>[] = [];
    const asked = performance.now();
    for (let i = 0; i < 12; i += 1) {
      asks.push(releases.fetchFeed(A, 'updates'), update.fetchProject(A, `p${i}`), releases.fetchProject(B, `q${i}`));
    }
    await Promise.all(asks);
    const onA = inner.arrivals.filter((r) => r.host === 'a.example').map((r) => r.at);
    expect(onA).toHaveLength(24);
    // 40/s with 3 at once: in any 250 ms at most 3 + 10 (a slow machine only spreads them more).
    expect(maxInWindow(onA, 250)).toBeLessThanOrEqual(13);
    // 24 requests at 40/s after a burst of 3: the last no earlier than 21 intervals of 25 ms after
    // the asking (counted from the asking: a loaded machine may delay the first arrivals, never the grants' clock).
    expect(Math.max(...onA) - asked).toBeGreaterThanOrEqual(21 * 25 - 5);
    // The other host has its own bucket: its 12 requests do not wait behind A's 24.
    const onB = inner.arrivals.filter((r) => r.host === 'b.example').map((r) => r.at);
    expect(Math.max(...onB) - Math.min(...onB)).toBeLessThan(Math.max(...onA) - Math.min(...onA));
    expect(polite.requests()).toBe(36);
    await polite.close();
    expect(inner.closed).toBe(true);
  });

  it('shared among 3 replicas: a third of the rate and the burst (at least one) from then on', async () => {
    const inner = new RecordingIndex();
    const polite = politeIndexClient(inner, { rate: 60, burst: 3 });
    polite.shareAmong(3);
    const update = polite.forPipeline('update');
    await Promise.all(Array.from({ length: 11 }, (_, i) => update.fetchProject(A, `p${i}`)));
    const at = inner.arrivals.map((r) => r.at);
    // 20/s with one at once: 10 intervals of 50 ms (unshared, 60/s and 3 at once: 8 of 16.7 ms).
    expect(Math.max(...at) - Math.min(...at)).toBeGreaterThanOrEqual(10 * 50 - 5);
    expect(maxInWindow(at, 500)).toBeLessThanOrEqual(1 + 10);
    await polite.close();
  });

  it("a pipeline held to a share (the update pipeline's verification) gets that fraction; the others still get the rest", async () => {
    const inner = new RecordingIndex();
    const polite = politeIndexClient(inner, { rate: 40, burst: 1, shares: { update: 0.25 } });
    const update = polite.forPipeline('update');
    const releases = polite.forPipeline('releases');
    await Promise.all([...Array.from({ length: 6 }, (_, i) => update.fetchProject(A, `u${i}`)), ...Array.from({ length: 6 }, () => releases.fetchFeed(A, 'updates'))]);
    const times = (kind: string) => inner.arrivals.filter((r) => r.kind === kind).map((r) => r.at);
    const [pages, feeds] = [times('project'), times('feed')];
    // The update pipeline at 10/s: five intervals of 100 ms; the feeds at the host's 40/s in between.
    expect(Math.max(...pages) - Math.min(...pages)).toBeGreaterThanOrEqual(5 * 100 - 5);
    expect(Math.max(...feeds) - Math.min(...feeds)).toBeLessThan(5 * 100);
    await polite.close();
  });

  it("a 429's Retry-After pauses the host for every pipeline, not only the one that got it", async () => {
    const inner = new RecordingIndex();
    const polite = politeIndexClient(inner, { rate: 1000, burst: 1 });
    inner.rateLimitNext = 1000;
    const limited = await polite.forPipeline('releases').fetchFeed(A, 'updates').catch((error: unknown) => error);
    expect(limited).toMatchObject({ code: 'INDEX_RATE_LIMITED' });
    const pausedAt = inner.arrivals[0]!.at;
    const otherHost = polite.forPipeline('check').fetchProject(B, 'numpy').then(() => performance.now());
    await polite.forPipeline('update').fetchProject(A, 'numpy');
    const afterOnA = inner.arrivals.find((r) => r.host === 'a.example' && r.kind === 'project');
    expect(afterOnA!.at - pausedAt).toBeGreaterThanOrEqual(1000 - 5);
    // Only that host pauses: B was answered before the pause of A was over.
    expect((await otherHost) - pausedAt).toBeLessThan(1000);
    await polite.close();
  });

  it('a request granted its token goes out then: connections stuck for a while never release a pile of granted requests at once', async () => {
    // A transport of 2 connections (as undici's Pool queues past its `connections`): the first two
    // requests hang 1.5 s, the rest answer in 5 ms; arrival is when a connection takes a request.
    const inner = new RecordingIndex();
    const free: (() => void)[] = [];
    let busy = 0;
    let slow = 2;
    const connection = () => (busy < 2 ? (busy++, Promise.resolve()) : new Promise<void>((resolve) => free.push(resolve)));
    const done = () => {
      const next = free.shift();
      if (next) next();
      else busy--;
    };
    const transport: IndexClient = {
      fetchFeed: (index, feed) => inner.fetchFeed(index, feed),
      fetchProjectList: (index) => inner.fetchProjectList(index),
      fetchProject: async (index, project) => {
        await connection();
        const page = await inner.fetchProject(index, project);
        await new Promise((resolve) => setTimeout(resolve, slow-- > 0 ? 1500 : 5));
        done();
        return page;
      },
      close: () => inner.close(),
    };
    const polite = politeIndexClient(transport, { rate: 20, burst: 2, connections: 2 });
    const update = polite.forPipeline('update');
    await Promise.all(Array.from({ length: 40 }, (_, i) => update.fetchProject(A, `p${i}`)));
    const at = inner.arrivals.map((r) => r.at);
    expect(at).toHaveLength(40);
    // Before: 30 tokens were granted while both connections hung, and left within 100 ms of their release.
    expect(maxInWindow(at, 1000)).toBeLessThanOrEqual(20 + 2);
    await polite.close();
  });

  it('a full bucket spent, then its refill: never more than rate + burst in a second and a bit, so jitter on the way cannot crowd one second at the index', async () => {
    const inner = new RecordingIndex();
    const polite = politeIndexClient(inner, { rate: 20, burst: 2 });
    const update = polite.forPipeline('update');
    await Promise.all(Array.from({ length: 30 }, (_, i) => update.fetchProject(A, `p${i}`)));
    const at = inner.arrivals.map((r) => r.at);
    // The bucket alone: 2 at once, then 20/s, 24 sends within 1.09 s; arrivals 45 ms later than
    // their grant for the first ones would put those 24 in one second at the index.
    expect(maxInWindow(at, 1090)).toBeLessThanOrEqual(20 + 2);
    await polite.close();
  });

  it('labels each wait with the pipeline that waited', async () => {
    const inner = new RecordingIndex();
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const polite = politeIndexClient(inner, { rate: 1000, burst: 5, metrics });
    await polite.forPipeline('releases').fetchFeed(A, 'packages');
    await polite.forPipeline('update').fetchProject(A, 'numpy');
    const text = await metrics.registry.metrics();
    expect(text).toContain('pkgstream_rate_limiter_wait_seconds_count{pipeline="releases",index="a.example"} 1');
    expect(text).toContain('pkgstream_rate_limiter_wait_seconds_count{pipeline="update",index="a.example"} 1');
    await polite.close();
  });
});
