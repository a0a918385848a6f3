import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { XMLParser } from 'fast-xml-parser';
import { createHash } from 'node:crypto';
import { startIndexServer, type IndexServer } from './index-server/index.js';

const PEP691 = 'application/vnd.pypi.simple.v1+json';
const agent = new Agent({ keepAliveTimeout: 1000 });
const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (_n, jpath) => jpath === 'rss.channel.item' });

let server: IndexServer;

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await request(`${server.url}${path}`, { headers, dispatcher: agent });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

interface RssItem {
  title: string;
  link: string;
  guid?: string;
  description: string;
  author?: string;
  pubDate: string;
}

function items(text: string): RssItem[] {
  const doc = xml.parse(text) as { rss: { channel: { item?: RssItem[] } } };
  return doc.rss.channel.item ?? [];
}

beforeEach(async () => {
  await server?.stop();
  server = await startIndexServer();
});

afterAll(async () => {
  await server.stop();
  await agent.close();
});

describe('index-server content routes', () => {
  it('serves /rss/updates.xml newest first, at most 100 items, without guid', async () => {
    for (let i = 0; i < 105; i += 1) server.addRelease(`pkg-${i % 7}`, `1.${i}`);
    const answer = await get('/rss/updates.xml');
    expect(answer.status).toBe(200);
    expect(header(answer.headers, 'content-type')).toContain('xml');
    const list = items(answer.text);
    expect(list).toHaveLength(100);
    expect(list[0]?.title).toBe('pkg-6 1.104');
    expect(list[0]?.link).toBe(`${server.url}/project/pkg-6/1.104/`);
    expect(list[0]?.pubDate).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(list[0]?.author).toBe('pkg-6@example.org');
    expect(list[0]?.description).toBe('The pkg-6 project');
    expect(list.some((item) => item.guid !== undefined)).toBe(false);
    const times = list.map((item) => Date.parse(item.pubDate));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('serves /rss/packages.xml (40 newest projects, with guid) and a project releases feed', async () => {
    for (let i = 0; i < 45; i += 1) server.addRelease(`proj${i}`, '1.0');
    server.addRelease('proj44', '2.0');
    const packages = items((await get('/rss/packages.xml')).text);
    expect(packages).toHaveLength(40);
    expect(packages[0]?.title).toBe('proj44 added to PyPI');
    expect(packages[0]?.guid).toBe(`${server.url}/project/proj44/`);

    for (let i = 0; i < 45; i += 1) server.addRelease('Big_Project', `0.${i}`);
    const releases = await get('/rss/project/big-project/releases.xml');
    expect(releases.status).toBe(200);
    const list = items(releases.text);
    expect(list).toHaveLength(40);
    expect(list[0]?.title).toBe('0.44');
    expect(list[0]?.link).toBe(`${server.url}/project/Big_Project/0.44/`);
    expect((await get('/rss/project/nope/releases.xml')).status).toBe(404);
  });

  it('serves the Warehouse JSON API for a project and a release', async () => {
    server.addRelease('Demo', '1.0');
    server.addRelease('Demo', '1.1', [{ filename: 'demo-1.1.tar.gz', sha256: 'a'.repeat(64), size: 42 }]);
    server.yank('demo', '1.1', 'broken');
    const project = await get('/pypi/demo/json');
    expect(project.status).toBe(200);
    const body = JSON.parse(project.text) as {
      info: { name: string; version: string };
      releases: Record<string, { filename: string; url: string; digests: Record<string, string>; yanked: boolean; yanked_reason: string | null; size: number; upload_time_iso_8601: string; packagetype: string; requires_python: string | null }[]>;
      urls: unknown[];
    };
    expect(body.info.name).toBe('Demo');
    expect(body.info.version).toBe('1.0');
    expect(Object.keys(body.releases)).toEqual(['1.0', '1.1']);
    const [wheel] = body.releases['1.0'] ?? [];
    expect(wheel?.filename).toBe('demo-1.0-py3-none-any.whl');
    const served = Buffer.from(await (await request(wheel?.url ?? '', { dispatcher: agent })).body.arrayBuffer());
    expect(wheel?.digests.sha256).toBe(createHash('sha256').update(served).digest('hex'));
    expect(wheel?.digests.md5).toBe(createHash('md5').update(served).digest('hex'));
    expect(wheel?.digests.blake2b_256).toMatch(/^[0-9a-f]{64}$/);
    expect(wheel?.packagetype).toBe('bdist_wheel');
    // Python's isoformat() + "Z", as Warehouse writes it: no fraction when the microseconds are zero.
    expect(wheel?.upload_time_iso_8601).toBe('2024-01-01T00:00:01Z');
    expect(body.releases['1.1']?.[0]).toMatchObject({ yanked: true, yanked_reason: 'broken', size: 42, packagetype: 'sdist', requires_python: '>=3.8' });
    expect(body.urls).toHaveLength(2);

    const release = JSON.parse((await get('/pypi/demo/1.1/json')).text) as { info: { version: string; yanked: boolean }; urls: { digests: { sha256: string } }[] };
    expect(release.info).toMatchObject({ version: '1.1', yanked: true });
    expect(release.urls[0]?.digests.sha256).toBe('a'.repeat(64));
    expect((await get('/pypi/demo/9.9/json')).status).toBe(404);
    expect((await get('/pypi/unknown/json')).status).toBe(404);
  });

  it('negotiates PEP 691 JSON or PEP 503 HTML on /simple/<name>/ and lists /simple/', async () => {
    server.addRelease('Demo.Pkg', '1.0');
    server.addRelease('demo-pkg', '2.0', [{ filename: 'demo_pkg-2.0.tar.gz', requiresPython: '>=3.9' }]);
    server.addRelease('demo-pkg', '3.0', []);
    server.yank('demo-pkg', '1.0', 'bad build');
    server.yank('demo-pkg', '2.0');

    const json = await get('/simple/demo-pkg/', { accept: `${PEP691}, text/html;q=0.1` });
    expect(json.status).toBe(200);
    expect(header(json.headers, 'content-type')).toBe(PEP691);
    const page = JSON.parse(json.text) as { meta: Record<string, unknown>; name: string; versions: string[]; files: Record<string, unknown>[] };
    expect(page.meta['api-version']).toBe('1.4');
    expect(page.name).toBe('demo-pkg');
    expect(page.versions).toEqual(['1.0', '2.0', '3.0']);
    expect(page.files).toHaveLength(3);
    expect(page.files[0]).toMatchObject({ filename: 'demo_pkg-1.0-py3-none-any.whl', yanked: 'bad build', hashes: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown } });
    expect(page.files[2]).toMatchObject({ filename: 'demo_pkg-2.0.tar.gz', yanked: true, 'requires-python': '>=3.9' });
    expect(typeof page.files[0]?.size).toBe('number');
    // The project is created at the clock's start, its first release 1 s later.
    expect(page.files[0]?.['upload-time']).toBe('2024-01-01T00:00:01Z');
    expect(page.files[0]?.url).toMatch(new RegExp(`^${server.url}/packages/`));

    const html = await get('/simple/demo-pkg/', { accept: 'text/html' });
    expect(header(html.headers, 'content-type')).toContain('text/html');
    expect(html.text).toMatch(/<a href="[^"]+\/demo_pkg-1\.0-py3-none-any\.whl#sha256=[0-9a-f]{64}" [^>]*data-yanked="bad build" >/);
    expect(html.text).toContain('data-requires-python="&gt;=3.9" data-yanked="" >');
    expect((await get('/simple/demo-pkg/')).text).toContain('<!DOCTYPE html>');

    const index = JSON.parse((await get('/simple/', { accept: PEP691 })).text) as { projects: { name: string }[] };
    expect(index.projects.map((p) => p.name)).toEqual(['Demo.Pkg']);
    expect((await get('/simple/')).text).toContain('<a href="/simple/demo-pkg/">Demo.Pkg</a>');

    server.setSimpleMode('html-only');
    expect(header((await get('/simple/demo-pkg/', { accept: PEP691 })).headers, 'content-type')).toContain('text/html');
  });

  it('redirects non-normalized names with 301 and answers 404 for unknown projects', async () => {
    server.addRelease('Foo_Bar', '1.0');
    for (const [path, location] of [
      ['/simple/Foo_Bar/', '/simple/foo-bar/'],
      ['/simple/foo-bar', '/simple/foo-bar/'],
      ['/pypi/Foo.Bar/json', '/pypi/foo-bar/json'],
      ['/rss/project/FOO_BAR/releases.xml', '/rss/project/foo-bar/releases.xml'],
    ] as const) {
      const answer = await get(path);
      expect(answer.status, path).toBe(301);
      expect(header(answer.headers, 'location')).toBe(location);
    }
    expect((await get('/simple/nothing-here/')).status).toBe(404);
    expect((await get('/elsewhere')).status).toBe(404);
  });

  it('reflects removeVersion, setSha, removeProject and unyank', async () => {
    server.addRelease('x', '1.0');
    server.addRelease('x', '2.0');
    server.removeVersion('x', '1.0');
    server.setSha('x', '2.0', 'x-2.0.tar.gz', 'f'.repeat(64));
    const page = JSON.parse((await get('/simple/x/', { accept: PEP691 })).text) as { versions: string[]; files: { filename: string; hashes: { sha256: string } }[] };
    expect(page.versions).toEqual(['2.0']);
    expect(page.files.find((f) => f.filename === 'x-2.0.tar.gz')?.hashes.sha256).toBe('f'.repeat(64));
    server.yank('x', '2.0', 'oops');
    server.unyank('x', '2.0');
    expect((await get('/simple/x/', { accept: PEP691 })).text).not.toContain('oops');
    server.removeProject('x');
    expect((await get('/simple/x/')).status).toBe(404);
  });

  it('sends an ETag on every answer and 304 on a matching If-None-Match', async () => {
    server.addRelease('e', '1.0');
    for (const path of ['/rss/updates.xml', '/simple/e/', '/pypi/e/json', '/simple/']) {
      const first = await get(path);
      const etag = header(first.headers, 'etag');
      expect(etag, path).toMatch(/^".+"$/);
      const again = await get(path, { 'if-none-match': etag });
      expect(again.status, path).toBe(304);
      expect(again.text).toBe('');
      expect(header(again.headers, 'etag')).toBe(etag);
    }
    const before = header((await get('/rss/updates.xml')).headers, 'etag');
    server.addRelease('e', '1.1');
    const changed = await get('/rss/updates.xml', { 'if-none-match': before });
    expect(changed.status).toBe(200);
    // JSON and HTML of one page are different representations with different ETags.
    expect(header((await get('/simple/e/', { accept: PEP691 })).headers, 'etag')).not.toBe(header((await get('/simple/e/')).headers, 'etag'));
  });
});

describe('index-server faults', () => {
  it('adds fixed and jittered latency', async () => {
    server.setLatency(150);
    let started = performance.now();
    await get('/simple/');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    server.setLatency(0, 100);
    const waits: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      started = performance.now();
      await get('/simple/');
      waits.push(performance.now() - started);
    }
    expect(Math.max(...waits)).toBeLessThan(400);
    expect(Math.max(...waits) - Math.min(...waits)).toBeGreaterThan(5);
  });

  it('answers an injected status for the next N requests, or a seeded fraction, per route', async () => {
    server.addRelease('p', '1.0');
    server.inject({ kind: 'status', status: 503 }, { times: 2, routes: ['simple-project'] });
    expect((await get('/rss/updates.xml')).status).toBe(200);
    expect((await get('/simple/p/')).status).toBe(503);
    expect((await get('/simple/p/')).status).toBe(503);
    expect((await get('/simple/p/')).status).toBe(200);
    server.inject({ kind: 'status', status: 404 });
    expect((await get('/pypi/p/json')).status).toBe(404);
    expect((await get('/pypi/p/json')).status).toBe(200);

    server.clearFaults();
    server.inject({ kind: 'status', status: 500 }, { fraction: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await get('/simple/')).status);
    const failed = statuses.filter((s) => s === 500).length;
    expect(failed).toBeGreaterThan(8);
    expect(failed).toBeLessThan(32);
    expect(statuses.filter((s) => s !== 500).every((s) => s === 200)).toBe(true);
  });

  it('answers 429 with Retry-After, and enforces a hard rate limit', async () => {
    server.inject({ kind: 'rate-limited', retryAfter: 7 });
    const limited = await get('/simple/');
    expect(limited.status).toBe(429);
    expect(header(limited.headers, 'retry-after')).toBe('7');
    server.inject({ kind: 'rate-limited', retryAfter: 'Wed, 21 Oct 2037 07:28:00 GMT' });
    expect(header((await get('/simple/')).headers, 'retry-after')).toBe('Wed, 21 Oct 2037 07:28:00 GMT');

    server.setRateLimit(5, 2);
    const answers = await Promise.all(Array.from({ length: 12 }, () => get('/simple/')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
    const rejected = answers.filter((a) => a.status === 429);
    expect(rejected).toHaveLength(7);
    expect(header(rejected[0]?.headers ?? {}, 'retry-after')).toBe('2');
    server.setRateLimit(null);
    expect((await get('/simple/')).status).toBe(200);
  });

  it('cuts a body short by destroying the socket', async () => {
    server.addRelease('t', '1.0');
    server.inject({ kind: 'truncate' }, { routes: ['rss-updates'] });
    const response = await request(`${server.url}/rss/updates.xml`, { dispatcher: agent });
    expect(response.statusCode).toBe(200);
    await expect(response.body.text()).rejects.toThrow();
    expect((await get('/rss/updates.xml')).status).toBe(200);
  });

  it('drips a body slowly but completely', async () => {
    server.addRelease('d', '1.0');
    const whole = (await get('/simple/d/')).text;
    server.inject({ kind: 'drip', chunkBytes: Math.ceil(whole.length / 5), intervalMs: 40 });
    const started = performance.now();
    const dripped = await get('/simple/d/');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(dripped.text).toBe(whole);
  });

  it('sends malformed XML/JSON, an exact body, or an oversized body', async () => {
    server.addRelease('m', '1.0');
    server.inject({ kind: 'malformed' }, { times: 2 });
    const badXml = await get('/rss/updates.xml');
    expect(badXml.status).toBe(200);
    expect(badXml.text).toContain('</chanel>');
    const badJson = await get('/simple/m/', { accept: PEP691 });
    expect(() => JSON.parse(badJson.text) as unknown).toThrow();

    server.inject({ kind: 'body', body: 'exactly this', contentType: 'text/plain' });
    const exact = await get('/rss/updates.xml');
    expect(exact.text).toBe('exactly this');
    expect(header(exact.headers, 'content-type')).toBe('text/plain');

    server.inject({ kind: 'oversize', bytes: 3_000_000, declareLength: true });
    const declared = await get('/rss/updates.xml');
    expect(header(declared.headers, 'content-length')).toBe('3000000');
    expect(declared.text.length).toBe(3_000_000);
    server.inject({ kind: 'oversize', bytes: 2_000_000 });
    const chunked = await get('/rss/updates.xml');
    expect(header(chunked.headers, 'content-length')).toBe('');
    expect(chunked.text.length).toBe(2_000_000);
  });
});

describe('index-server counters', () => {
  it('counts requests by route and status, the peak per second and the peak in flight', async () => {
    server.addRelease('c', '1.0');
    server.setLatency(100);
    await Promise.all(Array.from({ length: 6 }, () => get('/simple/c/')));
    server.setLatency(0);
    await get('/simple/nope/');
    await get('/rss/updates.xml');
    const snapshot = server.counters.snapshot();
    expect(snapshot.total).toBe(8);
    expect(snapshot.byRoute['simple-project']).toEqual({ 200: 6, 404: 1 });
    expect(server.counters.count('rss-updates', 200)).toBe(1);
    expect(server.counters.count(undefined, 200)).toBe(7);
    expect(snapshot.maxInFlight).toBe(6);
    expect(snapshot.maxPerSecond).toBe(8);
    server.resetCounters();
    expect(server.counters.snapshot()).toMatchObject({ total: 0, maxPerSecond: 0, maxInFlight: 0, byRoute: {} });
  });

  it('listens on a given port and stops', async () => {
    const probe = await startIndexServer();
    const port = probe.port;
    await probe.stop();
    const fixed = await startIndexServer({ port });
    try {
      expect(fixed.url).toBe(`http://127.0.0.1:${port}`);
      expect(fixed.packageIndex(3)).toMatchObject({ id: 3, simpleUrl: `${fixed.url}/simple`, rssUrl: `${fixed.url}/rss`, jsonApiUrl: `${fixed.url}/pypi` });
    } finally {
      await fixed.stop();
    }
    await expect(request(`${fixed.url}/simple/`)).rejects.toThrow();
  });
});
