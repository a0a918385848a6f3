/**
 * PEP 700 (`size`, `upload-time`) and PEP 792 (`project-status`) on project pages, JSON and
 * HTML: a bad value is a one-line problem naming the project (and file), its value unknown,
 * and the rest of the page read as usual.
 */
import { describe, expect, it } from 'vitest';
import { parsePep503, parsePep691, parseWarehouseJson } from '../../src/sources/index-client/index.js';

const URL_ = 'https://example.org/simple/demo/';

const file = (over: Record<string, unknown> = {}) => ({ filename: 'demo-1.0.tar.gz', url: 'x', hashes: { sha256: 'a'.repeat(64) }, ...over });
const page = (over: Record<string, unknown> = {}) => ({ meta: { 'api-version': '1.4' }, name: 'demo', versions: ['1.0'], files: [file()], ...over });
const headed = (head: string, body = '<a href="/p/demo-1.0.tar.gz">demo-1.0.tar.gz</a>') =>
  `<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.4">${head}<title>Links</title></head><body>${body}</body></html>`;

describe('PEP 700 file fields (JSON)', () => {
  it('reads size and upload-time as given', () => {
    const parsed = parsePep691(page({ files: [file({ size: 1234, 'upload-time': '2024-05-01T10:11:12.123456Z' })] }), URL_, 'demo');
    expect(parsed.releases[0]?.files[0]).toMatchObject({ size: 1234, uploadTime: '2024-05-01T10:11:12.123456Z' });
    expect(parsed.problems).toEqual([]);
  });

  it.each([
    [{ size: -1 }, 'BAD_SIZE', 'demo demo-1.0.tar.gz: size -1 is not a non-negative integer'],
    [{ size: 1.5 }, 'BAD_SIZE', 'demo demo-1.0.tar.gz: size 1.5 is not a non-negative integer'],
    [{ size: '1000' }, 'BAD_SIZE', 'demo demo-1.0.tar.gz: size "1000" is not a non-negative integer'],
    [{ 'upload-time': 'yesterday' }, 'BAD_UPLOAD_TIME', 'demo demo-1.0.tar.gz: upload-time "yesterday" is not an ISO 8601 UTC date-time'],
    [{ 'upload-time': '2024-02-30T00:00:00Z' }, 'BAD_UPLOAD_TIME', 'demo demo-1.0.tar.gz: upload-time "2024-02-30T00:00:00Z" is not an ISO 8601 UTC date-time'],
    [{ 'upload-time': '2024-01-01T24:00:00Z' }, 'BAD_UPLOAD_TIME', 'demo demo-1.0.tar.gz: upload-time "2024-01-01T24:00:00Z" is not an ISO 8601 UTC date-time'],
    [{ 'upload-time': '2024-01-01 00:00:00' }, 'BAD_UPLOAD_TIME', 'demo demo-1.0.tar.gz: upload-time "2024-01-01 00:00:00" is not an ISO 8601 UTC date-time'],
    [{ 'upload-time': {} }, 'BAD_UPLOAD_TIME', 'demo demo-1.0.tar.gz: upload-time {} is not an ISO 8601 UTC date-time'],
  ])('%j: the file is kept with the value unknown, one problem', (over, code, detail) => {
    const parsed = parsePep691(page({ files: [file(over)] }), URL_, 'demo');
    expect(parsed.releases).toEqual([{ version: '1.0', files: [expect.objectContaining({ filename: 'demo-1.0.tar.gz', sha256: 'a'.repeat(64), size: null, uploadTime: null })] }]);
    expect(parsed.problems).toEqual([{ code, detail }]);
  });

  it('reads an explicit UTC offset and the Warehouse JSON API fields the same way', () => {
    expect(parsePep691(page({ files: [file({ 'upload-time': '2024-05-01T12:00:00+02:00' })] }), URL_, 'demo').releases[0]?.files[0]?.uploadTime).toBe('2024-05-01T12:00:00+02:00');
    const warehouse = parseWarehouseJson(
      { info: { name: 'demo' }, releases: { '1.0': [{ filename: 'demo-1.0.tar.gz', digests: {}, size: -5, upload_time_iso_8601: '2024-05-01T10:00:00.5Z' }] } },
      URL_,
      'demo',
    );
    expect(warehouse.releases[0]?.files[0]).toMatchObject({ size: null, uploadTime: '2024-05-01T10:00:00.5Z' });
    expect(warehouse.problems.map((p) => p.code)).toEqual(['BAD_SIZE']);
    // The JSON API says nothing of PEP 792: no status, rather than a guess of `active`.
    expect(warehouse.status).toBeUndefined();
  });
});

