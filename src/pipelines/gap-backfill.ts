/**
 * What a feed gap's backfill reads, and one backfill for both feeds of an index.
 *
 * The root listing is read first (its serial is the point the backfill starts from):
 * - with serials (Warehouse's `_last-serial`) and a stored serial from the last completed
 *   backfill: only the projects whose serial is above it, so the cost grows with what
 *   changed during the outage, not with the number of projects;
 * - otherwise: every known project and, for an index watching every project, every listed
 *   project, so the new projects of an outage longer than the packages feed's window are
 *   found too.
 * Every name of the listing is kept as a digest (listed-names.ts), so the known projects it
 * no longer holds (deleted on the index) come out of `gone()`, to be confirmed by their page.
 * An index watching only seen projects never reads a project it does not know. A listing
 * that cannot be read falls back to the known projects (one warn line). The listing's
 * serial is stored only once every page is read, so a crash reads the same set again.
 */
import { EMPTY, Subject, concat, defer, finalize, type Observable, type ObservableInput } from 'rxjs';
import { errorCode } from '../domain/errors.js';
import type { IndexClient, SerialSyncStore, PackageStore } from '../domain/ports.js';
import type { ListingFilter, PackageIndex, ProjectListing } from '../domain/types.js';
import type { Logger } from '../runtime/logger.js';
import { listedNames, type ListedNames } from './listed-names.js';
import type { Metrics } from '../runtime/metrics.js';

export interface BackfillPorts {
  readonly store: Pick<PackageStore, 'knownProjects' | 'isKnownProject'>;
  readonly index: Pick<IndexClient, 'fetchProjectList'>;
  readonly serialSync?: SerialSyncStore | undefined;
}

/** Names as the store's cursors give them, or (a marble spec's) a sync iterable. */
type Names = AsyncIterable<string> | Iterable<string>;

/** What the pipeline asks of a plan (the releases edge's plan port answers with one). */
export interface BackfillPlan {
  /** The projects to read again, canonical names. */
  readonly projects: Names;
  /** How they were chosen (for the log line). */
  readonly basis: 'serials' | 'listing' | 'new projects' | 'known projects';
  /** Whether they come from the root listing: then a 404 of a page contradicts it (a lagging cache), not a deletion. */
  readonly listed: boolean;
  /** The serial the listing gave a changed project (its page must be at least as new); undefined: none. */
  promisedSerial(project: string): number | undefined;
  /**
   * A changed project whose page could not be read (or checked): it comes due for a queued
   * re-check now (the update pipeline's), which asks for a page at least as new as the listing's.
   */
  readFailed(project: string, at: Date): ObservableInput<void>;
  /**
   * The known projects the listing no longer holds (deleted on the index), to be checked
   * after `projects`: their page's 404 reports them `missing-package`. Those already
   * reported are left out, so a deletion costs one request, not one every sync.
   */
  gone(): Names;
  /** Call once every project's page is read and recorded. */
  done(): ObservableInput<void>;
}

/** planBackfill's plan: the store's cursors, and Promises. */
export type ListingPlan = BackfillPlan & {
  readonly projects: AsyncIterable<string>;
  readFailed(project: string, at: Date): Promise<void>;
  gone(): AsyncIterable<string>;
  done(): Promise<void>;
};

/**
 * `purpose`: a feed gap may have missed anything, so without serials it reads every project;
 * a scheduled sync of a listing without serials reads only the listed projects nobody knows
 * (watch all), as the known ones are the update pipeline's to re-check.
 */
