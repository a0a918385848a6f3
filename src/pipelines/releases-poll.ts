/**
 * A feed poll's items read: grouped by project (one page read per project per poll), a
 * `seen` index's unknown projects dropped, each page's new versions among those announced
 * recorded with their events. A page the index will not give, or a version announced but
 * not on its page, goes to attention; a store write that still fails after its retries
 * fails the pipeline (releases.ts says why).
 */
import { EMPTY, catchError, concat, defer, filter, map, mergeMap, of, throwError, type Observable } from 'rxjs';
import { errorCode, errorMessage } from '../domain/errors.js';
import { releaseKey } from '../domain/pep440.js';
import type { FeedItem, PackageIndex, ProjectPage } from '../domain/types.js';
import { pullMap } from '../operators/pull-map.js';
import { hasRetriableFlag } from '../operators/retry-backoff.js';
import { newReleasesRecorded, unknownReleases } from './new-releases.js';
import { fetchWithinDeadline, recordFailure, retryStore, type ReleasesContext } from './releases-context.js';
import type { ReleasesOutcome } from './releases-ports.js';

/** Per project: the announced versions by their PEP 440 key (the spelling kept for messages), or 'all'. */
type Announced = ReadonlyMap<string, string> | 'all';

/** The poll's items grouped by project: one page read per project per poll. */
export function releasesOfPoll(context: ReleasesContext, index: PackageIndex, items: readonly FeedItem[]): Observable<ReleasesOutcome> {
  const versionsByProject = new Map<string, Map<string, string> | 'all'>();
  for (const item of items) {
    const known = versionsByProject.get(item.project);
    if (item.version === null || known === 'all') versionsByProject.set(item.project, 'all');
    else versionsByProject.set(item.project, (known ?? new Map<string, string>()).set(releaseKey(item.version), item.version));
  }
  // Pulled as slots free up: a long feed answer never queues a page request per item.
  return pullMap(
    versionsByProject,
    ([project, versions]: [string, Announced]) =>
      defer(() => (index.watchMode === 'seen' ? context.ports.store.isKnownProject(project, index.id) : of(true))).pipe(
        filter(Boolean),
        mergeMap(() => releasesOfProject(context, index, project, versions)),
      ),
    { concurrency: context.options.concurrency },
  );
}

function releasesOfProject(context: ReleasesContext, index: PackageIndex, project: string, versions: Announced): Observable<ReleasesOutcome> {
  const indexUrl = index.simpleUrl;
  const failed = (code: string, message: string) => recordFailure(context, index, project, code, message);
  return context.stage('fetch', { index, project }, (request) => fetchWithinDeadline(context, context.fetch, request), (outcome) => !outcome.ok).pipe(
    mergeMap((outcome) => {
      if (!outcome.ok) return failed(errorCode(outcome.error), `${errorMessage(outcome.error)} (after ${outcome.attempts} attempts)`);
      const page = outcome.value;
      if (page === 'not-found') return failed('INDEX_NOT_FOUND', `project ${project} is not on ${indexUrl}`);
      return context.stage('record', null, () => recordAnnounced(context, index, project, page, versions)).pipe(
        mergeMap(({ events, absent }) =>
          concat(
            events.length > 0 ? of<ReleasesOutcome>({ type: 'released', indexUrl, project, events, backfill: false }) : EMPTY,
            absent.length > 0 ? failed('RELEASE_NOT_ON_INDEX', `version(s) ${absent.join(', ')} of ${project} announced but not on ${indexUrl}`) : EMPTY,
          ),
        ),
        // A store still failing after its retries fails the pipeline rather than record attention:
        // the poll's checkpoint is not saved, and the restarted pipeline reads these items again.
        // An attention row would move the checkpoint past releases neither recorded nor announced.
        catchError((error: unknown) => (hasRetriableFlag(error) ? throwError(() => error) : failed(errorCode(error), errorMessage(error)))),
      );
    }),
  );
}

/** The page's versions the store does not know (among those announced) recorded; the announced ones the page does not list. */
function recordAnnounced(context: ReleasesContext, index: PackageIndex, project: string, page: ProjectPage, versions: Announced) {
  const { store } = context.ports;
  return defer(() => store.loadProjectReleases(index.id, project)).pipe(
    mergeMap((known) => {
      const wanted = unknownReleases(page, known.map((release) => release.version)).filter(
        (release) => versions === 'all' || versions.has(releaseKey(release.version)),
      );
      // A version the feed announced that the page does not list yet (a CDN lag) is not dropped.
      const listed = new Set([...page.releases, ...known].map((release) => releaseKey(release.version)));
      const absent = versions === 'all' ? [] : [...versions].filter(([key]) => !listed.has(key)).map(([, version]) => version);
      return newReleasesRecorded(store, index, project, wanted, { triggers: context.triggers }).pipe(map(({ events }) => ({ events, absent })));
    }),
    retryStore(context), // the store failing for a while: tried again with backoff
  );
}
