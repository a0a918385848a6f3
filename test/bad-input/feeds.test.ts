/**
 * Bad RSS feeds through the releases pipeline, with the real undici client against the
 * local index and the real store: each case puts bad input between good items (or serves a
 * whole bad feed once) and asserts the bad part is named with its reason in the log,
 * counted, that nothing of it is written, and that the good releases around it are still
 * recorded and announced while the pipeline keeps polling.
 */
import { describe, expect, it } from 'vitest';
import type { Fault } from '../support/index-server/index.js';
import { attentionFor, counted, useWorlds, diagnosis, logLinesWith, pagesAsked, recordedReleases, storedDigests, until, writtenFor, type World } from './helpers.js';

const GOOD = ['good-a==1.0', 'good-b==2.0'];
const DATE = 'Fri, 01 Mar 2024 00:00:30 GMT';

function rssItem(fields: Record<string, string>): string {
  return `<item>${Object.entries(fields)
    .map(([tag, value]) => `<${tag}>${value}</${tag}>`)
    .join('')}</item>`;
}

const goodA = rssItem({ title: 'good-a 1.0', link: 'https://example.org/project/good-a/1.0/', pubDate: 'Fri, 01 Mar 2024 00:00:10 GMT' });
const goodB = rssItem({ title: 'good-b 2.0', link: 'https://example.org/project/good-b/2.0/', pubDate: 'Fri, 01 Mar 2024 00:00:50 GMT' });
const newA = rssItem({ title: 'good-a added to PyPI', link: 'https://example.org/project/good-a/', pubDate: 'Fri, 01 Mar 2024 00:00:10 GMT' });
const newB = rssItem({ title: 'good-b added to PyPI', link: 'https://example.org/project/good-b/', pubDate: 'Fri, 01 Mar 2024 00:00:50 GMT' });

function rss(items: readonly (string | Buffer)[]): Buffer {
  return Buffer.concat([
    Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>PyPI recent updates</title>'),
    ...items.map((item) => (typeof item === 'string' ? Buffer.from(item) : item)),
    Buffer.from('</channel></rss>\n'),
  ]);
}

const billionLaughs =
  '<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol "lol">\n' +
  Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">\n`).join('') +
  ']>\n<rss version="2.0"><channel><item><title>&lol9; 1.0</title><pubDate>' + DATE + '</pubDate></item></channel></rss>\n';

const xxe =
  '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' +
  `<rss version="2.0"><channel><item><title>&xxe; 1.0</title><pubDate>${DATE}</pubDate></item></channel></rss>\n`;

/** One bad item between the two good ones: the reason the log must give, and a text of the item that must not be written. */
interface ItemCase {
  readonly name: string;
  readonly feed?: 'updates' | 'packages';
  readonly items: readonly (string | Buffer)[];
  readonly reason: RegExp;
  /** Text of the bad item: in the log line, nowhere in the database. */
  readonly marker: string;
}

