/**
 * One project page from an index, the way every pipeline must ask for it: retried with
 * backoff on retriable errors (retryEach), and a 404 read as `'not-found'` rather than an
 * error. The rate limit and a 429's pause are the index client's (polite-client.ts): the
 * client given here is the process's one polite client for every host.
 */
import { Observable, defer, from, of, throwError, type SchedulerLike } from 'rxjs';
import { catchError, map } from 'rxjs/operators';
import { errorCode } from '../domain/errors.js';
import type { IndexClient } from '../domain/ports.js';
import type { PackageIndex, ProjectPage } from '../domain/types.js';
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
}

export type FetchedPage = ProjectPage | 'not-found';

export interface ProjectFetcher {
  /** One outcome: the page (or `'not-found'`), or the error that remained after the retries. */
  fetch(request: ProjectRequest): Observable<RetryOutcome<ProjectRequest, FetchedPage>>;
  /** Index requests made (attempts included), for tests and benchmarks. */
  readonly requests: () => number;
}

export function createProjectFetcher(client: Pick<IndexClient, 'fetchProject'>, options: ProjectFetcherOptions): ProjectFetcher {
  const { scheduler } = options;
  let requests = 0;
  const attempt = (request: ProjectRequest): Observable<FetchedPage> =>
    defer(() => {
      requests += 1;
      return from(client.fetchProject(request.index, request.project));
    }).pipe(
      // A 304 cannot happen without validators, which this fetcher never sends.
      map((page) => page as ProjectPage),
      catchError((error: unknown) => (errorCode(error) === 'INDEX_NOT_FOUND' ? of('not-found' as const) : throwError(() => error))),
    );

  return {
    fetch: (request) => of(request).pipe(retryEach(attempt, { ...options.retry, scheduler, random: options.random })),
    requests: () => requests,
  };
}