describe('PEP 792 project status (JSON)', () => {
  it('reads status and reason; no project-status, or none in it, is active', () => {
    expect(parsePep691(page({ 'project-status': { status: 'quarantined', reason: 'the project is haunted' }, files: [] }), URL_, 'demo').status).toEqual({ status: 'quarantined', reason: 'the project is haunted' });
    expect(parsePep691(page({ 'project-status': { status: 'archived' } }), URL_, 'demo').status).toEqual({ status: 'archived', reason: null });
    expect(parsePep691(page({ 'project-status': { status: 'deprecated', reason: '' } }), URL_, 'demo').status).toEqual({ status: 'deprecated', reason: null });
    expect(parsePep691(page({ 'project-status': {} }), URL_, 'demo').status).toEqual({ status: 'active', reason: null });
    expect(parsePep691(page({ meta: { 'api-version': '1.1' } }), URL_, 'demo').status).toEqual({ status: 'active', reason: null });
  });

  it.each([
    [{ status: 'frozen' }, 'demo: project status "frozen" is not one of active, archived, quarantined, deprecated'],
    [{ status: 'Quarantined' }, 'demo: project status "Quarantined" is not one of active, archived, quarantined, deprecated'],
    [{ status: 3 }, 'demo: project status 3 is not one of active, archived, quarantined, deprecated'],
    ['quarantined', 'demo: project-status "quarantined" is not one of active, archived, quarantined, deprecated'],
    [['active'], 'demo: project-status ["active"] is not one of active, archived, quarantined, deprecated'],
    [{ status: 'x\u202eevil' }, 'demo: project status "x\\u202eevil" is not one of active, archived, quarantined, deprecated'],
  ])('project-status %j: one problem, the status unknown, the releases read', (value, detail) => {
    const parsed = parsePep691(page({ 'project-status': value }), URL_, 'demo');
    expect(parsed.status).toBeUndefined();
    expect(parsed.problems).toEqual([{ code: 'BAD_PROJECT_STATUS', detail }]);
    expect(parsed.releases.map((r) => r.version)).toEqual(['1.0']);
  });

  it('a reason that is not a string: the status read, the reason left out, one problem', () => {
    const parsed = parsePep691(page({ 'project-status': { status: 'archived', reason: { why: 1 } } }), URL_, 'demo');
    expect(parsed.status).toEqual({ status: 'archived', reason: null });
    expect(parsed.problems).toEqual([{ code: 'BAD_PROJECT_STATUS', detail: 'demo: project status reason {"why":1} is not a string' }]);
  });
});

describe('PEP 792 project status (HTML)', () => {
  it('reads the head meta tags (entities decoded); none is active', () => {
    const quarantined = parsePep503(headed('<meta name="pypi:project-status" content="quarantined"><meta name="pypi:project-status-reason" content="malware &amp; more">', ''), URL_, 'demo');
    expect(quarantined.status).toEqual({ status: 'quarantined', reason: 'malware & more' });
    expect(quarantined.releases).toEqual([]);
    expect(parsePep503(headed("<META NAME='pypi:project-status' CONTENT='archived'>"), URL_, 'demo').status).toEqual({ status: 'archived', reason: null });
    expect(parsePep503(headed(''), URL_, 'demo').status).toEqual({ status: 'active', reason: null });
    // A plain directory listing (python3 -m http.server) has no head of ours at all.
    expect(parsePep503('<a href="demo-1.0.tar.gz">demo-1.0.tar.gz</a>', URL_, 'demo').status).toEqual({ status: 'active', reason: null });
  });

  it('the first marker wins; one in the body is not the page\'s', () => {
    const twice = headed('<meta name="pypi:project-status" content="deprecated"><meta name="pypi:project-status" content="active">');
    expect(parsePep503(twice, URL_, 'demo').status).toEqual({ status: 'deprecated', reason: null });
    const inBody = headed('', '<meta name="pypi:project-status" content="quarantined"><a href="/p/demo-1.0.tar.gz">x</a>');
    expect(parsePep503(inBody, URL_, 'demo').status).toEqual({ status: 'active', reason: null });
  });

  it('an unknown marker: one problem, the status unknown, the files read', () => {
    const parsed = parsePep503(headed('<meta name="pypi:project-status" content="gone-fishing">'), URL_, 'demo');
    expect(parsed.status).toBeUndefined();
    expect(parsed.problems).toEqual([{ code: 'BAD_PROJECT_STATUS', detail: 'demo: project status "gone-fishing" is not one of active, archived, quarantined, deprecated' }]);
    expect(parsed.releases.map((r) => r.version)).toEqual(['1.0']);
  });
});
