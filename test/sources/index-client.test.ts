import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { PackageIndex } from '../../src/domain/types.js';
import { createMetrics, type Metrics } from '../../src/runtime/metrics.js';
import { HttpTransport, IndexError, UndiciIndexClient, createIndexClient } from '../../src/sources/index-client/index.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

let server: IndexServer;
let index: PackageIndex;
let metrics: Metrics;
let client: UndiciIndexClient;

beforeAll(async () => {
  server = await startIndexServer();
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.model.clear();
  server.clearFaults();
  server.resetCounters();
  server.setSimpleMode('negotiate');
  server.setClock(new Date('2024-01-01T00:00:00Z'));
  index = server.packageIndex();
  metrics = createMetrics(new Registry(), { defaultMetrics: false });
  client = createIndexClient({ version: '1.2.3', metrics, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, requestTimeoutMs: 5000 });
});

afterEach(async () => {
  await client.close();
});

async function counter(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, labels: Record<string, string>) {
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

async function rejection(promise: Promise<unknown>): Promise<IndexError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(IndexError);
    return error as IndexError;
  }
  throw new Error('expected a rejection');
}

const host = () => new URL(server.url).host;

describe('IndexClient: feeds', () => {
  it('reads the updates feed with a descriptive User-Agent, and a 304 on the next poll costs no parse', async () => {
    server.addRelease('Foo_Bar', '1.0');
    server.addRelease('baz', '2.0b1');
    const result = await client.fetchFeed(index, 'updates');
    expect(result.notModified).toBe(false);
    if (result.notModified) return;
    expect(result.items).toEqual([
      { project: 'baz', version: '2.0b1', publishedAt: new Date('2024-01-01T00:00:03Z'), link: `${server.url}/project/baz/2.0b1/` },
      { project: 'foo-bar', version: '1.0', publishedAt: new Date('2024-01-01T00:00:01Z'), link: `${server.url}/project/Foo_Bar/1.0/` },
    ]);
    expect(result.badItems).toEqual([]);
    expect(result.validators.etag).toMatch(/^".+"$/);
    expect(server.requests[0]?.headers['user-agent']).toBe('pkgstream/1.2.3 (+https://github.com/pkgstream/pkgstream)');

    const again = await client.fetchFeed(index, 'updates', result.validators);
    expect(again).toEqual({ notModified: true });
    expect(server.requests[1]?.headers['if-none-match']).toBe(result.validators.etag);
    expect(server.counters.count('rss-updates', 304)).toBe(1);
    await client.fetchFeed(index, 'updates', { etag: null, lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' });
    expect(server.requests[2]?.headers['if-modified-since']).toBe('Mon, 01 Jan 2024 00:00:00 GMT');
    expect(server.requests[2]?.headers['if-none-match']).toBeUndefined();
    expect(await counter(metrics.indexRequests, { index: host(), route: 'feed', status: '2xx' })).toBe(2);
    expect(await counter(metrics.indexRequests, { index: host(), route: 'feed', status: '304' })).toBe(1);
    const duration = await metrics.indexRequestDuration.get();
    expect(duration.values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(3);
  });

  it('reads the packages feed (version null)', async () => {
    server.addProject('New.Project');
    const result = await client.fetchFeed(index, 'packages');
    expect(result.notModified ? [] : result.items).toEqual([
      { project: 'new-project', version: null, publishedAt: new Date('2024-01-01T00:00:00Z'), link: `${server.url}/project/New.Project/` },
    ]);
  });

  it('counts unreadable items (name with a space, bad date, invalid UTF-8) as bad items, not errors', async () => {
    const body = Buffer.concat([
      Buffer.from(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>' +
          '<item><title>good 1.0</title><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>' +
          '<item><title>two words 1.0</title><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>' +
          '<item><title>when 1.0</title><pubDate>someday</pubDate></item>' +
          '<item><title>bad',
      ),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('name 1.0</title><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item></channel></rss>'),
    ]);
    server.inject({ kind: 'body', body });
    const result = await client.fetchFeed(index, 'updates');
    if (result.notModified) throw new Error('expected a body');
    expect(result.items.map((i) => i.project)).toEqual(['good']);
    expect(result.badItems.map((b) => b.reason)).toEqual([
      'not a valid project name: "two words"',
      'unreadable pubDate: "someday"',
      'not a valid project name: "bad\uFFFD\uFFFDname"',
    ]);
    // The client reports them; the feed source counts and logs each once (test/edges/feed-edges.test.ts).
    expect(await counter(metrics.badInput, { source: 'feed', code: 'BAD_FEED_ITEM' })).toBe(0);
  });

  it('refuses a feed declaring entities (billion laughs) and malformed XML with INDEX_BAD_BODY', async () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
      '<rss version="2.0"><channel><item><title>&lol3; 1.0</title></item></channel></rss>';
    server.inject({ kind: 'body', body: laughs });
    const error = await rejection(client.fetchFeed(index, 'updates'));
    expect(error.code).toBe('INDEX_BAD_BODY');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('entities');

    server.inject({ kind: 'malformed' });
    expect((await rejection(client.fetchFeed(index, 'updates'))).code).toBe('INDEX_BAD_BODY');
  });

  it('rejects with INDEX_UNSUPPORTED for an index without feeds', async () => {
    const error = await rejection(client.fetchFeed({ ...index, rssUrl: null }, 'updates'));
    expect(error.code).toBe('INDEX_UNSUPPORTED');
  });
});

describe('IndexClient: project pages', () => {
  function seedProject() {
    server.addRelease('Demo_Pkg', '1.0');
    server.addRelease('demo-pkg', '2.0.0-rc.1', [{ filename: 'demo_pkg-2.0.0rc1-py3-none-any.whl', size: 77 }]);
    server.addRelease('demo-pkg', '3.0', []);
    server.yank('demo-pkg', '1.0', 'broken');
  }

  it('reads PEP 691 JSON: versions from filenames and the versions list, two spellings grouped, yanked, sizes', async () => {
    seedProject();
    const page = await client.fetchProject(index, 'Demo.Pkg');
    expect(server.requests[0]?.path).toBe('/simple/demo-pkg/');
    expect(server.requests[0]?.headers.accept).toBe('application/vnd.pypi.simple.v1+json, text/html;q=0.1');
    expect(page?.project).toBe('demo-pkg');
    expect(page?.releases.map((r) => [r.version, r.files.length])).toEqual([
      ['1.0', 2],
      ['2.0.0-rc.1', 1],
      ['3.0', 0],
    ]);
    const wheel = page?.releases[0]?.files[0];
    expect(wheel).toMatchObject({ filename: 'demo_pkg-1.0-py3-none-any.whl', yanked: true, yankedReason: 'broken', uploadTime: '2024-01-01T00:00:01Z' });
    expect(wheel?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(page?.releases[1]?.files[0]).toMatchObject({ size: 77, yanked: false, yankedReason: null });
    expect(await counter(metrics.indexRequests, { route: 'project', status: '2xx' })).toBe(1);

    expect(await client.fetchProject(index, 'demo-pkg', page?.validators)).toBeNull();
  });

  it('falls back to PEP 503 HTML when the index answers HTML', async () => {
    seedProject();
    server.yank('demo-pkg', '2.0.0-rc.1');
    server.setSimpleMode('html-only');
    const page = await client.fetchProject(index, 'demo-pkg');
    expect(page?.releases.map((r) => [r.version, r.files.length])).toEqual([
      ['1.0', 2],
      ['2.0.0rc1', 1],
    ]);
    expect(page?.releases[0]?.files[0]).toMatchObject({ yanked: true, yankedReason: 'broken', uploadTime: null, size: null });
    expect(page?.releases[1]?.files[0]).toMatchObject({ yanked: true, yankedReason: null });
    expect(page?.releases[0]?.files[1]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(page?.validators.etag).toBeTruthy();
  });

  it('gives a file with a malformed sha256 a null digest and counts it', async () => {
    server.addRelease('h', '1.0');
    server.setSha('h', '1.0', 'h-1.0.tar.gz', 'not-hex');
    const page = await client.fetchProject(index, 'h');
    expect(page?.releases[0]?.files.map((f) => f.sha256 === null)).toEqual([false, true]);
    expect(await counter(metrics.badInput, { source: 'index', code: 'BAD_SHA256' })).toBe(1);
  });

  it('reads a page whose file has a bad PEP 700 size, the size unknown and counted', async () => {
    server.addRelease('z', '1.0');
    server.inject({
      kind: 'body',
      contentType: 'application/vnd.pypi.simple.v1+json',
      body: JSON.stringify({ meta: { 'api-version': '1.1' }, name: 'z', files: [{ filename: 'z-1.0.tar.gz', url: 'x', hashes: {}, size: 'big' }] }),
    });
    const page = await client.fetchProject(index, 'z');
    expect(page?.releases[0]?.files[0]).toMatchObject({ filename: 'z-1.0.tar.gz', size: null });
    expect(await counter(metrics.badInput, { source: 'index', code: 'BAD_SIZE' })).toBe(1);
  });

  it('rejects a page of the wrong shape with INDEX_BAD_BODY naming the project and the field', async () => {
    server.addRelease('w', '1.0');
    server.inject({
      kind: 'body',
      contentType: 'application/vnd.pypi.simple.v1+json',
      body: JSON.stringify({ meta: { 'api-version': '1.1' }, name: 'w', files: [{ filename: 'w-1.0.tar.gz', url: 7, hashes: {} }] }),
    });
    const error = await rejection(client.fetchProject(index, 'w'));
    expect(error.code).toBe('INDEX_BAD_BODY');
    expect(error.message).toContain('project w');
    expect(error.message).toContain('files[0].url');

    server.inject({ kind: 'malformed' });
    expect((await rejection(client.fetchProject(index, 'w'))).code).toBe('INDEX_BAD_BODY');
  });

  it('reads the Warehouse JSON API for a project and one release', async () => {
    server.addRelease('j', '1.0');
    server.addRelease('j', '1.1', [{ filename: 'j-1.1.tar.gz', size: 5 }]);
    server.yank('j', '1.1', 'why');
    const all = await client.fetchProjectJson(index, 'J');
    expect(all?.releases.map((r) => r.version)).toEqual(['1.0', '1.1']);
    const one = await client.fetchRelease(index, 'j', '1.1');
    expect(one?.releases).toEqual([
      {
        version: '1.1',
        files: [{ filename: 'j-1.1.tar.gz', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown, yanked: true, yankedReason: 'why', uploadTime: '2024-01-01T00:00:02Z', size: 5 }],
      },
    ]);
    expect(await counter(metrics.indexRequests, { route: 'json', status: '2xx' })).toBe(2);
    expect(await client.fetchRelease(index, 'j', '1.1', one?.validators)).toBeNull();
    expect((await rejection(client.fetchRelease(index, 'j', '9.9'))).code).toBe('INDEX_NOT_FOUND');
  });

  it('follows a 301 to the canonical name', async () => {
    server.addRelease('Foo_Bar', '1.0');
    const http = new HttpTransport({ version: 'test' });
    try {
      const result = await http.get({ url: `${server.url}/simple/Foo_Bar/`, route: 'project', indexLabel: 'x', accept: 'text/html', verifyTls: true });
      expect(result.notModified ? null : result.url).toBe(`${server.url}/simple/foo-bar/`);
      expect(server.counters.count('simple-project', 301)).toBe(1);
    } finally {
      await http.close();
    }
  });
});

describe('IndexClient: errors', () => {
  it('maps 404 to INDEX_NOT_FOUND (not retriable)', async () => {
    const error = await rejection(client.fetchProject(index, 'missing'));
    expect(error).toMatchObject({ code: 'INDEX_NOT_FOUND', retriable: false, status: 404 });
  });

  it('maps 500 and 503 to INDEX_HTTP_5XX (retriable)', async () => {
    server.addRelease('p', '1.0');
    server.inject({ kind: 'status', status: 500 });
    server.inject({ kind: 'status', status: 503 });
    expect(await rejection(client.fetchProject(index, 'p'))).toMatchObject({ code: 'INDEX_HTTP_5XX', retriable: true, status: 500 });
    expect(await rejection(client.fetchProject(index, 'p'))).toMatchObject({ code: 'INDEX_HTTP_5XX', status: 503 });
    expect(await counter(metrics.indexRequests, { route: 'project', status: '5xx' })).toBe(2);
    expect(await client.fetchProject(index, 'p')).not.toBeNull();
  });

  it('maps 429 to INDEX_RATE_LIMITED with retryAfterMs from seconds or an HTTP date', async () => {
    server.inject({ kind: 'rate-limited', retryAfter: 7 });
    expect(await rejection(client.fetchFeed(index, 'updates'))).toMatchObject({ code: 'INDEX_RATE_LIMITED', retriable: true, retryAfterMs: 7000 });
    server.inject({ kind: 'rate-limited', retryAfter: new Date(Date.now() + 60_000).toUTCString() });
    const dated = await rejection(client.fetchFeed(index, 'updates'));
    expect(dated.retryAfterMs).toBeGreaterThan(55_000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(60_000);
    server.setRateLimit(1, 3);
    await client.fetchFeed(index, 'updates');
    expect(await rejection(client.fetchFeed(index, 'updates'))).toMatchObject({ code: 'INDEX_RATE_LIMITED', retryAfterMs: 3000 });
    expect(await counter(metrics.indexRateLimited, { index: host() })).toBe(3);
  });

  it('caps a Retry-After of 999999999 s at the longest backoff (default 15 min; PKGSTREAM_MAX_BACKOFF)', async () => {
    server.inject({ kind: 'rate-limited', retryAfter: 999_999_999 });
    expect(await rejection(client.fetchFeed(index, 'updates'))).toMatchObject({ code: 'INDEX_RATE_LIMITED', retryAfterMs: 15 * 60_000 });
    const capped = createIndexClient({ version: 't', maxRetryAfterMs: 30_000 });
    try {
      server.inject({ kind: 'rate-limited', retryAfter: 999_999_999 });
      expect(await rejection(capped.fetchFeed(index, 'updates'))).toMatchObject({ code: 'INDEX_RATE_LIMITED', retryAfterMs: 30_000 });
    } finally {
      await capped.close();
    }
  });

  it('maps a slow answer to INDEX_TIMEOUT: headers, body idle, and whole request', async () => {
    // undici checks headers/body timeouts on a ~0.5 s tick: the server waits well past that.
    const quick = createIndexClient({ version: 't', headersTimeoutMs: 100, bodyTimeoutMs: 100, requestTimeoutMs: 5000 });
    const whole = createIndexClient({ version: 't', requestTimeoutMs: 300 });
    try {
      server.setLatency(2500);
      const headers = await rejection(quick.fetchFeed(index, 'updates'));
      expect(headers).toMatchObject({ code: 'INDEX_TIMEOUT', retriable: true });
      expect(headers.message).toContain('UND_ERR_HEADERS_TIMEOUT');
      server.setLatency(0);
      server.inject({ kind: 'drip', chunkBytes: 10, intervalMs: 2500 });
      const body = await rejection(quick.fetchFeed(index, 'updates'));
      expect(body.code).toBe('INDEX_TIMEOUT');
      expect(body.message).toContain('UND_ERR_BODY_TIMEOUT');
      // Each chunk arrives well within the body timeout, but the whole body takes too long.
      server.inject({ kind: 'drip', chunkBytes: 20, intervalMs: 50 });
      const slow = await rejection(whole.fetchFeed(index, 'updates'));
      expect(slow.code).toBe('INDEX_TIMEOUT');
      expect(slow.message).toContain('request timeout');
    } finally {
      await quick.close();
      await whole.close();
    }
  });

  it('maps a body cut short and a refused connection to INDEX_CONNECTION (retriable)', async () => {
    server.addRelease('t', '1.0');
    server.inject({ kind: 'truncate' });
    expect(await rejection(client.fetchFeed(index, 'updates'))).toMatchObject({ code: 'INDEX_CONNECTION', retriable: true });
    expect(await counter(metrics.indexRequests, { route: 'feed', status: '2xx' })).toBe(1);

    const gone = await startIndexServer();
    const goneIndex = gone.packageIndex();
    await gone.stop();
    expect(await rejection(client.fetchFeed(goneIndex, 'updates'))).toMatchObject({ code: 'INDEX_CONNECTION', retriable: true });
  });

  it('aborts a body over the size cap: by Content-Length and by counted bytes', async () => {
    const capped = createIndexClient({ version: 't', maxBodyBytes: 1024 * 1024 });
    try {
      server.inject({ kind: 'oversize', bytes: 5_000_000, declareLength: true });
      expect(await rejection(capped.fetchFeed(index, 'updates'))).toMatchObject({ code: 'INDEX_TOO_LARGE', retriable: false });
      server.inject({ kind: 'oversize', bytes: 5_000_000 });
      const error = await rejection(capped.fetchFeed(index, 'updates'));
      expect(error.code).toBe('INDEX_TOO_LARGE');
      expect(error.message).toContain('over the cap');
      // The client stays usable after an aborted body.
      expect((await capped.fetchFeed(index, 'updates')).notModified).toBe(false);
    } finally {
      await capped.close();
    }
  });

  it('keeps connections alive and bounded per origin', async () => {
    const bounded = new UndiciIndexClient({ version: 't', connections: 2 });
    try {
      server.addRelease('k', '1.0');
      server.setLatency(40);
      await Promise.all(Array.from({ length: 8 }, () => bounded.fetchProject(index, 'k')));
      expect(server.counters.snapshot().maxInFlight).toBe(2);
      // Eight requests over at most two kept-alive connections.
      expect(server.requests).toHaveLength(8);
      expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
    } finally {
      await bounded.close();
    }
  });
});
