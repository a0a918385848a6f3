/**
 * One project page from an index, the way every pipeline must ask for it: a token from the
 * index host's bucket first (rateLimit), retried with backoff on retriable errors
 * (retryEach), a 429's Retry-After pausing that host's bucket for every caller, and a 404
 * read as `'not-found'` rather than an error.
 */
import { Observable, Subject, defer, from, of, throwError, type SchedulerLike } from 'rxjs';
import { catchError, map, switchMap } from 'rxjs/operators';
import { errorCode } from '../domain/errors.js';
import type { IndexClient } from '../domain/ports.js';
import type { PackageIndex, ProjectPage } from '../domain/types.js';
import { rateLimit, type RateLimitPenalty } from '../operators/rate-limit.js';
import { retryEach, type RetryOutcome } from '../operators/retry-backoff.js';
import type { Metrics } from '../runtime/metrics.js';

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface ProjectFetcherOptions {
  readonly pipeline: string;
  /** Requests per second per index host, and how many may go at once above it. */
  readonly rate: number;
  readonly burst: number;
  readonly retry: RetryPolicy;
  readonly scheduler: SchedulerLike;
  readonly random?: () => number;
  readonly metrics?: Metrics;
}

export interface ProjectRequest {
  readonly index: PackageIndex;
  readonly project: string;
}

export type FetchedPage = ProjectPage | 'not-found';

export interface ProjectFetcher {
  /** One outcome: the page (or `'not-found'`), or the error that remained after the retries. */
  fetch(request: ProjectRequest): Observable<RetryOutcome<ProjectRequest, FetchedPage>>;
  /** Index requests made (attempts included), for tests and benchmarks. */
  readonly requests: () => number;
}

/** The host of an index: the rate-limit key and the metrics label. */
export function indexHost(index: PackageIndex): string {
  return new URL(index.simpleUrl).host;
}

interface Ticket {
  readonly key: string;
  readonly grant: () => void;
}

export function createProjectFetcher(client: Pick<IndexClient, 'fetchProject'>, options: ProjectFetcherOptions): ProjectFetcher {
  const { scheduler, metrics, pipeline } = options;
  const penalties = new Subject<RateLimitPenalty<string>>();
  const tickets = new Subject<Ticket>();
  // One bucket per host for every caller of this fetcher: tickets wait here for a token.
  tickets
    .pipe(
      rateLimit<Ticket, string>({
        rate: options.rate,
        burst: options.burst,
        key: (ticket) => ticket.key,
        penalties,
        scheduler,
        onWait: (ms, key) => metrics?.rateLimiterWait.observe({ pipeline, index: key }, ms / 1000),
      }),
    )
    .subscribe((ticket) => ticket.grant());
  const token = (key: string) =>
    new Observable<void>((subscriber) => {
      tickets.next({ key, grant: () => (subscriber.closed ? undefined : (subscriber.next(), subscriber.complete())) });
    });

  let requests = 0;
  const attempt = (request: ProjectRequest): Observable<FetchedPage> => {
    const host = indexHost(request.index);
    return token(host).pipe(
      switchMap(() =>
        defer(() => {
          requests += 1;
          return from(client.fetchProject(request.index, request.project));
        }),
      ),
      // A 304 cannot happen without validators, which this fetcher never sends.
      map((page) => page as ProjectPage),
      catchError((error: unknown) => {
        const code = errorCode(error);
        if (code === 'INDEX_NOT_FOUND') return of('not-found' as const);
        const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
        if (code === 'INDEX_RATE_LIMITED' && typeof retryAfterMs === 'number') penalties.next({ key: host, ms: retryAfterMs });
        return throwError(() => error);
      }),
    );
  };

  return {
    fetch: (request) => of(request).pipe(retryEach(attempt, { ...options.retry, scheduler, random: options.random })),
    requests: () => requests,
  };
}
