/**
 * Bad project pages (PEP 691 JSON, PEP 503 HTML) through the releases pipeline, and bad
 * Warehouse JSON through the client: the feed announces `target 1.0` first, then two good
 * releases; the target's page is served bad once (concurrency 1, so it is the first page
 * asked). Each case asserts the error names the project and the field or file and why,
 * that it is counted (bad input, attention), that nothing of the bad part is written, and
 * that the good releases after it are recorded and announced. A bad PEP 700 value (size,
 * upload-time) is bad input for its file only: the file is kept, the value unknown.
 */
import { describe, expect, it } from 'vitest';
import { IndexError } from '../../src/sources/index-client/index.js';
import type { Fault } from '../support/index-server/index.js';
import { attentionFor, counted, useWorlds, logLinesWith, recordedReleases, storedDigests, writtenFor, type World } from './helpers.js';

const PEP691 = 'application/vnd.pypi.simple.v1+json';
const SHA = 'a'.repeat(64);

function file(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { filename: 'target-1.0.tar.gz', url: 'https://files.example.org/target-1.0.tar.gz', hashes: { sha256: SHA }, ...over };
}
function page(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { meta: { 'api-version': '1.1' }, name: 'target', versions: ['1.0'], files: [file()], ...over };
}
const json = (value: unknown): Fault => ({ kind: 'body', body: JSON.stringify(value), contentType: PEP691 });
const html = (anchors: string): Fault => ({ kind: 'body', body: `<!DOCTYPE html><html><body>${anchors}</body></html>`, contentType: 'text/html' });

/** A page refused whole: INDEX_BAD_BODY / INDEX_TOO_LARGE naming the project and the reason. */
interface RefusedCase {
  readonly name: string;
  readonly fault: Fault;
  readonly code: 'INDEX_BAD_BODY' | 'INDEX_TOO_LARGE';
  readonly reason: RegExp;
}

const REFUSED: readonly RefusedCase[] = [
  { name: 'JSON cut short (malformed)', fault: { kind: 'malformed' }, code: 'INDEX_BAD_BODY', reason: /project target: body is not JSON/ },
  { name: 'root is an array', fault: json([page()]), code: 'INDEX_BAD_BODY', reason: /project target: field \(root\) must be an object, got array/ },
  { name: 'root is a string', fault: json('target'), code: 'INDEX_BAD_BODY', reason: /field \(root\) must be an object, got string/ },
  { name: 'meta missing', fault: json(page({ meta: undefined })), code: 'INDEX_BAD_BODY', reason: /field meta must be an object, got undefined/ },
  { name: 'api-version 2.0', fault: json(page({ meta: { 'api-version': '2.0' } })), code: 'INDEX_BAD_BODY', reason: /field meta\.api-version must be a 1\.x version/ },
  { name: 'api-version a number', fault: json(page({ meta: { 'api-version': 1.1 } })), code: 'INDEX_BAD_BODY', reason: /field meta\.api-version must be a string, got number/ },
  { name: 'name missing', fault: json(page({ name: undefined })), code: 'INDEX_BAD_BODY', reason: /field name must be a string, got undefined/ },
  { name: 'name of another project', fault: json(page({ name: 'other' })), code: 'INDEX_BAD_BODY', reason: /field name must be the project target/ },
  { name: 'name with SQL', fault: json(page({ name: "target'; DROP TABLE package_version;--" })), code: 'INDEX_BAD_BODY', reason: /field name must be the project target/ },
  { name: 'files missing', fault: json(page({ files: undefined })), code: 'INDEX_BAD_BODY', reason: /field files must be an array, got undefined/ },
  { name: 'files an object', fault: json(page({ files: { 0: file() } })), code: 'INDEX_BAD_BODY', reason: /field files must be an array, got object/ },
  { name: 'a file that is a string', fault: json(page({ files: ['target-1.0.tar.gz'] })), code: 'INDEX_BAD_BODY', reason: /field files\[0\] must be an object, got string/ },
  { name: 'filename a number', fault: json(page({ files: [file({ filename: 10 })] })), code: 'INDEX_BAD_BODY', reason: /field files\[0\]\.filename must be a string, got number/ },
  { name: 'url missing', fault: json(page({ files: [file({ url: undefined })] })), code: 'INDEX_BAD_BODY', reason: /field files\[0\]\.url must be a string, got undefined/ },
  { name: 'hashes null', fault: json(page({ files: [file({ hashes: null })] })), code: 'INDEX_BAD_BODY', reason: /field files\[0\]\.hashes must be an object, got null/ },
  { name: 'sha256 a number', fault: json(page({ files: [file({ hashes: { sha256: 12 } })] })), code: 'INDEX_BAD_BODY', reason: /field files\[0\]\.hashes\.sha256 must be a string, got number/ },
  { name: 'yanked a number', fault: json(page({ files: [file({ yanked: 1 })] })), code: 'INDEX_BAD_BODY', reason: /field files\[0\]\.yanked must be a boolean or a string, got number/ },
  { name: 'versions a string', fault: json(page({ versions: '1.0' })), code: 'INDEX_BAD_BODY', reason: /field versions must be an array, got string/ },
  { name: 'versions with a number', fault: json(page({ versions: ['1.0', 2] })), code: 'INDEX_BAD_BODY', reason: /field versions\[1\] must be a string, got number/ },
  {
    name: 'huge array of wrong types (300 000 numbers as files)',
    fault: { kind: 'body', body: `{"meta":{"api-version":"1.1"},"name":"target","files":[${'0,'.repeat(300_000)}0]}`, contentType: PEP691 },
    code: 'INDEX_BAD_BODY',
    reason: /field files\[0\] must be an object, got number/,
  },
  {
    name: 'huge array over the size cap (22 MB of files)',
    fault: { kind: 'body', body: Buffer.concat([Buffer.from('{"files":['), Buffer.alloc(22 * 1024 * 1024, '0,'), Buffer.from('0]}')]), contentType: PEP691 },
    code: 'INDEX_TOO_LARGE',
    reason: /body of \d+ bytes is over the cap of 20971520/,
  },
  { name: '100 MB page streamed', fault: { kind: 'oversize', bytes: 100 * 1024 * 1024 }, code: 'INDEX_TOO_LARGE', reason: /body over the cap of 20971520 bytes/ },
];

