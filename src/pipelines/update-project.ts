/**
 * One project's re-check, once its page is fetched: every known release of the project
 * is compared with the page (`diffRelease`), the page's versions the store does not know
 * are new releases. The known releases get `applyChecks`, each atomically with the events
 * its changes give (`eventsForChanges`, written to the outbox only when the check changed
 * the row); then the new versions are recorded with their `package-released` events
 * (`recordReleases`, announced by the writer that created the row). A crash in between
 * loses nothing: what was not written is found again on the next look, and what was
 * written is published by the relay.
 *
 * A `'not-modified'` page (a 304 to the validators of the last applied page) is an
 * unchanged check of every known release: no parse, no artifact written, no event. After a
 * check of the whole page, its validators are stored for the next conditional request.
 *
 * Versions compare by PEP 440 key (`1.0` == `1.0.0`); a version that is not PEP 440 by its
 * trimmed, lower-cased string (as `diffRelease` does).
 *
 * PEP 792: the page's project status is recorded first, a change of it announced once
 * (`project-status-changed`, in the transaction of the status write). A quarantined
 * project's page lists no files (its index must not offer them): it says nothing about its
 * releases, so they are checked unchanged, keeping their state, and no new version is
 * recorded from it. Archived and deprecated projects are checked as usual.
 */
import type { PackageStore, PageValidatorStore, RecordedRelease } from '../domain/ports.js';
import type { IndexFile, PackageEvent, PackageIndex, ProjectStatus } from '../domain/types.js';
import { releaseKey } from '../domain/pep440.js';
import { diffRelease, filesOf } from '../domain/release-diff.js';
import { eventsForChanges } from './change-events.js';
import { recordNewReleases, unknownReleases } from './new-releases.js';
import type { CheckedPage, FetchedPage } from './project-fetcher.js';
import { statusChangedEvent } from './status-event.js';

/** Every file the page lists for versions equal (by PEP 440) to `version`; null when none is, or the project is missing. */
export function filesOfVersion(page: FetchedPage, version: string): IndexFile[] | null {
  return page === 'not-found' ? null : filesOf(page, version);
}

export interface ProjectCheckInput {
  readonly index: PackageIndex;
  readonly project: string;
  readonly page: CheckedPage;
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
  /** Everything this call announced (written to the outbox), in write order. */
  readonly events: readonly PackageEvent[];
}

const UNCHANGED = { changes: [{ kind: 'unchanged' }], events: [], files: null } as const;

/** Records the page's PEP 792 status (when it gives one and the store keeps them); the events written. */
async function recordStatus(store: PackageStore, index: PackageIndex, project: string, status: ProjectStatus | undefined, at: Date): Promise<PackageEvent[]> {
  if (status === undefined || !store.recordProjectStatus) return [];
  const announce = (previous: ProjectStatus) => [statusChangedEvent(index, project, previous, status)];
  const change = await store.recordProjectStatus(index, project, status, { at, announce });
  return change.changed && change.previous ? announce(change.previous) : [];
}

export async function checkProject(
  ports: { readonly store: PackageStore; readonly validators?: PageValidatorStore | undefined },
  input: ProjectCheckInput,
): Promise<ProjectCheckResult> {
  const { store } = ports;
  const { index, project, page, checkedAt } = input;
  const only = input.version === undefined ? null : releaseKey(input.version);
  const wanted = (version: string) => only === null || releaseKey(version) === only;
  const status = typeof page === 'object' ? page.status : undefined;
  // Independent: the status is read (and rarely written) beside the releases, not after them.
  const [stored, statusEvents] = await Promise.all([store.loadProjectReleases(index.id, project), recordStatus(store, index, project, status, checkedAt)]);
  const known = stored.filter((release) => wanted(release.version));
  const quarantined = status?.status === 'quarantined';
  const checks = known.map((stored) => {
    if (page === 'not-modified' || quarantined) return { stored, ...UNCHANGED };
    const changes = diffRelease(stored, page);
    return { stored, changes, events: eventsForChanges(stored, changes), files: filesOfVersion(page, stored.version) };
  });
  const fresh = page === 'not-found' || page === 'not-modified' || quarantined ? [] : unknownReleases(page, known.map((release) => release.version)).filter((release) => wanted(release.version));
  const triggers = input.triggers ?? new Set<string>();

  const nextDueAt =
    input.recheckIntervalMs === undefined ? undefined : new Date(checkedAt.getTime() + input.recheckIntervalMs);
  const applied = await store.applyChecks(
    checks.map((check) => ({
      release: check.stored,
      check: { checkedAt, changes: check.changes, files: check.files, events: check.events, ...(nextDueAt ? { nextDueAt } : {}) },
    })),
  );
  const changed = applied.filter((result) => result.changed).length;
  const announced = checks.flatMap((check, i) => (applied[i]?.changed ? check.events : []));

  const released = await recordNewReleases(store, index, project, fresh, { triggers, seenAt: checkedAt });
  // Only a check of the whole page may vouch for it: one of a single version left the others unrecorded.
  if (ports.validators && only === null && page !== 'not-modified') {
    await ports.validators.savePageValidators(index.id, project, page === 'not-found' ? null : page.validators);
  }
  return { releases: known.length, changed, recorded: released.created, events: [...statusEvents, ...announced, ...released.events] };
}
