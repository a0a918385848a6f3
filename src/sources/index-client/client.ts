/**
 * The IndexClient port on undici: RSS feeds, project pages (PEP 691 JSON, PEP 503 HTML as
 * fallback) and, for Warehouse indexes, the JSON API.
 */
import { indexHost } from '../../domain/index-host.js';
import type { IndexClient } from '../../domain/ports.js';
import { canonicalizeName } from '../../domain/pep503.js';
import type { FeedKind, FeedResult, ListingFilter, PackageIndex, ProjectListing, ProjectPage, Validators } from '../../domain/types.js';
import type { Logger } from '../../runtime/logger.js';
import { IndexError, type IndexErrorCode } from './errors.js';
import { HttpTransport, type HttpOptions, type IndexRoute } from './http.js';
import { readListing } from './project-list.js';
import { isJson, parseJsonBody, parsePep503, parsePep691, type ParsedPage } from './project-page.js';
import { MAX_FEED_ITEMS, decodeUtf8, parseFeed } from './rss.js';
import { parseWarehouseJson } from './warehouse-json.js';

/** Answers refused whole because of what the index sent (not a fault of the way there). */
const BAD_ANSWER_CODES: ReadonlySet<IndexErrorCode> = new Set<IndexErrorCode>(['INDEX_BAD_BODY', 'INDEX_TOO_LARGE', 'INDEX_BAD_HEADERS', 'INDEX_REDIRECT_REFUSED']);

export const SIMPLE_ACCEPT = 'application/vnd.pypi.simple.v1+json, text/html;q=0.1';

export interface IndexClientOptions extends HttpOptions {
  readonly logger?: Logger;
}

export class UndiciIndexClient implements IndexClient {
  private readonly http: HttpTransport;

  constructor(private readonly options: IndexClientOptions) {
    this.http = new HttpTransport(options);
  }

  private base(index: PackageIndex, which: 'rssUrl' | 'jsonApiUrl'): string {
    const base = index[which];
    if (!base) {
      throw new IndexError('INDEX_UNSUPPORTED', `index ${index.simpleUrl} has no ${which === 'rssUrl' ? 'RSS feeds' : 'JSON API'}`, {
        url: index.simpleUrl,
      });
    }
    return base.replace(/\/+$/, '');
  }

  private get(index: PackageIndex, url: string, route: IndexRoute, accept: string, validators?: Validators) {
    return this.http.get({ url, route, indexLabel: indexHost(index), accept, validators, verifyTls: index.verifyTls });
  }

  /** Each problem one warn line (naming the project, when known, and a refused version and why) and counted. */
  private countProblems(index: PackageIndex, source: string, problems: readonly { code: string; detail: string }[], project?: string): void {
    for (const problem of problems) {
      this.options.metrics?.badInput.inc({ source, code: problem.code });
      this.options.logger?.warn({ index: index.simpleUrl, ...(project === undefined ? {} : { project }), ...problem }, 'unreadable part of an index answer');
    }
  }

