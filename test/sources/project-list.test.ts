/** The root listing parsers (PEP 691 JSON with Warehouse's serials, PEP 503 HTML) and the client reading one from the index peer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIndexClient } from '../../src/sources/index-client/index.js';
import { readHtmlListing, readJsonListing } from '../../src/sources/index-client/project-list.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

/** The text in chunks of `size` bytes, as a slow index sends it (a name may be cut in two). */
async function* chunked(text: string, size = 7): AsyncIterable<Buffer> {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const URL_ = 'https://example.test/simple/';

describe('readJsonListing (streamed)', () => {
  it('reads names canonically with their serials and the index serial; a bad entry is a problem, the rest is read', async () => {
    const body = JSON.stringify({
      projects: [{ name: 'Zope.Interface', '_last-serial': 40 }, { name: 'my_pkg' }, { name: '../etc' }, 7, { name: 'zope-interface', '_last-serial': 41 }],
      meta: { 'api-version': '1.1', '_last-serial': 42 },
    });
    const parsed = await readJsonListing(chunked(body), URL_);
    expect(parsed.listing).toEqual({
      lastSerial: 42,
      listed: 5,
      projects: [
        { project: 'zope-interface', lastSerial: 40 },
        { project: 'my-pkg', lastSerial: null },
      ],
    });
    expect(parsed.problems.map((problem) => problem.detail)).toEqual(['root listing entry 2: "../etc" is not a project name', 'root listing entry 3: no name']);
  });

  it('refuses what is not a listing with INDEX_BAD_BODY naming the URL: not JSON, truncated, neither meta nor projects', async () => {
    await expect(readJsonListing(chunked('<html>'), URL_)).rejects.toThrow(/^https:\/\/example\.test\/simple\/: root listing is not valid JSON/);
    await expect(readJsonListing(chunked('{"meta":{"api-version":"1.1"},"projects":[{"name":"a"},{"na'), URL_)).rejects.toMatchObject({ code: 'INDEX_BAD_BODY' });
    await expect(readJsonListing(chunked('{"other":[]}'), URL_)).rejects.toThrow(/has neither meta nor projects/);
  });

  it('keeps only what the filter keeps, and counts every entry', async () => {
    const body = JSON.stringify({ meta: { 'api-version': '1.1', '_last-serial': 9 }, projects: [1, 5, 9].map((n) => ({ name: `p${n}`, '_last-serial': n })) });
    const parsed = await readJsonListing(chunked(body), URL_, (p) => (p.lastSerial ?? 0) > 4);
    expect(parsed.listing).toEqual({ lastSerial: 9, listed: 3, projects: [{ project: 'p5', lastSerial: 5 }, { project: 'p9', lastSerial: 9 }] });
  });

  it('refuses a name of 10 MB as one problem and reads the others', async () => {
    const body = `{"meta":{"api-version":"1.1","_last-serial":3},"projects":[{"name":"${'x'.repeat(10 * 1024 * 1024)}"},{"name":"ok"}]}`;
    const parsed = await readJsonListing(chunked(body, 64 * 1024), URL_);
    expect(parsed.listing.projects).toEqual([{ project: 'ok', lastSerial: null }]);
    expect(parsed.problems).toHaveLength(1);
  });
});

describe('readHtmlListing (streamed)', () => {
  it('takes the anchors\' text as names, without serials, across chunk boundaries', async () => {
    const html = '<html><body><a href="/simple/a-b/">A_B</a>\n<a href="/simple/c/">c</a><a href="x">bad name!</a><a href="/simple/d/">d</a></body></html>';
    const parsed = await readHtmlListing(chunked(html, 5));
    expect(parsed.listing).toEqual({ lastSerial: null, listed: 4, projects: ['a-b', 'c', 'd'].map((project) => ({ project, lastSerial: null })) });
    expect(parsed.problems).toHaveLength(1);
  });
});

describe('fetchProjectList against the index peer', () => {
  let server: IndexServer;
  const client = createIndexClient({ version: 'test' });
  beforeAll(async () => {
    server = await startIndexServer();
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  it('reads the PEP 691 listing with every project\'s serial rising with its changes', async () => {
    server.addRelease('Dotted.Name', '1.0');
    server.addRelease('under_score', '1.0');
    const before = await client.fetchProjectList(server.packageIndex());
    server.addRelease('under_score', '1.1');
    const after = await client.fetchProjectList(server.packageIndex());
    const serialOf = (listing: typeof before, project: string) => listing.projects.find((p) => p.project === project)?.lastSerial;
    expect(after.projects.map((p) => p.project).sort()).toEqual(['dotted-name', 'under-score']);
    expect(serialOf(after, 'under-score')).toBeGreaterThan(serialOf(before, 'under-score') ?? Infinity);
    expect(serialOf(after, 'dotted-name')).toBe(serialOf(before, 'dotted-name'));
    expect(after.lastSerial).toBe(Math.max(...after.projects.map((p) => p.lastSerial ?? 0)));
  });
});