const ITEM_CASES: readonly ItemCase[] = [
  { name: 'item without a title', items: [rssItem({ link: 'https://example.org/x/', pubDate: DATE })], reason: /item has no title/, marker: 'example.org/x/' },
  { name: 'item with two titles', items: [rssItem({ title: 'victim 1.0', pubDate: DATE }).replace('</title>', '</title><title>victim 2.0</title>')], reason: /item has no title/, marker: 'victim 2.0' },
  { name: 'item with markup inside the title', items: [rssItem({ title: '<b>victim</b> 1.0', pubDate: DATE })], reason: /title has no version/, marker: 'victim' },
  { name: 'empty item', items: ['<item></item>'], reason: /item is empty/, marker: '""' },
  { name: 'item without a pubDate', items: [rssItem({ title: 'victim 1.0' })], reason: /item has no pubDate/, marker: 'victim' },
  { name: 'unreadable pubDate', items: [rssItem({ title: 'victim 1.0', pubDate: 'the day after tomorrow' })], reason: /unreadable pubDate: \\"the day after tomorrow\\"/, marker: 'day after tomorrow' },
  { name: 'title without a version', items: [rssItem({ title: 'victim', pubDate: DATE })], reason: /title has no version/, marker: 'victim' },
  { name: 'version that is a word, not PEP 440', items: [rssItem({ title: 'victim banana', pubDate: DATE })], reason: /not a valid version: \\"banana\\"/, marker: 'banana' },
  { name: 'version with an empty local part, not PEP 440', items: [rssItem({ title: 'victim 1.0+', pubDate: DATE })], reason: /not a valid version: \\"1\.0\+\\"/, marker: '1.0+' },
  { name: 'version with two epochs, not PEP 440', items: [rssItem({ title: 'victim 1!2!3', pubDate: DATE })], reason: /not a valid version: \\"1!2!3\\"/, marker: '1!2!3' },
  { name: 'version of 200 characters', items: [rssItem({ title: `victim 1.${'9'.repeat(198)}`, pubDate: DATE })], reason: /not a valid version/, marker: '9'.repeat(198) },
  {
    name: 'bidi override in the version (issue 12.22)',
    items: [rssItem({ title: 'victim 1.0\u202egnp.exe', pubDate: DATE })],
    reason: /not a valid version: \\"1\.0\\\\u202egnp\.exe\\" \(holds a control, format \(bidi\) or line-separator character\): \{\\"title\\":\\"victim 1\.0\\\\u202egnp\.exe\\"/,
    marker: 'gnp.exe',
  },
  { name: 'name with a slash (PEP 503 forbids)', items: [rssItem({ title: 'vic/tim 1.0', pubDate: DATE })], reason: /not a valid project name: \\"vic\/tim\\"/, marker: 'vic/tim' },
  { name: 'name with a space', items: [rssItem({ title: 'vic tim 1.0', pubDate: DATE })], reason: /not a valid project name: \\"vic tim\\"/, marker: 'vic tim' },
  { name: 'name with a leading dash', items: [rssItem({ title: '-victim 1.0', pubDate: DATE })], reason: /not a valid project name: \\"-victim\\"/, marker: '-victim' },
  { name: 'name with non-ASCII letters', items: [rssItem({ title: 'vïctim 1.0', pubDate: DATE })], reason: /not a valid project name: \\"vïctim\\"/, marker: 'vïctim' },
  { name: 'name of 201 characters', items: [rssItem({ title: `v${'i'.repeat(200)} 1.0`, pubDate: DATE })], reason: /not a valid project name/, marker: 'i'.repeat(200) },
  {
    name: 'invalid UTF-8 in the name',
    items: [Buffer.concat([Buffer.from('<item><title>vic'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(`tim 1.0</title><pubDate>${DATE}</pubDate></item>`)])],
    reason: /not a valid project name: \\"vic\uFFFD\(\uFFFDtim\\"/,
    marker: 'tim',
  },
  { name: 'script in the title (escaped)', items: [rssItem({ title: '&lt;script&gt;alert(1)&lt;/script&gt; 1.0', pubDate: DATE })], reason: /not a valid project name: \\"<script>alert\(1\)<\/script>\\"/, marker: 'alert(1)' },
  { name: 'script in the title (CDATA)', items: [rssItem({ title: '<![CDATA[<script>alert(2)</script> 1.0]]>', pubDate: DATE })], reason: /not a valid project name: \\"<script>alert\(2\)<\/script>\\"/, marker: 'alert(2)' },
  { name: 'script with spaces after the name', items: [rssItem({ title: 'victim 1.0&lt;img src=x onerror=alert(3)&gt;', pubDate: DATE })], reason: /not a valid project name: \\"victim 1\.0<img src=x\\"/, marker: 'onerror' },
  { name: 'script in the pubDate', items: [rssItem({ title: 'victim 1.0', pubDate: '&lt;script&gt;alert(4)&lt;/script&gt;' })], reason: /unreadable pubDate/, marker: 'alert(4)' },
  { name: 'SQL in the name', items: [rssItem({ title: "x');DROP TABLE package_version;-- 1.0", pubDate: DATE })], reason: /not a valid project name: \\"x'\);DROP TABLE package_version;--\\"/, marker: 'DROP TABLE' },
  { name: 'script in the version', items: [rssItem({ title: 'victim 1.0&lt;script&gt;alert(7)&lt;/script&gt;', pubDate: DATE })], reason: /not a valid version: \\"1\.0<script>alert\(7\)<\/script>\\"/, marker: 'alert(7)' },
  { name: 'SQL in the version', items: [rssItem({ title: "victim 1.0';DELETE/**/FROM/**/attention;--", pubDate: DATE })], reason: /not a valid version: \\"1\.0';DELETE\/\*\*\/FROM/, marker: 'DELETE/**/FROM' },
  { name: 'SQL with spaces after the name', items: [rssItem({ title: "victim 1.0';DELETE FROM attention;--", pubDate: DATE })], reason: /not a valid project name: \\"victim 1\.0';DELETE FROM\\"/, marker: 'DELETE FROM' },
  { name: 'SQL in the pubDate', items: [rssItem({ title: 'victim 1.0', pubDate: "1' OR '1'='1" })], reason: /unreadable pubDate: \\"1' OR '1'='1\\"/, marker: "OR '1'='1" },
  { name: 'numeric character reference to NUL in the name', items: [rssItem({ title: 'vic&#0;tim 1.0', pubDate: DATE })], reason: /not a valid project name: \\"vic\uFFFDtim\\"/, marker: 'tim' },
  { name: 'numeric character reference beyond U+10FFFF in the name', items: [rssItem({ title: 'vic&#x110000;tim 1.0', pubDate: DATE })], reason: /not a valid project name: \\"vic\uFFFDtim\\"/, marker: 'tim' },
  { name: 'packages feed: title not ending in "added to PyPI"', feed: 'packages', items: [rssItem({ title: 'victim 1.0', pubDate: DATE })], reason: /title does not end with \\"added to PyPI\\"/, marker: 'victim' },
  { name: 'packages feed: script as the name', feed: 'packages', items: [rssItem({ title: '&lt;script&gt;x&lt;/script&gt; added to PyPI', pubDate: DATE })], reason: /not a valid project name: \\"<script>x<\/script>\\"/, marker: '<script>' },
  { name: 'packages feed: SQL as the name', feed: 'packages', items: [rssItem({ title: "'; TRUNCATE package_project;-- added to PyPI", pubDate: DATE })], reason: /not a valid project name/, marker: 'TRUNCATE' },
];

/** A whole feed answer refused: named by its URL and reason, counted, the next poll reads the good feed. */
interface BodyCase {
  readonly name: string;
  readonly fault: Fault;
  readonly code: 'INDEX_BAD_BODY' | 'INDEX_TOO_LARGE' | 'INDEX_CONNECTION';
  readonly reason: RegExp;
}

const BODY_CASES: readonly BodyCase[] = [
  { name: 'malformed XML (mismatched tags)', fault: { kind: 'malformed' }, code: 'INDEX_BAD_BODY', reason: /feed is not well-formed XML/ },
  {
    name: 'truncated XML (a complete answer cut mid-document)',
    fault: { kind: 'body', body: rss([goodA, goodB]).subarray(0, 120), contentType: 'text/xml' },
    code: 'INDEX_BAD_BODY',
    reason: /feed is not well-formed XML/,
  },
  { name: 'entity expansion ("billion laughs")', fault: { kind: 'body', body: billionLaughs, contentType: 'text/xml' }, code: 'INDEX_BAD_BODY', reason: /feed declares entities \(refused\)/ },
  { name: 'external entity (XXE)', fault: { kind: 'body', body: xxe, contentType: 'text/xml' }, code: 'INDEX_BAD_BODY', reason: /feed declares entities \(refused\)/ },
  {
    name: '200 000 predefined entity references in one title',
    fault: { kind: 'body', body: rss([rssItem({ title: `x${'&amp;'.repeat(200_000)} 1.0`, pubDate: DATE })]), contentType: 'text/xml' },
    code: 'INDEX_BAD_BODY',
    reason: /Entity expansion count limit exceeded/,
  },
  { name: '100 MB body streamed without a Content-Length', fault: { kind: 'oversize', bytes: 100 * 1024 * 1024 }, code: 'INDEX_TOO_LARGE', reason: /body over the cap of 20971520 bytes/ },
  { name: '100 MB body with a declared Content-Length', fault: { kind: 'oversize', bytes: 100 * 1024 * 1024, declareLength: true }, code: 'INDEX_TOO_LARGE', reason: /body of 104857600 bytes is over the cap/ },
  { name: 'HTML instead of RSS', fault: { kind: 'body', body: '<html><body><script>alert(1)</script></body></html>', contentType: 'text/html' }, code: 'INDEX_BAD_BODY', reason: /not an RSS document/ },
  { name: 'empty body', fault: { kind: 'body', body: '', contentType: 'text/xml' }, code: 'INDEX_BAD_BODY', reason: /not an RSS document|not well-formed/ },
  { name: 'binary garbage', fault: { kind: 'body', body: Buffer.from([0, 1, 2, 0xff, 0xfe, 0x3c]), contentType: 'text/xml' }, code: 'INDEX_BAD_BODY', reason: /not well-formed XML/ },
  { name: 'JSON instead of RSS', fault: { kind: 'body', body: '{"rss": {"channel": []}}', contentType: 'application/json' }, code: 'INDEX_BAD_BODY', reason: /not well-formed XML|not an RSS document/ },
];

const worlds = useWorlds();

async function goodWorld(watchMode: 'all' | 'seen'): Promise<World> {
  const world = await worlds.create({ watchMode, known: ['good-a', 'good-b', 'victim'] });
  world.server.addRelease('good-a', '1.0');
  world.server.addRelease('good-b', '2.0');
  return world;
}

/** Both good releases announced and written. */
async function goodDone(w: World): Promise<boolean> {
  return w.sink.released().length >= GOOD.length && (await recordedReleases(w)).length >= GOOD.length;
}

/** The good releases are recorded with their digests, announced once each, and only their pages were read. */
async function expectGoodProcessed(w: World): Promise<void> {
  expect(w.sink.released()).toEqual(GOOD);
  expect(await recordedReleases(w)).toEqual(GOOD);
  for (const release of GOOD) {
    const [project = '', version = ''] = release.split('==');
    const digests = await storedDigests(w, project, version);
    expect(digests.length).toBeGreaterThan(0);
    expect(digests.every((sha) => sha !== null && /^[0-9a-f]{64}$/.test(sha))).toBe(true);
  }
  expect(new Set(pagesAsked(w))).toEqual(new Set(['good-a', 'good-b']));
}

describe('feeds: one bad item between good ones', () => {
  it.each(ITEM_CASES)('$name', async (c) => {
    const feed = c.feed ?? 'updates';
    const w = await goodWorld(feed === 'packages' ? 'all' : 'seen');
    if (feed === 'packages') {
      // Only the new-projects feed says anything in this case.
      w.server.inject({ kind: 'body', body: rss([]), contentType: 'text/xml' }, { routes: ['rss-updates'], times: 1_000_000 });
      w.server.inject({ kind: 'body', body: rss([newB, ...c.items, newA]), contentType: 'text/xml' }, { routes: ['rss-packages'], times: 1 });
    } else {
      w.server.inject({ kind: 'body', body: rss([goodB, ...c.items, goodA]), contentType: 'text/xml' }, { routes: ['rss-updates'], times: 1 });
    }
    await w.run();
    await until(
      'good releases recorded and a later poll made',
      async () => w.outcomes.filter((o) => o.type === 'poll' && o.feed === feed).length >= 3 && (await goodDone(w)),
      30_000,
      () => diagnosis(w),
    );
    await w.stop();

    // Named with its reason, counted once.
    const lines = logLinesWith(w, 'unreadable part of an index answer', 'BAD_FEED_ITEM', c.reason);
    expect(lines, w.logs.join('\n')).toHaveLength(1);
    expect(lines[0]).toContain(JSON.stringify(c.marker).slice(1, -1).slice(0, 40));
    expect(lines[0], 'no bidi override reaches the log').not.toContain('\u202e');
    expect(await counted(w.metrics.badInput, { source: 'feed', code: 'BAD_FEED_ITEM' })).toBe(1);
    expect(await counted(w.metrics.feedItems, { feed, outcome: 'bad' })).toBe(1);
    // The pipeline went on: no failed poll, the good releases around it are in.
    expect(w.outcomes.filter((o) => o.type === 'poll' && o.status === 'error')).toEqual([]);
    await expectGoodProcessed(w);
    // Nothing written for the bad item.
    expect(await attentionFor(w)).toEqual([]);
    if (!['""', 'tim', 'victim'].includes(c.marker)) expect(await writtenFor(w)).not.toContain(c.marker);
    expect(pagesAsked(w)).not.toContain('victim');
  });

  it('10 000 bad items around two good ones: the first 1,000 items read (bad ones counted), the excess counted, not read', async () => {
    const w = await goodWorld('seen');
    const bad = Array.from({ length: 10_000 }, (_, i) => rssItem({ title: `victim${i} not-a-version!`, pubDate: DATE }));
    w.server.inject({ kind: 'body', body: rss([goodB, ...bad, goodA]), contentType: 'text/xml' }, { routes: ['rss-updates'], times: 1 });
    await w.run();
    await until('good-b recorded', async () => w.outcomes.filter((o) => o.type === 'poll').length >= 2 && (await recordedReleases(w)).includes('good-b==2.0'), 30_000, () => diagnosis(w));
    await w.stop();
    expect(await counted(w.metrics.badInput, { source: 'feed', code: 'BAD_FEED_ITEM' })).toBe(999);
    expect(await counted(w.metrics.badInput, { source: 'feed', code: 'FEED_TOO_MANY_ITEMS' })).toBe(9_002);
    expect(logLinesWith(w, 'FEED_TOO_MANY_ITEMS', '10002 items, over the cap of 1000')).toHaveLength(1);
    expect(logLinesWith(w, 'BAD_FEED_ITEM', 'victim998')).toHaveLength(1);
    expect(await writtenFor(w)).not.toContain('victim9999');
  });
});

describe('feeds: ignored or optional fields with hostile text are not bad input, and are not written', () => {
  const TOLERATED: readonly { name: string; extra: Record<string, string>; marker: string }[] = [
    { name: 'item without a link', extra: {}, marker: 'no-link' },
    { name: 'script as the link', extra: { link: 'javascript:alert(5)' }, marker: 'alert(5)' },
    { name: 'SQL and script in description, author and guid', extra: { description: "'; DROP TABLE artifact;--", author: '&lt;script&gt;alert(6)&lt;/script&gt;', guid: "1' OR 1=1" }, marker: 'DROP TABLE' },
  ];
  it.each(TOLERATED)('$name', async (c) => {
    const w = await goodWorld('seen');
    const a = rssItem({ title: 'good-a 1.0', pubDate: 'Fri, 01 Mar 2024 00:00:10 GMT', ...c.extra });
    w.server.inject({ kind: 'body', body: rss([goodB, a]), contentType: 'text/xml' }, { routes: ['rss-updates'], times: 1 });
    await w.run();
    await until('good releases recorded', async () => w.outcomes.filter((o) => o.type === 'poll').length >= 2 && (await goodDone(w)), 30_000, () => diagnosis(w));
    await w.stop();
    expect(await counted(w.metrics.badInput)).toBe(0);
    await expectGoodProcessed(w);
    expect(JSON.stringify(w.sink.events)).not.toContain(c.marker);
    expect(await writtenFor(w)).not.toContain(c.marker);
  });
});

describe('feeds: a whole answer refused, the next poll reads the good feed', () => {
  it.each(BODY_CASES)('$name', async (c) => {
    const w = await goodWorld('seen');
    w.server.inject(c.fault, { routes: ['rss-updates'], times: 1 });
    await w.run();
    await until('a failed poll, then the good releases', async () => w.outcomes.some((o) => o.type === 'poll' && o.status === 'error') && (await goodDone(w)), 30_000, () => diagnosis(w));
    await w.stop();

    // The failed poll is named by URL and reason in the log, and counted.
    const feedUrl = `${w.server.url}/rss/updates.xml`;
    expect(logLinesWith(w, 'feed poll failed', feedUrl, c.reason), w.logs.join('\n')).not.toHaveLength(0);
    expect(await counted(w.metrics.feedPolls, { feed: 'updates', outcome: 'error' })).toBe(1);
    if (c.code !== 'INDEX_CONNECTION') {
      expect(await counted(w.metrics.badInput, { source: 'feed', code: c.code })).toBe(1);
      expect(logLinesWith(w, 'unreadable part of an index answer', c.code, c.reason)).toHaveLength(1);
    }
    // The pipeline kept polling and the good releases came with the next poll.
    await expectGoodProcessed(w);
    expect(await attentionFor(w)).toEqual([]);
    expect(await writtenFor(w)).not.toMatch(/lol|xxe|script|passwd/);
  });

  it('a feed whose socket is cut mid-body is a failed poll (retried next poll), not bad input', async () => {
    const w = await goodWorld('seen');
    w.server.inject({ kind: 'truncate', keepBytes: 100 }, { routes: ['rss-updates'], times: 1 });
    await w.run();
    await until('a failed poll, then the good releases', async () => w.outcomes.some((o) => o.type === 'poll' && o.status === 'error') && (await goodDone(w)), 30_000, () => diagnosis(w));
    await w.stop();
    expect(logLinesWith(w, 'feed poll failed', 'INDEX_CONNECTION', `${w.server.url}/rss/updates.xml`)).not.toHaveLength(0);
    expect(await counted(w.metrics.feedPolls, { feed: 'updates', outcome: 'error' })).toBe(1);
    expect(await counted(w.metrics.badInput)).toBe(0);
    await expectGoodProcessed(w);
  });
});