export async function planBackfill(
  ports: BackfillPorts,
  index: PackageIndex,
  observe: { logger?: Logger; metrics?: Metrics } = {},
  purpose: 'gap' | 'sync' = 'gap',
): Promise<ListingPlan> {
  const stored = (await ports.serialSync?.listingSerial(index.id)) ?? null;
  const watchAll = index.watchMode === 'all';
  // Kept of the listing: the projects above the stored serial; without one, every project for
  // watch-all and none for seen (which needs the listing's serial only). It is never held whole.
  const changed: ListingFilter = stored !== null ? (p) => p.lastSerial === null || p.lastSerial > stored : () => watchAll;
  const listed = listedNames();
  const listing = await listingOrNull(ports, index, (p) => (listed.add(p.project), changed(p)), observe.logger);
  const known = {
    basis: 'known projects',
    listed: false,
    projects: ports.store.knownProjects({ indexId: index.id }),
    promisedSerial: () => undefined,
    readFailed: async () => {},
    gone: () => iterate([]),
    done: async () => {},
  } as const;
  if (listing === null) return known;
  const gone = () => goneFrom(ports, index, listed);
  const done = async () => {
    if (listing.lastSerial !== null) await ports.serialSync?.saveListingSerial(index.id, listing.lastSerial);
  };
  const names = listing.projects.map((p) => p.project);
  if (listing.lastSerial === null && purpose === 'sync') {
    return watchAll ? { ...known, basis: 'new projects', listed: true, projects: unknownOf(ports, index, names), gone, done } : { ...known, projects: iterate([]), gone, done };
  }
  if (stored === null || listing.lastSerial === null) {
    return watchAll ? { ...known, basis: 'listing', listed: true, projects: iterate(names), gone, done } : { ...known, gone, done };
  }
  if (listing.lastSerial < stored) {
    // Older than the listing the last backfill read: a stale cache, whose serials cannot say what changed.
    observe.metrics?.badInput.inc({ source: 'index', code: 'LISTING_SERIAL_BACKWARDS' });
    observe.logger?.warn(
      { index: index.simpleUrl, code: 'LISTING_SERIAL_BACKWARDS', detail: `root listing serial ${listing.lastSerial} is below ${stored}, read before (a stale cache)` },
      'unreadable part of an index answer',
    );
    return known;
  }
  // Only the changed projects are kept, so the map is as small as the change.
  const serials = new Map(listing.projects.map((p) => [p.project, p.lastSerial]));
  const promisedSerial = (project: string) => serials.get(project) ?? undefined;
  const readFailed = async (project: string, at: Date) => ports.serialSync?.queueRecheck(index.id, project, at, serials.get(project) ?? null);
  return { basis: 'serials', listed: true, projects: watchAll ? iterate(names) : knownOf(ports, index, names), promisedSerial, readFailed, gone, done };
}

async function listingOrNull(ports: BackfillPorts, index: PackageIndex, keep: ListingFilter, logger?: Logger): Promise<ProjectListing | null> {
  try {
    return await ports.index.fetchProjectList(index, keep);
  } catch (error) {
    logger?.warn({ index: index.simpleUrl, code: errorCode(error), err: error }, 'root listing unreadable: the backfill reads every known project');
    return null;
  }
}

async function* goneFrom(ports: BackfillPorts, index: PackageIndex, listed: ListedNames): AsyncIterable<string> {
  for await (const project of ports.store.knownProjects({ indexId: index.id, unreported: true })) if (!listed.has(project)) yield project;
}

async function* unknownOf(ports: BackfillPorts, index: PackageIndex, names: readonly string[]): AsyncIterable<string> {
  const known = listedNames();
  for await (const project of ports.store.knownProjects({ indexId: index.id })) known.add(project);
  for (const name of names) if (!known.has(name)) yield name;
}

async function* iterate(names: readonly string[]): AsyncIterable<string> {
  yield* names;
}

async function* knownOf(ports: BackfillPorts, index: PackageIndex, names: readonly string[]): AsyncIterable<string> {
  for (const name of names) if (await ports.store.isKnownProject(name, index.id)) yield name;
}

/**
 * One backfill at a time per index: both feeds of an index that saw a gap (after an outage
 * they see it together) queue here. The first reads what the gap may have missed; the next
 * starts from the serial the first stored, so it reads only what changed while the first ran
 * (nothing, mostly), not every project again. Each waits for the end of the one queued before
 * it (a subject completed when that one ends), with no Promise between: virtual time drives it.
 */
export function createBackfillQueue() {
  const tails = new Map<number, Subject<never>>();
  return function queued<T>(indexId: number, backfill: () => Observable<T>): Observable<T> {
    return defer(() => {
      const previous = tails.get(indexId) ?? EMPTY;
      const mine = new Subject<never>();
      tails.set(indexId, mine);
      return concat(previous, defer(backfill)).pipe(
        finalize(() => {
          mine.complete();
          if (tails.get(indexId) === mine) tails.delete(indexId);
        }),
      );
    });
  };
}
