/**
 * An index's root listing -> ProjectListing, read as it arrives and never held whole
 * (PyPI's is tens of MB and 600,000 entries): PEP 691 JSON (`projects[].name`, with
 * Warehouse's `_last-serial` per project and in `meta`) through stream-json, or PEP 503
 * HTML (one `<a>` per project, its text the name; no serials) anchor by anchor. A malformed
 * entry is a problem, counted and skipped; the rest is read. A body that is not a listing
 * (not JSON, truncated, neither `meta` nor `projects`) is INDEX_BAD_BODY naming the URL.
 */
import { Readable } from 'node:stream';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamValues } from 'stream-json/streamers/stream-values.js';
import { canonicalizeName } from '../../domain/pep503.js';
import type { ListedProject, ListingFilter, ProjectListing } from '../../domain/types.js';
import { IndexError } from './errors.js';
import type { Answer } from './http.js';
import { decodeHtmlEntities, isJson } from './project-page.js';
import { errorMessage } from '../../domain/errors.js';

export interface ListingProblem {
  readonly code: 'BAD_PROJECT_NAME';
  readonly detail: string;
}

export interface ParsedListing {
  readonly listing: ProjectListing;
  readonly problems: ListingProblem[];
}

/** PEP 508's name rule: what a project name may be at all. */
const PROJECT_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;
const MAX_NAME_LENGTH = 200;
/** Problems named one by one; past this many, only counted (a listing of garbage is one line's worth). */
const MAX_NAMED_PROBLEMS = 100;
/** HTML between two anchors kept while looking for the next one. */
const MAX_HTML_CARRY = 64 * 1024;

const keepAll: ListingFilter = () => true;

function serialOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function bad(url: string, why: string): IndexError {
  return new IndexError('INDEX_BAD_BODY', `${url}: root listing ${why}`, { url, status: 200 });
}

class ListingBuilder {
  readonly projects: ListedProject[] = [];
  readonly problems: ListingProblem[] = [];
  /** Kept names only: a project listed twice is kept once, and the rest of the listing is never held. */
  private readonly seen = new Set<string>();
  private position = 0;
  private unnamed = 0;

  constructor(private readonly keep: ListingFilter) {}

  add(name: unknown, lastSerial: number | null): void {
    const position = this.position++;
    if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !PROJECT_NAME.test(name)) {
      const why = typeof name === 'string' ? `${JSON.stringify(name.slice(0, 100))} is not a project name` : 'no name';
      if (this.problems.length < MAX_NAMED_PROBLEMS) this.problems.push({ code: 'BAD_PROJECT_NAME', detail: `root listing entry ${position}: ${why}` });
      else this.unnamed += 1;
      return;
    }
    const listed = { project: canonicalizeName(name), lastSerial };
    if (!this.keep(listed) || this.seen.has(listed.project)) return;
    this.seen.add(listed.project);
    this.projects.push(listed);
  }

  result(lastSerial: number | null): ParsedListing {
    const problems = this.unnamed === 0 ? this.problems : [...this.problems, { code: 'BAD_PROJECT_NAME' as const, detail: `${this.unnamed} more entries that are not project names` }];
    return { listing: { projects: this.projects, listed: this.position, lastSerial }, problems };
  }
}

/** The listing, JSON or HTML by its Content-Type (or, without one, by its first character). */
export async function readListing(body: AsyncIterable<Buffer>, answer: Answer, keep: ListingFilter = keepAll): Promise<ParsedListing> {
  const chunks = body[Symbol.asyncIterator]();
  const first = await chunks.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  const rest = (async function* () {
    yield head;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  })();
  return isJson(answer.contentType, head.toString('utf8')) ? readJsonListing(rest, answer.url, keep) : readHtmlListing(rest, keep);
}

/** PEP 691 JSON: `meta` and each `projects` entry assembled one at a time. */
export async function readJsonListing(body: AsyncIterable<Buffer>, url: string, keep: ListingFilter = keepAll): Promise<ParsedListing> {
  const builder = new ListingBuilder(keep);
  let meta: Record<string, unknown> | null = null;
  let entries = 0;
  const values = chain([Readable.from(body), parser(), pick({ filter: /^(meta|projects\.\d+)$/ }), streamValues()]);
  try {
    for await (const { value } of values as AsyncIterable<{ value: unknown }>) {
      const fields = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
      if (meta === null && fields !== null && 'api-version' in fields && !('name' in fields)) {
        meta = fields;
        continue;
      }
      entries += 1;
      builder.add(fields?.name, serialOf(fields?.['_last-serial']));
    }
  } catch (error) {
    throw bad(url, `is not valid JSON (${errorMessage(error)})`);
  }
  if (meta === null && entries === 0) throw bad(url, 'has neither meta nor projects');
  return builder.result(serialOf(meta?.['_last-serial']));
}

/** PEP 503 HTML: the anchors' text are the names, read anchor by anchor as the body arrives. */
export async function readHtmlListing(body: AsyncIterable<Buffer>, keep: ListingFilter = keepAll): Promise<ParsedListing> {
  const builder = new ListingBuilder(keep);
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  const anchors = (text: string): number => {
    let end = 0;
    for (const m of text.matchAll(/<a\s[^>]*>([\s\S]*?)<\/a\s*>/gi)) {
      builder.add(decodeHtmlEntities((m[1] ?? '').trim()), null);
      end = m.index + m[0].length;
    }
    return end;
  };
  for await (const chunk of body) {
    const text = carry + decoder.decode(chunk, { stream: true });
    carry = text.slice(anchors(text));
    if (carry.length > MAX_HTML_CARRY) carry = carry.slice(Math.max(0, carry.lastIndexOf('<a')));
    if (carry.length > MAX_HTML_CARRY) carry = '';
  }
  anchors(carry + decoder.decode());
  return builder.result(null);
}
