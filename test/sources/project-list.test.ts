/** The root listing parsers (PEP 691 JSON with Warehouse's serials, PEP 503 HTML) and the client reading one from the index peer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexError } from '../../src/sources/index-client/errors.js';
import { createIndexClient } from '../../src/sources/index-client/index.js';
import { parseHtmlListing, parseJsonListing } from '../../src/sources/index-client/project-list.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

describe('parseJsonListing', () => {
  it('reads names canonically with their serials and the index serial; a bad entry is a problem, the rest is read', () => {
    const parsed = parseJsonListing(
      {
        meta: { 'api-version': '1.1', '_last-serial': 42 },
        projects: [{ name: 'Zope.Interface', '_last-serial': 40 }, { name: 'my_pkg' }, { name: '../etc' }, 7, { name: 'zope-interface', '_last-serial': 41 }],
      },
      'https://example.test/simple/',
    );
    expect(parsed.listing).toEqual({
      lastSerial: 42,
      projects: [
        { project: 'zope-interface', lastSerial: 40 },
        { project: 'my-pkg', lastSerial: null },
      ],
    });
    expect(parsed.problems.map((problem) => problem.detail)).toEqual([
      'root listing entry 2: "../etc" is not a project name',
      'root listing entry 3: no name',
    ]);
  });

  it('refuses a body that is not a listing with INDEX_BAD_BODY', () => {
    expect(() => parseJsonListing({ meta: {} }, 'https://example.test/simple/')).toThrow(IndexError);
    expect(() => parseJsonListing([], 'https://example.test/simple/')).toThrow(/root listing is not a JSON object/);
  });
});

describe('parseHtmlListing', () => {
  it('takes the anchors\' text as names, without serials', () => {
    const html = '<html><body><a href="/simple/a-b/">A_B</a>\n<a href="/simple/c/">c</a><a href="x">bad name!</a></body></html>';
    const parsed = parseHtmlListing(html);
    expect(parsed.listing).toEqual({ lastSerial: null, projects: [{ project: 'a-b', lastSerial: null }, { project: 'c', lastSerial: null }] });
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
