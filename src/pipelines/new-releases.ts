/**
 * Records the releases a project page lists that the store does not know yet (versions
 * compared by PEP 440, so another spelling is not new) and announces each one. The events
 * go out before the rows are written: a crash in between announces them again on the
 * next look (at-least-once), where the other order would lose them.
 */
import { releaseKey } from '../domain/pep440.js';
import type { EventSink, PackageStore } from '../domain/ports.js';
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

export async function recordNewReleases(
  ports: { readonly store: PackageStore; readonly events: EventSink },
  index: PackageIndex,
  page: ProjectPage,
  releases: readonly IndexRelease[],
  triggers: ReadonlySet<string>,
): Promise<PackageEvent[]> {
  if (releases.length === 0) return [];
  const events = releases.flatMap((release) => releasedEvents(index, page.project, release.version, triggers));
  await ports.events.publish(events);
  await ports.store.recordReleases(index, page.project, releases);
  return events;
}
