/**
 * Warehouse RSS feeds -> FeedItem[]. A feed that is not well-formed XML, or declares
 * entities (billion laughs), is INDEX_BAD_BODY; one unreadable item is a bad item with its
 * reason, never an exception.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { canonicalizeName, isValidProjectName } from '../../domain/pep503.js';
import { asciiJson } from '../../domain/quote.js';
import type { FeedItem, FeedKind } from '../../domain/types.js';
import { quoteVersion, versionProblem } from '../../domain/version-check.js';
import { IndexError } from './errors.js';
import { errorMessage } from '../../domain/errors.js';

export interface ParsedFeed {
  readonly items: FeedItem[];
  readonly badItems: { readonly raw: string; readonly reason: string }[];
  /** Items past MAX_FEED_ITEMS, not read. */
  readonly excess: number;
}

/**
 * Most items read from one feed answer (PyPI sends 100 and 40): a feed of 100,000 items
 * would otherwise be parsed whole and ask for a page per item.
 */
export const MAX_FEED_ITEMS = 1_000;

/**
 * The document cut after its MAX_FEED_ITEMS-th item, so that only those are parsed, and
 * how many items were cut. A cut that lands inside a CDATA section or a comment leaves a
 * document that is not well-formed: refused whole, never misread.
 */
function capItems(xml: string): { xml: string; excess: number } {
  let items = 0;
  let cutAt = -1;
  for (const m of xml.matchAll(/<item[\s>/]|<\/item\s*>/g)) {
    if (m[0].startsWith('</')) {
      if (items === MAX_FEED_ITEMS && cutAt < 0) cutAt = (m.index ?? 0) + m[0].length;
    } else {
      items += 1;
    }
  }
  if (items <= MAX_FEED_ITEMS || cutAt < 0) return { xml, excess: 0 };
  return { xml: `${xml.slice(0, cutAt)}</channel></rss>`, excess: items - MAX_FEED_ITEMS };
}

const ADDED = ' added to PyPI';

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  htmlEntities: false,
  // Only XML's predefined entities are expanded: a DOCTYPE declaring entities is refused
  // before parsing, and these limits bound what could slip through.
  processEntities: { enabled: true, maxEntityCount: 0, maxTotalExpansions: 100_000, maxExpandedLength: 1_000_000, maxEntitySize: 0 },
  isArray: (_name, jpath) => jpath === 'rss.channel.item',
});

/** Decodes UTF-8 leniently: invalid sequences become U+FFFD (and make that item's name invalid). */
export function decodeUtf8(body: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(body);
}

/** A code point XML 1.0 allows in a document (its `Char` production). */
function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/**
 * A character reference to a code point XML forbids (`&#0;`, C0 controls, surrogates) would
 * otherwise be dropped by the parser, silently turning `vic&#0;tim` into another project's
 * name: it becomes U+FFFD, which makes only the item it is in unreadable.
 */
function replaceIllegalCharacterReferences(xml: string): string {
  return xml.replace(/&#(x[0-9a-f]+|\d+);/gi, (whole, ref: string) => {
    const code = ref[0] === 'x' || ref[0] === 'X' ? parseInt(ref.slice(1), 16) : parseInt(ref, 10);
    return isXmlChar(code) ? whole : '\uFFFD';
  });
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && '#text' in value) {
    const inner = value['#text'];
    return typeof inner === 'string' ? inner : null;
  }
  return null;
}

/** The item for a message: at most 500 characters of its JSON, nothing outside printable ASCII. */
function raw(item: unknown): string {
  try {
    return asciiJson((JSON.stringify(item) ?? String(item)).slice(0, 500));
  } catch {
    return asciiJson(String(item).slice(0, 500));
  }
}

/** Splits an item title: `name version` (updates) or `name added to PyPI` (packages). */
export function splitTitle(title: string, kind: FeedKind): { project: string; version: string | null } | string {
  const trimmed = title.trim();
  if (kind === 'packages') {
    if (!trimmed.endsWith(ADDED)) return `title does not end with "${ADDED.trim()}"`;
    const name = trimmed.slice(0, -ADDED.length).trim();
    if (!isValidProjectName(name)) return `not a valid project name: ${JSON.stringify(name.slice(0, 200))}`;
    return { project: canonicalizeName(name), version: null };
  }
  const tokens = trimmed.split(/\s+/);
  if (tokens.length < 2) return 'title has no version';
  const version = tokens[tokens.length - 1] ?? '';
  const name = tokens.slice(0, -1).join(' ');
  if (!isValidProjectName(name)) return `not a valid project name: ${JSON.stringify(name.slice(0, 200))}`;
  // Warehouse refuses uploads whose version is not PEP 440: such a title is not a release.
  const problem = versionProblem(version, { legacy: false });
  if (problem !== null) return `not a valid version: ${quoteVersion(version)} (${problem})`;
  return { project: canonicalizeName(name), version };
}

function parseItem(item: unknown, kind: FeedKind): FeedItem | string {
  if (!item || typeof item !== 'object') return 'item is empty';
  const fields = item as Record<string, unknown>;
  const title = text(fields.title);
  if (title === null) return 'item has no title';
  const split = splitTitle(title, kind);
  if (typeof split === 'string') return split;
  const pubDate = text(fields.pubDate);
  if (pubDate === null) return 'item has no pubDate';
  const publishedAt = new Date(pubDate);
  if (Number.isNaN(publishedAt.getTime())) return `unreadable pubDate: ${JSON.stringify(pubDate.slice(0, 100))}`;
  const link = text(fields.link);
  return { ...split, publishedAt, link: link === null || link === '' ? null : link };
}

export function parseFeed(body: Uint8Array, kind: FeedKind, url: string): ParsedFeed {
  const { xml, excess } = capItems(replaceIllegalCharacterReferences(decodeUtf8(body)));
  if (/<!ENTITY/i.test(xml)) {
    throw new IndexError('INDEX_BAD_BODY', `${url}: feed declares entities (refused)`, { url, status: 200 });
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new IndexError('INDEX_BAD_BODY', `${url}: feed is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`, { url, status: 200 });
  }
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (error) {
    throw new IndexError('INDEX_BAD_BODY', `${url}: feed cannot be parsed: ${errorMessage(error)}`, {
      url,
      status: 200,
      cause: error,
    });
  }
  const channel = (doc as { rss?: { channel?: unknown } } | null)?.rss?.channel;
  if (channel === undefined || channel === null || typeof channel !== 'object') {
    if (channel === '') return { items: [], badItems: [], excess };
    throw new IndexError('INDEX_BAD_BODY', `${url}: not an RSS document (no rss/channel)`, { url, status: 200 });
  }
  const rawItems = (channel as { item?: unknown }).item;
  const list: unknown[] = Array.isArray(rawItems) ? rawItems : [];
  const items: FeedItem[] = [];
  const badItems: { raw: string; reason: string }[] = [];
  for (const item of list) {
    const parsed = parseItem(item, kind);
    if (typeof parsed === 'string') badItems.push({ raw: raw(item), reason: parsed });
    else items.push(parsed);
  }
  return { items, badItems, excess };
}