/** A page read with parts left out: each part named and counted; the announced version may be absent (attention). */
interface PartCase {
  readonly name: string;
  readonly fault: Fault;
  readonly code: 'BAD_SHA256' | 'BAD_FILENAME';
  readonly count: number;
  readonly reason: RegExp;
  /** Text of the bad part, written nowhere. */
  readonly marker: string;
  /** The target release is still recorded (its file without the bad digest), else it is an attention row. */
  readonly recorded: boolean;
}

const PARTS: readonly PartCase[] = [
  { name: 'sha256 of 2 characters', fault: json(page({ files: [file({ hashes: { sha256: 'zz' } })] })), code: 'BAD_SHA256', count: 1, reason: /target target-1\.0\.tar\.gz: sha256 \\"zz\\" is not 64 hex digits/, marker: '"zz"', recorded: true },
  { name: 'sha256 of 63 hex digits', fault: json(page({ files: [file({ hashes: { sha256: 'b'.repeat(63) } })] })), code: 'BAD_SHA256', count: 1, reason: /is not 64 hex digits/, marker: 'b'.repeat(63), recorded: true },
  { name: 'sha256 of 65 hex digits', fault: json(page({ files: [file({ hashes: { sha256: 'c'.repeat(65) } })] })), code: 'BAD_SHA256', count: 1, reason: /is not 64 hex digits/, marker: 'c'.repeat(64), recorded: true },
  { name: 'sha256 of 64 non-hex letters', fault: json(page({ files: [file({ hashes: { sha256: 'g'.repeat(64) } })] })), code: 'BAD_SHA256', count: 1, reason: /is not 64 hex digits/, marker: 'g'.repeat(64), recorded: true },
  { name: 'sha256 with SQL', fault: json(page({ files: [file({ hashes: { sha256: "'; DROP TABLE artifact;--" } })] })), code: 'BAD_SHA256', count: 1, reason: /sha256 \\"'; DROP TABLE artifact;--\\" is not 64 hex digits/, marker: 'DROP TABLE', recorded: true },
  { name: 'sha256 with a script', fault: json(page({ files: [file({ hashes: { sha256: '<script>alert(1)</script>' } })] })), code: 'BAD_SHA256', count: 1, reason: /is not 64 hex digits/, marker: '<script>', recorded: true },
  {
    name: 'huge array of files with bad hashes (1 000 wheels)',
    fault: json(page({ files: Array.from({ length: 1_000 }, (_, i) => file({ filename: `target-1.0-${i}-py3-none-any.whl`, hashes: { sha256: `bad-${i}` } })) })),
    code: 'BAD_SHA256',
    count: 1_000,
    reason: /target-1\.0-999-py3-none-any\.whl: sha256 \\"bad-999\\"/,
    marker: 'bad-999',
    recorded: true,
  },
  { name: 'filename with a script', fault: json(page({ versions: [], files: [file({ filename: '<script>alert(1)</script>.tar.gz' })] })), code: 'BAD_FILENAME', count: 1, reason: /no version in filename \\"<script>alert\(1\)<\/script>\.tar\.gz\\"/, marker: '<script>', recorded: false },
  { name: 'filename of another project', fault: json(page({ versions: [], files: [file({ filename: 'other-1.0.tar.gz' })] })), code: 'BAD_FILENAME', count: 1, reason: /no version in filename \\"other-1\.0\.tar\.gz\\"/, marker: 'other-1.0', recorded: false },
  { name: 'filename with SQL', fault: json(page({ versions: [], files: [file({ filename: "target-1.0';DROP TABLE x;--.tar.gz" })] })), code: 'BAD_FILENAME', count: 1, reason: /no version in filename/, marker: 'DROP TABLE', recorded: false },
  { name: 'HTML: sha256 fragment of 2 characters', fault: html('<a href="/files/target-1.0.tar.gz#sha256=zz">target-1.0.tar.gz</a>'), code: 'BAD_SHA256', count: 1, reason: /target target-1\.0\.tar\.gz: sha256 \\"zz\\" is not 64 hex digits/, marker: '"zz"', recorded: true },
  { name: 'HTML: sha256 fragment with a script', fault: html('<a href="/files/target-1.0.tar.gz#sha256=%3Cscript%3E">x</a>'), code: 'BAD_SHA256', count: 1, reason: /sha256 \\"<script>\\" is not 64 hex digits/, marker: '<script>', recorded: true },
  { name: 'HTML: unreadable href', fault: html('<a href="http://[oops/target-1.0.tar.gz">target-1.0.tar.gz</a>'), code: 'BAD_FILENAME', count: 1, reason: /unreadable href \\"http:\/\/\[oops\/target-1\.0\.tar\.gz\\"/, marker: '[oops', recorded: false },
  { name: 'HTML: script as the file', fault: html('<a href="/files/%3Cscript%3Ealert(1)%3C%2Fscript%3E">x</a>'), code: 'BAD_FILENAME', count: 1, reason: /no version in filename \\"<script>alert\(1\)<\/script>\\"/, marker: 'alert(1)', recorded: false },
];

