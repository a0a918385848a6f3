/**
 * One project page from an index, the way every pipeline must ask for it: retried with
 * backoff on retriable errors (retryEach), and a 404 read as `'not-found'` rather than an
 * error. The rate limit and a 429's pause are the index client's (polite-client.ts): the
 * client given here is the process's one polite client for every host.
 *
 * Given a PageValidatorStore, the request is conditional (the stored ETag/Last-Modified)
 * and a 304 is `'not-modified'`. A stored validator must never hide a change: a 304 is
 * believed only while the store still holds validators for the project (it holds none
 * for a project with no release recorded); otherwise the page is asked for again, whole.
 * A page whose serial is below the one the root listing promised (the request's
 * `promisedSerial`, else the store's) comes from a lagging cache: `INDEX_STALE_PAGE`,
 * retried like a 5xx and never taken for what the index holds. A request that carries its
 * promise (the serial sync's: the listing says the page changed) is asked for whole, as a
 * 304 to it could only come from such a cache.
 */
import { Observable, defer, of, throwError, type ObservableInput, type SchedulerLike } from 'rxjs';
import { catchError } from 'rxjs/operators';
import { hasCode } from '../domain/errors.js';
import type { IndexClient, PageValidatorStore } from '../domain/ports.js';
import type { PackageIndex, ProjectPage, Validators } from '../domain/types.js';
import { IndexError } from '../sources/index-client/errors.js';
import { retryEach, type RetryOutcome } from '../operators/retry-backoff.js';

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface ProjectFetcherOptions {
  readonly retry: RetryPolicy;
  readonly scheduler: SchedulerLike;
  readonly random?: () => number;
}

export interface ProjectRequest {
  readonly index: PackageIndex;
  readonly project: string;
  /** The serial the root listing just gave the project: its page must be at least as new. */
  readonly promisedSerial?: number;
}

export type FetchedPage = ProjectPage | 'not-found';
/** A conditional fetch's answer: `'not-modified'` is the page of the last applied check. */
export type CheckedPage = FetchedPage | 'not-modified';

/** One outcome: the page (or `'not-found'`), or the error that remained after the retries. */
export type PageFetch<P extends CheckedPage = FetchedPage> = (request: ProjectRequest) => Observable<RetryOutcome<ProjectRequest, P>>;

export interface ProjectFetcher<P extends CheckedPage = FetchedPage> {
  readonly fetch: PageFetch<P>;
  /** Index requests made (attempts included), for tests and benchmarks. */
  readonly requests: () => number;
}

type PageClient = Pick<IndexClient, 'fetchProject'>;

/**
 * One attempt at a project's page: the page, a conditional request's `'not-modified'`, or
 * an error (a 404 among them) that the fetcher retries or reads as `'not-found'`.
 */
export type PageRead<P extends CheckedPage> = (request: ProjectRequest) => ObservableInput<Exclude<P, 'not-found'>>;

export function createProjectFetcher(client: PageClient, options: ProjectFetcherOptions): ProjectFetcher;
export function createProjectFetcher(client: PageClient, options: ProjectFetcherOptions, validators: PageValidatorStore | undefined): ProjectFetcher<CheckedPage>;
export function createProjectFetcher(client: PageClient, options: ProjectFetcherOptions, validators?: PageValidatorStore): ProjectFetcher<CheckedPage> {
  const reads = pageReads(client, validators);
  return { fetch: retriedPages(reads.read, options), requests: reads.requests };
}

/** The attempts a fetcher makes of the client (and the validators), counted. */
export interface PageReads<P extends CheckedPage> {
  readonly read: PageRead<P>;
  readonly requests: () => number;
}

export function pageReads(client: PageClient): PageReads<FetchedPage>;
export function pageReads(client: PageClient, validators: PageValidatorStore | undefined): PageReads<CheckedPage>;
export function pageReads(client: PageClient, validators?: PageValidatorStore): PageReads<CheckedPage> {
  let requests = 0;
  const request = (target: ProjectRequest, sent: Validators | null): Promise<ProjectPage | null> => {
    requests += 1;
    return client.fetchProject(target.index, target.project, sent ?? undefined);
  };
  const read = async (target: ProjectRequest): Promise<ProjectPage | 'not-modified'> => {
    const promised = target.promisedSerial;
    const stored = promised === undefined ? ((await validators?.pageValidators(target.index.id, target.project)) ?? null) : null;
    const page = await request(target, stored);
    // Only a page that carries a serial can be below a promise: no read for an index without serials.
    if (page !== null) return page.serial == null ? page : notStale(target, page, page.serial, promised ?? (await validators?.promisedSerial(target.index.id, target.project)));
    const still = stored === null ? null : await validators?.pageValidators(target.index.id, target.project);
    if (still) return 'not-modified';
    const whole = await request(target, null);
    if (whole === null) {
      const url = target.index.simpleUrl;
      throw new IndexError('INDEX_HTTP_STATUS', `${url}: project ${target.project}: 304 to a request without validators`, { url, status: 304 });
    }
    return whole;
  };
  return { read, requests: () => requests };
}

/** Each request's attempts (`read`) retried with backoff, a 404 read as `'not-found'`; counts no requests of its own. */
export function retriedPages<P extends CheckedPage>(read: PageRead<P>, options: ProjectFetcherOptions): PageFetch<P | 'not-found'> {
  const attempt = (target: ProjectRequest): Observable<P | 'not-found'> =>
    defer(() => read(target)).pipe(
      catchError((error: unknown) => (hasCode(error, 'INDEX_NOT_FOUND') ? of('not-found' as const) : throwError(() => error))),
    );
  return (target) => of(target).pipe(retryEach(attempt, { ...options.retry, scheduler: options.scheduler, random: options.random }));
}

function notStale(target: ProjectRequest, page: ProjectPage, serial: number, promised: number | null | undefined): ProjectPage {
  if (promised === undefined || promised === null || serial >= promised) return page;
  const url = target.index.simpleUrl;
  throw new IndexError('INDEX_STALE_PAGE', `${url}: project ${target.project}: page at serial ${serial}, below the ${promised} of the root listing (a lagging cache)`, { url });
}