  /** An answer refused whole (unreadable body or headers, over the size cap, a refused redirect) is bad input too: counted, then thrown. */
  private async counted<T>(index: PackageIndex, source: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof IndexError && BAD_ANSWER_CODES.has(error.code)) {
        this.countProblems(index, source, [{ code: error.code, detail: error.message }]);
      }
      throw error;
    }
  }

  fetchFeed(index: PackageIndex, feed: FeedKind, validators?: Validators): Promise<FeedResult> {
    return this.counted(index, 'feed', () => this.readFeed(index, feed, validators));
  }

  private async readFeed(index: PackageIndex, feed: FeedKind, validators?: Validators): Promise<FeedResult> {
    const url = `${this.base(index, 'rssUrl')}/${feed}.xml`;
    const result = await this.get(index, url, 'feed', 'application/rss+xml, application/xml;q=0.9, text/xml;q=0.9', validators);
    if (result.notModified) return { notModified: true };
    const parsed = parseFeed(result.body, feed, url);
    // Bad items are named and counted by the feed source, once each, not on every poll.
    if (parsed.excess > 0) {
      this.options.metrics?.badInput.inc({ source: 'feed', code: 'FEED_TOO_MANY_ITEMS' }, parsed.excess);
      const detail = `${url}: ${MAX_FEED_ITEMS + parsed.excess} items, over the cap of ${MAX_FEED_ITEMS}: the last ${parsed.excess} ignored`;
      this.options.logger?.warn({ index: index.simpleUrl, code: 'FEED_TOO_MANY_ITEMS', detail }, 'unreadable part of an index answer');
    }
    return { notModified: false, items: parsed.items, badItems: parsed.badItems, validators: result.validators };
  }

  fetchProject(index: PackageIndex, project: string, validators?: Validators): Promise<ProjectPage | null> {
    return this.counted(index, 'index', () => this.readProject(index, project, validators));
  }

  private async readProject(index: PackageIndex, project: string, validators?: Validators): Promise<ProjectPage | null> {
    const name = canonicalizeName(project);
    const url = `${index.simpleUrl.replace(/\/+$/, '')}/${encodeURIComponent(name)}/`;
    const result = await this.get(index, url, 'project', SIMPLE_ACCEPT, validators);
    if (result.notModified) return null;
    const body = decodeUtf8(result.body);
    const parsed = isJson(result.contentType, body)
      ? parsePep691(parseJsonBody(body, result.url, name), result.url, name)
      : parsePep503(body, result.url, name);
    return this.page(index, parsed, result);
  }

  fetchProjectList(index: PackageIndex, keep?: ListingFilter): Promise<ProjectListing> {
    return this.counted(index, 'index', () => this.readProjectList(index, keep));
  }

  private async readProjectList(index: PackageIndex, keep: ListingFilter | undefined): Promise<ProjectListing> {
    const url = `${index.simpleUrl.replace(/\/+$/, '')}/`;
    const result = await this.http.stream({ url, route: 'listing', indexLabel: indexHost(index), accept: SIMPLE_ACCEPT, verifyTls: index.verifyTls }, (body, answer) => readListing(body, answer, keep));
    if (result.notModified) throw new IndexError('INDEX_BAD_BODY', `${url}: root listing: 304 to a request without validators`, { url, status: 304 });
    this.countProblems(index, 'index', result.body.problems);
    return result.body.listing;
  }

  /** Warehouse JSON API, every release of a project (`/pypi/<name>/json`); a 304 resolves to null. */
  fetchProjectJson(index: PackageIndex, project: string, validators?: Validators): Promise<ProjectPage | null> {
    return this.counted(index, 'index', () => this.readProjectJson(index, project, validators));
  }

  private async readProjectJson(index: PackageIndex, project: string, validators?: Validators): Promise<ProjectPage | null> {
    const name = canonicalizeName(project);
    const url = `${this.base(index, 'jsonApiUrl')}/${encodeURIComponent(name)}/json`;
    const result = await this.get(index, url, 'json', 'application/json', validators);
    if (result.notModified) return null;
    const parsed = parseWarehouseJson(parseJsonBody(decodeUtf8(result.body), result.url, name), result.url, name);
    return this.page(index, parsed, result);
  }

  /** Warehouse JSON API, one release (`/pypi/<name>/<version>/json`); a 304 resolves to null. */
  fetchRelease(index: PackageIndex, project: string, version: string, validators?: Validators): Promise<ProjectPage | null> {
    return this.counted(index, 'index', () => this.readRelease(index, project, version, validators));
  }

  private async readRelease(index: PackageIndex, project: string, version: string, validators?: Validators): Promise<ProjectPage | null> {
    const name = canonicalizeName(project);
    const url = `${this.base(index, 'jsonApiUrl')}/${encodeURIComponent(name)}/${encodeURIComponent(version)}/json`;
    const result = await this.get(index, url, 'json', 'application/json', validators);
    if (result.notModified) return null;
    const parsed = parseWarehouseJson(parseJsonBody(decodeUtf8(result.body), result.url, name), result.url, name, version);
    return this.page(index, parsed, result);
  }

  private page(index: PackageIndex, parsed: ParsedPage, answer: { readonly validators: Validators; readonly lastSerial: string | null }): ProjectPage {
    const serial = pageSerial(answer.lastSerial, parsed);
    this.countProblems(index, 'index', parsed.problems, parsed.project);
    return { project: parsed.project, releases: parsed.releases, validators: answer.validators, serial, ...(parsed.status ? { status: parsed.status } : {}) };
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

export function createIndexClient(options: IndexClientOptions): UndiciIndexClient {
  return new UndiciIndexClient(options);
}

/** `X-PyPI-Last-Serial` as a serial; one that is not a non-negative integer is a problem of the page, and no serial. */
function pageSerial(header: string | null, parsed: ParsedPage): number | null {
  if (header === null) return null;
  const serial = /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : null;
  if (serial === null) parsed.problems.push({ code: 'BAD_SERIAL', detail: `${parsed.project}: X-PyPI-Last-Serial ${JSON.stringify(header.slice(0, 80))} is not a serial` });
  return serial;
}