const worlds = useWorlds();

/** target 1.0 first in the feed, then good-a 1.0 and good-b 2.0; the target's page answered with `fault` once. */
async function runWith(fault: Fault): Promise<World> {
  const w = await worlds.create({ watchMode: 'seen', known: ['target', 'good-a', 'good-b'] });
  w.server.addRelease('target', '1.0');
  w.server.addRelease('good-a', '1.0');
  w.server.addRelease('good-b', '2.0');
  w.server.inject(fault, { routes: ['simple-project'], times: 1 });
  await w.run({ onePoll: true, concurrency: 1 });
  return w;
}

async function expectGoodAfter(w: World): Promise<void> {
  expect(w.outcomes.some((o) => o.type === 'poll' && o.status === 'items')).toBe(true);
  expect(w.sink.released().filter((r) => !r.startsWith('target=='))).toEqual(['good-a==1.0', 'good-b==2.0']);
  const recorded = await recordedReleases(w);
  expect(recorded).toContain('good-a==1.0');
  expect(recorded).toContain('good-b==2.0');
  expect((await storedDigests(w, 'good-a', '1.0')).every((sha) => sha !== null && /^[0-9a-f]{64}$/.test(sha))).toBe(true);
}

describe('project pages refused whole', () => {
  it.each(REFUSED)('$name', async (c) => {
    const w = await runWith(c.fault);
    const attention = await attentionFor(w);
    expect(attention).toHaveLength(1);
    expect(attention[0]).toMatchObject({ itemKey: `${w.index.simpleUrl}|target`, errorCode: c.code });
    expect(attention[0]?.errorMessage).toMatch(c.reason);
    expect(attention[0]?.errorMessage).toContain('/simple/target/');
    expect(await counted(w.metrics.badInput, { source: 'index', code: c.code })).toBe(1);
    expect(await counted(w.metrics.attentionRecorded, { pipeline: 'releases', code: c.code })).toBe(1);
    expect(w.outcomes.filter((o) => o.type === 'failed')).toMatchObject([{ project: 'target', errorCode: c.code }]);
    // Nothing of the target written; the good releases after it are in.
    expect(w.sink.released()).not.toContain('target==1.0');
    expect(await recordedReleases(w)).not.toContain('target==1.0');
    expect(await writtenFor(w)).not.toContain('DROP TABLE');
    await expectGoodAfter(w);
  });
});

