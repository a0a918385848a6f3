/**
 * What every part of the releases pipeline shares: its edge and options, the page fetchers,
 * the stage meter, and the two policies each project read follows (a failure recorded in
 * attention; the store retried with backoff before the pipeline fails).
 */
import { concat, defer, ignoreElements, of, retry, throwError, timer, timeout, type MonoTypeOperatorFunction, type Observable, type ObservableInput } from 'rxjs';
import { backoffDelay } from '../domain/backoff.js';
import { canonicalizeName } from '../domain/pep503.js';
import type { PackageIndex } from '../domain/types.js';
import { hasRetriableFlag, type RetryOutcome } from '../operators/retry-backoff.js';
import { IndexError } from '../sources/index-client/errors.js';
import { createBackfillQueue } from './gap-backfill.js';
import { retriedPages, type CheckedPage, type FetchedPage, type PageFetch, type ProjectRequest } from './project-fetcher.js';
import type { ReleasesEdge } from './releases-edge.js';
import type { ReleasesOptions, ReleasesOutcome } from './releases-ports.js';
import { stageMeter } from './stage-meter.js';

export const RELEASES_PIPELINE = 'releases' as const;

export interface ReleasesContext {
  readonly ports: ReleasesEdge;
  readonly options: ReleasesOptions;
  /** A feed poll's page reads (retried): the new versions only. */
  readonly fetch: PageFetch;
  /** A backfill's page reads (retried), checked whole: conditional where the store keeps validators. */
  readonly check: PageFetch<CheckedPage>;
  readonly triggers: ReadonlySet<string>;
  readonly stage: ReturnType<typeof stageMeter<'releases'>>;
  /** When each watched feed last completed a pass (0: not yet), by `indexId|feed`. */
  readonly passes: Map<string, number>;
  readonly backfills: ReturnType<typeof createBackfillQueue>;
}

export function createReleasesContext(ports: ReleasesEdge, options: ReleasesOptions): ReleasesContext {
  const fetcherOptions = { retry: options.retry, scheduler: ports.scheduler, ...(options.random ? { random: options.random } : {}) };
  return {
    ports,
    options,
    fetch: retriedPages(ports.index.readPage, fetcherOptions),
    check: retriedPages(ports.index.readCheckedPage, fetcherOptions),
    triggers: new Set((options.releaseTriggers ?? []).map(canonicalizeName)),
    stage: stageMeter(RELEASES_PIPELINE, options.metrics, ports.scheduler),
    passes: new Map(),
    backfills: createBackfillQueue(),
  };
}

/** The project's read failed for good: one attention row (by `indexUrl|project`), one warn line, a `failed` outcome. */
export function recordFailure(context: ReleasesContext, index: PackageIndex, project: string, code: string, message: string): Observable<ReleasesOutcome> {
  const { ports, options } = context;
  const indexUrl = index.simpleUrl;
  return afterWrite(
    () => ports.store.recordAttention({ pipeline: RELEASES_PIPELINE, itemKey: `${indexUrl}|${project}`, errorCode: code, errorMessage: message }),
    () => {
      options.metrics?.attentionRecorded.inc({ pipeline: RELEASES_PIPELINE, code });
      options.logger?.warn({ index: indexUrl, project, code, message }, 'release read failed: recorded for attention');
      return of({ type: 'failed', indexUrl, project, errorCode: code, message } as const);
    },
  );
}

/** `write` (a store write) done, its answer dropped, then what depends on it. */
export function afterWrite<T>(write: () => ObservableInput<unknown>, then: () => ObservableInput<T>): Observable<T> {
  return concat(defer(write).pipe(ignoreElements()), defer(then));
}

/** The store failing for a while is tried again with backoff; what still fails is rethrown. */
export function retryStore<T>(context: ReleasesContext): MonoTypeOperatorFunction<T> {
  const { options, ports } = context;
  return retry({
    count: options.retry.maxAttempts - 1,
    delay: (error: unknown, attempt: number) =>
      hasRetriableFlag(error)
        ? timer(backoffDelay(attempt, error, { ...options.retry, random: options.random ?? Math.random }), ports.scheduler)
        : throwError(() => error),
  });
}

/** The page, or past `pageDeadlineMs` (retries included) a timeout outcome that sends the project to attention. */
export function fetchWithinDeadline<P extends CheckedPage = FetchedPage>(
  context: ReleasesContext,
  fetch: PageFetch<P>,
  request: ProjectRequest,
): Observable<RetryOutcome<ProjectRequest, P>> {
  const deadline = context.options.pageDeadlineMs;
  const fetched = fetch(request);
  if (deadline === undefined) return fetched;
  return fetched.pipe(
    timeout({
      first: deadline,
      scheduler: context.ports.scheduler,
      with: () => {
        const message = `project ${request.project}: no page within ${deadline / 1000} s (slow or rate-limited); the poll moves on`;
        return of({ ok: false, item: request, error: new IndexError('INDEX_TIMEOUT', message, { url: request.index.simpleUrl }), attempts: 1 } as const);
      },
    }),
  );
}
