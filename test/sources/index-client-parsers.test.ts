import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/domain/retry-after.js';
import { IndexError, parseFeed, parsePep503, parsePep691, parseWarehouseJson, splitTitle } from '../../src/sources/index-client/index.js';

const URL_ = 'https://example.org/simple/demo/';

function thrown(fn: () => unknown): IndexError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(IndexError);
    return error as IndexError;
  }
  throw new Error('expected a throw');
}

describe('splitTitle', () => {
  it('takes the last whitespace token as the version and requires one valid name', () => {
    expect(splitTitle('Foo_Bar 1.0', 'updates')).toEqual({ project: 'foo-bar', version: '1.0' });
    expect(splitTitle('  zope.interface\t5.4.0 \n', 'updates')).toEqual({ project: 'zope-interface', version: '5.4.0' });
    expect(splitTitle('pkg 2!1.0.post1+local.1', 'updates')).toEqual({ project: 'pkg', version: '2!1.0.post1+local.1' });
    expect(splitTitle('two words 1.0', 'updates')).toBe('not a valid project name: "two words"');
    expect(splitTitle('lonely', 'updates')).toBe('title has no version');
    expect(splitTitle('-bad- 1.0', 'updates')).toContain('not a valid project name');
    expect(splitTitle('pkg 1.0<script>', 'updates')).toContain('not a valid version');
    expect(splitTitle('New.Pkg added to PyPI', 'packages')).toEqual({ project: 'new-pkg', version: null });
    expect(splitTitle('new pkg added to PyPI', 'packages')).toContain('not a valid project name');
    expect(splitTitle('pkg 1.0', 'packages')).toContain('added to PyPI');
  });
});