describe('project pages with bad parts', () => {
  it.each(PARTS)('$name', async (c) => {
    const w = await runWith(c.fault);
    const lines = logLinesWith(w, 'unreadable part of an index answer', c.code, c.reason);
    expect(lines, w.logs.slice(0, 5).join('\n')).not.toHaveLength(0);
    expect(await counted(w.metrics.badInput, { source: 'index', code: c.code })).toBe(c.count);
    const attention = await attentionFor(w);
    if (c.recorded) {
      // The version exists; its file is kept without the unreadable digest.
      expect(attention).toEqual([]);
      expect(await recordedReleases(w)).toContain('target==1.0');
      const digests = await storedDigests(w, 'target', '1.0');
      expect(digests).toHaveLength(c.count);
      expect(digests.every((sha) => sha === null)).toBe(true);
    } else {
      // No file of the announced version could be read: an attention row names it.
      expect(attention).toHaveLength(1);
      expect(attention[0]).toMatchObject({ itemKey: `${w.index.simpleUrl}|target`, errorCode: 'RELEASE_NOT_ON_INDEX' });
      expect(attention[0]?.errorMessage).toContain('1.0 of target announced but not on');
      expect(await counted(w.metrics.attentionRecorded, { pipeline: 'releases', code: 'RELEASE_NOT_ON_INDEX' })).toBe(1);
      expect(await recordedReleases(w)).not.toContain('target==1.0');
    }
    expect(await writtenFor(w)).not.toContain(c.marker);
    await expectGoodAfter(w);
  });

  it('HTML that never closes its anchor: no file read, the announced version goes to attention', async () => {
    const w = await runWith({ kind: 'body', body: '<!DOCTYPE html><html><body><a href="/files/target-1.0.tar.gz#sha256=', contentType: 'text/html' });
    const attention = await attentionFor(w);
    expect(attention).toMatchObject([{ itemKey: `${w.index.simpleUrl}|target`, errorCode: 'RELEASE_NOT_ON_INDEX' }]);
    expect(await counted(w.metrics.attentionRecorded, { pipeline: 'releases', code: 'RELEASE_NOT_ON_INDEX' })).toBe(1);
    expect(await recordedReleases(w)).not.toContain('target==1.0');
    await expectGoodAfter(w);
  });

  it('a huge PEP 700 versions list (100 000 versions) records only the announced version', async () => {
    const versions = ['1.0', ...Array.from({ length: 100_000 }, (_, i) => `0.${i}`)];
    const w = await runWith(json(page({ versions })));
    expect(await counted(w.metrics.badInput)).toBe(0);
    expect((await recordedReleases(w)).filter((r) => r.startsWith('target=='))).toEqual(['target==1.0']);
    await expectGoodAfter(w);
  });
});

