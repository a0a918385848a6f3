/**
 * Records the releases a project page lists that the store does not know yet (versions
 * compared by PEP 440, so another spelling is not new) and announces each one: the store
 * writes a version's events in the transaction that creates its row, and only for the rows
 * it created, so a release found by two pipelines (or two feeds) at once is announced once.
 */
import { defer, lastValueFrom, map, of, type Observable, type ObservableInput } from 'rxjs';
import { releaseKey } from '../domain/pep440.js';
import type { PackageStore, RecordedRelease } from '../domain/ports.js';
import type { IndexRelease, PackageEvent, PackageIndex, ProjectPage } from '../domain/types.js';

export function releasedEvents(index: PackageIndex, project: string, version: string, triggers: ReadonlySet<string>): PackageEvent[] {
  const event: PackageEvent = { kind: 'package-released', indexUrl: index.simpleUrl, project, version };
  return triggers.has(project) ? [event, { ...event, kind: 'release-trigger' }] : [event];
}

/** The page's releases whose versions are not among `known` (the first spelling of each kept). */
export function unknownReleases(page: ProjectPage, known: Iterable<string>): IndexRelease[] {
  const seen = new Set([...known].map(releaseKey));
  return page.releases.filter((release) => {
    const key = releaseKey(release.version);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface NewReleases {
  readonly created: RecordedRelease[];
  readonly events: PackageEvent[];
}

type ReleaseRecorder = { recordReleases(...args: Parameters<PackageStore['recordReleases']>): ObservableInput<RecordedRelease[]> };

/** Records the releases; the versions this call created, and their events (the ones it announced). */
export function newReleasesRecorded(
  store: ReleaseRecorder,
  index: PackageIndex,
  project: string,
  releases: readonly IndexRelease[],
  options: { readonly triggers: ReadonlySet<string>; readonly seenAt?: Date },
): Observable<NewReleases> {
  if (releases.length === 0) return of({ created: [], events: [] });
  const announce = (version: string) => releasedEvents(index, project, version, options.triggers);
  return defer(() => store.recordReleases(index, project, releases, { announce, ...(options.seenAt ? { seenAt: options.seenAt } : {}) })).pipe(
    map((recorded) => {
      const created = recorded.filter((release) => release.created);
      return { created, events: created.flatMap((release) => announce(release.version)) };
    }),
  );
}

/** The same, for a caller that awaits the store. */
export function recordNewReleases(...args: Parameters<typeof newReleasesRecorded>): Promise<NewReleases> {
  return lastValueFrom(newReleasesRecorded(...args));
}
