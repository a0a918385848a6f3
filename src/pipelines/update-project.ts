/**
 * One project's re-check, once its page is fetched: every known release of the project
 * is compared with the page (`diffRelease`), the page's versions the store does not know
 * are new releases, and the results go out in the order that gives at-least-once:
 *
 *   1. every event of the project (`eventsForChanges` of each release, `package-released`
 *      of each new version) is published, in one call, and is durable;
 *   2. then the known releases get `applyChecks`, each atomically (state, artifacts,
 *      last_checked_at, due);
 *   3. then the new versions are recorded (`recordReleases`).
 *
 * A crash (or an error) after 1 and before 2/3 leaves the rows as they were, so the next
 * look finds the same changes and publishes them again; the other order would lose them.
 * Running this again after a partial failure is safe: what was applied is unchanged now
 * and emits nothing.
 *
 * Versions compare by PEP 440 key (`1.0` == `1.0.0`); a version that is not PEP 440 by its
 * trimmed, lower-cased string (as `diffRelease` does).
 */
import type { EventSink, PackageStore, RecordedRelease } from '../domain/ports.js';
import type { IndexFile, PackageEvent, PackageIndex } from '../domain/types.js';
import { releaseKey } from '../domain/pep440.js';
import { diffRelease, filesOf } from '../domain/release-diff.js';
import { eventsForChanges } from './change-events.js';
import { releasedEvents, unknownReleases } from './new-releases.js';
import type { FetchedPage } from './project-fetcher.js';

/** Every file the page lists for versions equal (by PEP 440) to `version`; null when none is, or the project is missing. */
export function filesOfVersion(page: FetchedPage, version: string): IndexFile[] | null {
  return page === 'not-found' ? null : filesOf(page, version);
}

export interface ProjectCheckInput {
  readonly index: PackageIndex;
  readonly project: string;
  readonly page: FetchedPage;
  readonly checkedAt: Date;
  /** Projects whose releases also go out as `release-trigger`. */
  readonly triggers?: ReadonlySet<string>;
  /** Only this version (by PEP 440), for a check of one release; default every version. */
  readonly version?: string;
  /** Overrides the store's due time: `checkedAt + recheckIntervalMs`. */
  readonly recheckIntervalMs?: number;
}

export interface ProjectCheckResult {
  /** Known releases checked. */
  readonly releases: number;
  /** Known releases whose state or artifacts changed. */
  readonly changed: number;
  /** New versions recorded (created by this call). */
  readonly recorded: readonly RecordedRelease[];
  /** Everything published, in publish order. */
  readonly events: readonly PackageEvent[];
}

export async function checkProject(
  ports: { readonly store: PackageStore; readonly events: EventSink },
  input: ProjectCheckInput,
): Promise<ProjectCheckResult> {
  const { store, events: sink } = ports;
  const { index, project, page, checkedAt } = input;
  const only = input.version === undefined ? null : releaseKey(input.version);
  const wanted = (version: string) => only === null || releaseKey(version) === only;
  const known = (await store.loadProjectReleases(index.id, project)).filter((release) => wanted(release.version));

  const checks = known.map((stored) => {
    const changes = diffRelease(stored, page);
    return { stored, changes, events: eventsForChanges(stored, changes), files: filesOfVersion(page, stored.version) };
  });
  const fresh = page === 'not-found' ? [] : unknownReleases(page, known.map((release) => release.version)).filter((release) => wanted(release.version));
  const released = fresh.flatMap((release) => releasedEvents(index, project, release.version, input.triggers ?? new Set()));
  const events = [...checks.flatMap((check) => check.events), ...released];

  if (events.length > 0) await sink.publish(events);

  const nextDueAt =
    input.recheckIntervalMs === undefined ? undefined : new Date(checkedAt.getTime() + input.recheckIntervalMs);
  const applied = await store.applyChecks(
    checks.map((check) => ({
      release: check.stored,
      check: { checkedAt, changes: check.changes, files: check.files, ...(nextDueAt ? { nextDueAt } : {}) },
    })),
  );
  const changed = applied.filter((result) => result.changed).length;

  const recorded = fresh.length > 0 ? await store.recordReleases(index, project, fresh, { seenAt: checkedAt }) : [];
  return { releases: known.length, changed, recorded: recorded.filter((release) => release.created), events };
}
