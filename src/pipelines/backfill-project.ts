/**
 * One project of a backfill (a feed gap's, or a serial sync's): its page read once and
 * checked whole (`checkProject`: new versions recorded, yanks, changed files and deletions
 * of the known ones reported, the page's validators stored), so a change costs one request,
 * and the next verification of an unchanged project can be a 304.
 *
 * A project whose serial rose is asked for with the listing's serial as the page's promise:
 * a lagging cache's older page is retried, never taken for the truth. A page that still
 * cannot be read (or checked) goes to attention, and the plan queues the project for the
 * update pipeline's re-check; so does a listed project whose page is a 404 (the listing
 * says it is there: a deletion is a project gone from the listing, plan.gone). A store that
 * keeps failing fails the pipeline (as a feed poll's record does), so the backfill's serial
 * is not stored past a change neither written nor queued.
 */
import { EMPTY, catchError, concat, defer, ignoreElements, mergeMap, of, throwError, type Observable } from 'rxjs';
import { errorCode, errorMessage } from '../domain/errors.js';
import { indexHost } from '../domain/index-host.js';
import type { PackageIndex } from '../domain/types.js';
import { hasRetriableFlag } from '../operators/retry-backoff.js';
import type { BackfillPlan } from './gap-backfill.js';
import type { CheckedPage } from './project-fetcher.js';
import { fetchWithinDeadline, recordFailure, retryStore, type ReleasesContext } from './releases-context.js';
import type { ReleasesOutcome } from './releases-ports.js';

/** `listed`: the root listing holds the project (a 404 then contradicts it); false for one gone from it. */
export function backfillProject(context: ReleasesContext, index: PackageIndex, project: string, plan: BackfillPlan, listed: boolean): Observable<ReleasesOutcome> {
  const promisedSerial = plan.promisedSerial(project);
  const request = { index, project, ...(promisedSerial === undefined ? {} : { promisedSerial }) };
  const failed = (code: string, message: string) =>
    concat(recordFailure(context, index, project, code, message), defer(() => plan.readFailed(project, new Date(context.ports.scheduler.now()))).pipe(ignoreElements()));
  return context.stage('fetch', request, (r) => fetchWithinDeadline(context, context.check, r), (outcome) => !outcome.ok).pipe(
    mergeMap((outcome) => {
      if (outcome.ok && outcome.value === 'not-found' && listed) {
        return failed('INDEX_NOT_FOUND', `project ${project} is in the root listing of ${index.simpleUrl} but its page is not found (a lagging cache?)`);
      }
      if (outcome.ok) return checked(context, index, project, outcome.value, failed);
      const message = errorMessage(outcome.error);
      return failed(errorCode(outcome.error), `${message} (after ${outcome.attempts} attempts)`);
    }),
  );
}

function checked(
  context: ReleasesContext,
  index: PackageIndex,
  project: string,
  page: CheckedPage,
  failed: (code: string, message: string) => Observable<ReleasesOutcome>,
): Observable<ReleasesOutcome> {
  const { ports, options } = context;
  const check = defer(() => ports.backfill.check({ index, project, page, checkedAt: new Date(ports.scheduler.now()), triggers: context.triggers })).pipe(retryStore(context));
  return context.stage('record', null, () => check).pipe(
    mergeMap((result) => {
      options.metrics?.backfilledReleases.inc({ index: indexHost(index) }, result.recorded.length);
      // A registered project the index never had (a misspelt `package add`): nothing to report missing, so say so.
      if (page === 'not-found' && result.releases === 0) return failed('INDEX_NOT_FOUND', `project ${project} is not on ${index.simpleUrl}`);
      return result.events.length > 0 ? of<ReleasesOutcome>({ type: 'released', indexUrl: index.simpleUrl, project, events: result.events, backfill: true }) : EMPTY;
    }),
    catchError((error: unknown) => (hasRetriableFlag(error) ? throwError(() => error) : failed(errorCode(error), errorMessage(error)))),
  );
}