describe('parseFeed', () => {
  const feed = (items: string) => Buffer.from(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>${items}</channel></rss>`);

  it('reads escaped text, keeps version strings verbatim (no number parsing) and reports bad items', () => {
    const parsed = parseFeed(
      feed(
        '<item><title>a&amp;b 1.0</title><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>' +
          '<item><title>pkg 1.10</title><link>https://x/</link><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>' +
          '<item><title>pkg 2.0</title></item>' +
          '<item><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>',
      ),
      'updates',
      'u',
    );
    expect(parsed.items).toEqual([{ project: 'pkg', version: '1.10', publishedAt: new Date('2024-01-01T00:00:00Z'), link: 'https://x/' }]);
    expect(parsed.badItems.map((b) => b.reason)).toEqual(['not a valid project name: "a&b"', 'item has no pubDate', 'item has no title']);
    expect(parsed.badItems[1]?.raw).toContain('pkg 2.0');
  });

  it('accepts an empty channel and refuses a document that is not RSS', () => {
    expect(parseFeed(Buffer.from('<rss version="2.0"><channel></channel></rss>'), 'updates', 'u')).toEqual({ items: [], badItems: [], excess: 0 });
    expect(thrown(() => parseFeed(Buffer.from('<html><body/></html>'), 'updates', 'u')).code).toBe('INDEX_BAD_BODY');
    expect(thrown(() => parseFeed(Buffer.from('not xml at all'), 'updates', 'u')).code).toBe('INDEX_BAD_BODY');
  });

  it('refuses any entity declaration, even an external one', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&x; 1</title></item></channel></rss>';
    expect(thrown(() => parseFeed(Buffer.from(xxe), 'updates', 'u')).message).toContain('entities');
  });
});

describe('parsePep691', () => {
  const page = (over: Record<string, unknown> = {}) => ({
    meta: { 'api-version': '1.1' },
    name: 'demo',
    versions: ['1.0', '1.0.0', '2.0'],
    files: [
      { filename: 'demo-1.0.0.tar.gz', url: 'x', hashes: { sha256: 'AB'.repeat(32) }, yanked: '' },
      { filename: 'demo-2.0-py3-none-any.whl', url: 'x', hashes: { md5: 'x' }, size: 3, 'upload-time': '2024-01-01T00:00:00Z' },
      { filename: 'demo-2.0.rpm', url: 'x', hashes: {} },
    ],
    ...over,
  });

  it('groups spellings of a version, lower-cases digests, skips unreadable filenames with a problem', () => {
    const parsed = parsePep691(page(), URL_, 'Demo');
    expect(parsed.releases).toEqual([
      { version: '1.0', files: [{ filename: 'demo-1.0.0.tar.gz', sha256: 'ab'.repeat(32), yanked: true, yankedReason: null, uploadTime: null, size: null }] },
      { version: '2.0', files: [{ filename: 'demo-2.0-py3-none-any.whl', sha256: null, yanked: false, yankedReason: null, uploadTime: '2024-01-01T00:00:00Z', size: 3 }] },
    ]);
    expect(parsed.problems).toEqual([{ code: 'BAD_FILENAME', detail: 'no version in filename "demo-2.0.rpm"' }]);
  });

  it('leaves out a refused version with its files, one BAD_VERSION problem per version; another spelling of a good one is kept', () => {
    const long = `2.${'9'.repeat(200)}`;
    const file = (filename: string) => ({ filename, url: 'x', hashes: {} });
    const parsed = parsePep691(page({ versions: [' 1.0', '', '1.0\u202egnp.exe', '1.0', long], files: [file('demo-1.0.tar.gz'), file(`demo-${long}.tar.gz`), file(`demo-${long}-py3-none-any.whl`)] }), URL_, 'demo');
    expect(parsed.releases).toEqual([{ version: '1.0', files: [expect.objectContaining({ filename: 'demo-1.0.tar.gz' })] }]);
    expect(parsed.problems.map((p) => [p.code, p.version, p.reason])).toEqual([
      ['BAD_VERSION', '" 1.0"', 'neither a PEP 440 nor a legacy version'],
      ['BAD_VERSION', '""', 'empty version'],
      ['BAD_VERSION', '"1.0\\u202egnp.exe"', 'holds a control, format (bidi) or line-separator character'],
      ['BAD_VERSION', `"2.${'9'.repeat(126)}"... (202 characters)`, 'longer than 128 characters'],
    ]);
    expect(parsed.problems[2]?.detail).toBe('demo: version "1.0\\u202egnp.exe": holds a control, format (bidi) or line-separator character');
  });

  it.each([
    [{ meta: { 'api-version': '2.0' } }, 'meta.api-version'],
    [{ name: 'other' }, 'field name'],
    [{ versions: '1.0' }, 'field versions must be an array'],
    [{ versions: [1] }, 'versions[0]'],
    [{ files: {} }, 'field files must be an array'],
    [{ files: [{ filename: 7, url: 'x', hashes: {} }] }, 'files[0].filename'],
    [{ files: [{ filename: 'demo-1.tar.gz', url: 'x', hashes: { sha256: 5 } }] }, 'files[0].hashes.sha256'],
    [{ files: [{ filename: 'demo-1.tar.gz', url: 'x', hashes: {}, yanked: 1 }] }, 'files[0].yanked'],
  ])('rejects %j naming %s', (over, field) => {
    const error = thrown(() => parsePep691(page(over), URL_, 'demo'));
    expect(error.code).toBe('INDEX_BAD_BODY');
    expect(error.message).toContain('project demo');
    expect(error.message).toContain(field);
  });
});

describe('parsePep503', () => {
  it('reads hrefs (relative, escaped), sha256 fragments and data-yanked', () => {
    const html = `<!DOCTYPE html><html><body>
      <a href="../../packages/demo-1.0.tar.gz#sha256=${'c'.repeat(64)}" data-requires-python="&gt;=3.8">demo-1.0.tar.gz</a>
      <a href='/p/demo-1.1-py3-none-any.whl?x=1&amp;y=2#md5=abc' data-yanked>demo-1.1-py3-none-any.whl</a>
      <A HREF="/p/demo-1.2.zip#sha256=zz" data-yanked="security &amp; stuff">demo-1.2.zip</A>
      <a name="anchor-without-href">nothing</a>
    </body></html>`;
    const parsed = parsePep503(html, URL_, 'demo');
    expect(parsed.releases.map((r) => [r.version, r.files[0]?.sha256 ?? null, r.files[0]?.yanked, r.files[0]?.yankedReason])).toEqual([
      ['1.0', 'c'.repeat(64), false, null],
      ['1.1', null, true, null],
      ['1.2', null, true, 'security & stuff'],
    ]);
    expect(parsed.problems.map((p) => p.code)).toEqual(['BAD_SHA256']);
  });

  it('leaves out the file whose version is refused (300 characters)', () => {
    const html = `<a href="/p/demo-1.${'9'.repeat(298)}.tar.gz">x</a><a href="/p/demo-2004d.tar.gz">demo-2004d.tar.gz</a>`;
    const parsed = parsePep503(html, URL_, 'demo');
    expect(parsed.releases.map((r) => r.version)).toEqual(['2004d']);
    expect(parsed.problems.map((p) => [p.code, p.reason])).toEqual([['BAD_VERSION', 'longer than 128 characters']]);
  });
});

describe('parseWarehouseJson', () => {
  it('rejects a wrong type naming the field', () => {
    const error = thrown(() => parseWarehouseJson({ info: { name: 'demo' }, releases: { '1.0': [{ filename: 'demo-1.0.tar.gz', digests: { sha256: 1 } }] } }, URL_, 'demo'));
    expect(error.message).toContain('releases.1.0[0].digests.sha256');
  });

  it('leaves out a release whose version is refused', () => {
    const parsed = parseWarehouseJson({ info: { name: 'demo' }, releases: { '1.0': [], "1'); drop table package_version;--": [] } }, URL_, 'demo');
    expect(parsed.releases.map((r) => r.version)).toEqual(['1.0']);
    expect(parsed.problems.map((p) => [p.code, p.version])).toEqual([['BAD_VERSION', '"1\'); drop table package_version;--"']]);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