describe('PEP 700 fields with bad values', () => {
  const CASES = [
    { name: 'size negative', over: { size: -1 }, code: 'BAD_SIZE', reason: /target target-1\.0\.tar\.gz: size -1 is not a non-negative integer/ },
    { name: 'size a string', over: { size: '1000' }, code: 'BAD_SIZE', reason: /size \\"1000\\" is not a non-negative integer/ },
    { name: 'upload-time an object', over: { 'upload-time': {} }, code: 'BAD_UPLOAD_TIME', reason: /target target-1\.0\.tar\.gz: upload-time \{\} is not an ISO 8601 UTC date-time/ },
    { name: 'upload-time on 30 February', over: { 'upload-time': '2024-02-30T00:00:00Z' }, code: 'BAD_UPLOAD_TIME', reason: /upload-time \\"2024-02-30T00:00:00Z\\" is not/ },
  ] as const;

  it.each(CASES)('$name: named and counted, the release recorded with its digest and the value unknown', async (c) => {
    const w = await runWith(json(page({ files: [file(c.over)] })));
    expect(logLinesWith(w, 'unreadable part of an index answer', c.code, c.reason)).toHaveLength(1);
    expect(await counted(w.metrics.badInput, { source: 'index', code: c.code })).toBe(1);
    expect(await attentionFor(w)).toEqual([]);
    expect(await recordedReleases(w)).toContain('target==1.0');
    expect(await storedDigests(w, 'target', '1.0')).toEqual([SHA]);
    await expectGoodAfter(w);
  });
});

describe('Warehouse JSON API answers', () => {
  const release = (over: Record<string, unknown> = {}) => ({ filename: 'target-1.0.tar.gz', digests: { sha256: SHA }, yanked: false, ...over });
  const project = (over: Record<string, unknown> = {}) => ({ info: { name: 'target', version: '1.0' }, releases: { '1.0': [release()] }, ...over });
  const CASES: readonly { name: string; body: unknown; code: string; reason: RegExp }[] = [
    { name: 'info missing', body: project({ info: undefined }), code: 'INDEX_BAD_BODY', reason: /project target: field info must be an object, got undefined/ },
    { name: 'info.name of another project', body: project({ info: { name: '<script>x</script>' } }), code: 'INDEX_BAD_BODY', reason: /field info\.name must be the project target/ },
    { name: 'releases an array', body: project({ releases: [] }), code: 'INDEX_BAD_BODY', reason: /field releases must be an object, got array/ },
    { name: 'a release that is not an array', body: project({ releases: { '1.0': {} } }), code: 'INDEX_BAD_BODY', reason: /field releases\.1\.0 must be an array, got object/ },
    { name: 'yanked a string', body: project({ releases: { '1.0': [release({ yanked: 'yes' })] } }), code: 'INDEX_BAD_BODY', reason: /field releases\.1\.0\[0\]\.yanked must be a boolean, got string/ },
    { name: 'digests a string', body: project({ releases: { '1.0': [release({ digests: SHA })] } }), code: 'INDEX_BAD_BODY', reason: /field releases\.1\.0\[0\]\.digests must be an object, got string/ },
    { name: 'bad sha256 digest', body: project({ releases: { '1.0': [release({ digests: { sha256: 'xyz' } })] } }), code: 'BAD_SHA256', reason: /target target-1\.0\.tar\.gz: sha256 \\"xyz\\" is not 64 hex digits/ },
  ];

  it.each(CASES)('$name', async (c) => {
    const w = await worlds.create({ watchMode: 'seen' });
    w.server.addRelease('target', '1.0');
    w.server.addRelease('good-a', '1.0');
    w.server.inject({ kind: 'body', body: JSON.stringify(c.body), contentType: 'application/json' }, { routes: ['json-project'], times: 1 });
    const index = w.server.packageIndex();
    if (c.code === 'BAD_SHA256') {
      const parsed = await w.client.fetchProjectJson(index, 'target');
      expect(parsed?.releases).toEqual([{ version: '1.0', files: [expect.objectContaining({ filename: 'target-1.0.tar.gz', sha256: null })] }]);
      expect(logLinesWith(w, 'unreadable part of an index answer', c.code, c.reason)).toHaveLength(1);
    } else {
      const error = await w.client.fetchProjectJson(index, 'target').then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(IndexError);
      expect((error as IndexError).code).toBe(c.code);
      expect((error as IndexError).message).toMatch(c.reason);
      expect((error as IndexError).message).toContain('/pypi/target/json');
    }
    expect(await counted(w.metrics.badInput, { source: 'index', code: c.code })).toBe(1);
    // The client goes on: the next project reads normally.
    const good = await w.client.fetchProjectJson(index, 'good-a');
    expect(good?.releases.map((r) => r.version)).toEqual(['1.0']);
    expect(good?.releases[0]?.files.every((f) => f.sha256 !== null)).toBe(true);
  });
});
