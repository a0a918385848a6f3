/**
 * One project's check in a pass: its index looked up, its page fetched (the fetch stage),
 * every known release re-checked against it and its new versions recorded (the apply
 * stage, retried on retriable errors). Always one outcome, `checked` or `failed`: a failure
 * at any step is recorded (FailureRecorder) and never errors the pass.
 */
import { catchError, mergeMap, of, type Observable, type SchedulerLike } from 'rxjs';
import { PkgstreamError } from '../../domain/errors.js';
import type { PackageIndex, ProjectRef } from '../../domain/types.js';
import { retryEach, type RetryOutcome } from '../../operators/retry-backoff.js';
import type { CheckedPage } from '../project-fetcher.js';
import type { StageRunner } from '../stage-meter.js';
import type { ProjectCheckResult } from '../update-project.js';
import type { FailureRecorder } from './failure-recorder.js';
import type { IndexLookup } from './index-lookup.js';
import { retryOf, type UpdateOptions } from './options.js';
import type { UpdateOutcome } from './outcome.js';
import type { ProjectWork } from './ports.js';
import type { InFlight } from './project-ledger.js';

export interface ProjectCheckContext {
  readonly work: ProjectWork;
  readonly scheduler: SchedulerLike;
  readonly indexes: IndexLookup;
  readonly failures: FailureRecorder;
  readonly stage: StageRunner<'fetch' | 'apply'>;
  readonly options: UpdateOptions;
}

type Ended = Extract<UpdateOutcome, { type: 'checked' | 'failed' }>;

export function checkProjectOf(context: ProjectCheckContext, ref: ProjectRef, project: InFlight): Observable<Ended> {
  const { work, stage, failures } = context;
  return context.indexes.find(ref.indexId).pipe(
    mergeMap((index) => {
      if (index === null) return failures.fail(ref, { stage: 'index', error: unknownIndex(ref.indexId), attempts: 1 }, project.rows);
      return stage('fetch', { index, project: ref.project }, (request) => work.fetch(request, project.queued), (fetched) => !fetched.ok).pipe(
        mergeMap((fetched) => {
          if (!fetched.ok) return failures.fail(ref, { stage: 'fetch', error: fetched.error, attempts: fetched.attempts }, project.rows);
          return applied(context, index, ref, fetched.value).pipe(
            mergeMap((checked) => {
              if (!checked.ok) return failures.fail(ref, { stage: 'apply', error: checked.error, attempts: checked.attempts }, project.rows);
              return of(checkedOutcome(index, ref.project, fetched.value, checked.value, fetched.attempts));
            }),
          );
        }),
      );
    }),
    catchError((error: unknown) => failures.fail(ref, { stage: 'index', error, attempts: 1 }, project.rows)), // the listing failed
  );
}

/** The re-check of every known release against the page, retried as a whole. */
function applied(context: ProjectCheckContext, index: PackageIndex, ref: ProjectRef, page: CheckedPage): Observable<RetryOutcome<null, ProjectCheckResult>> {
  const { work, scheduler, options } = context;
  const recheck = options.recheckIntervalMs === undefined ? {} : { recheckIntervalMs: options.recheckIntervalMs };
  const attempt = () => work.check({ index, project: ref.project, page, checkedAt: new Date(scheduler.now()), ...recheck });
  return context.stage('apply', null, () => of(null).pipe(retryEach(attempt, retryOf(options, scheduler))), (outcome) => !outcome.ok);
}

function checkedOutcome(index: PackageIndex, project: string, page: CheckedPage, result: ProjectCheckResult, attempts: number): Ended {
  return {
    type: 'checked',
    indexUrl: index.simpleUrl,
    project,
    releases: result.releases,
    changed: result.changed,
    newReleases: result.recorded.map((release) => release.version),
    notFound: page === 'not-found',
    events: result.events,
    attempts,
  };
}

function unknownIndex(id: number): PkgstreamError {
  return new PkgstreamError('INDEX_UNKNOWN', `no index with id ${id}`);
}
