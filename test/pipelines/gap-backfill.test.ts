/** What a gap's backfill reads (planBackfill) and one backfill at a time per index (createBackfillQueue). */
import { Subject, firstValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { SerialSyncStore } from '../../src/domain/ports.js';
import type { PackageIndex, ProjectListing } from '../../src/domain/types.js';
import { createBackfillQueue, planBackfill, type BackfillPorts } from '../../src/pipelines/gap-backfill.js';
import { IndexError } from '../../src/sources/index-client/errors.js';

const index = (watchMode: 'all' | 'seen'): PackageIndex => ({
  id: 1, simpleUrl: 'https://example.test/simple', jsonApiUrl: null, rssUrl: 'https://example.test/rss', verifyTls: true, enabled: true, watchMode,
});

function ports(listing: ProjectListing | Error, known: string[], stored: number | null) {
  const saved: number[] = [];
  const serialSync: SerialSyncStore = {
    listingSerial: async () => stored,
    saveListingSerial: async (_id, serial) => void saved.push(serial),
    queueRecheck: async () => undefined,
  };
  const value: BackfillPorts = {
    index: {
      fetchProjectList: async (_index, keep) => (listing instanceof Error ? Promise.reject(listing) : { ...listing, projects: listing.projects.filter((p) => keep?.(p) ?? true) }),
    },
    store: {
      isKnownProject: async (project) => known.includes(project),
      knownProjects: async function* () {
        yield* known;
      },
    },
    serialSync,
  };
  return { value, saved };
}

async function projectsOf(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const project of iterable) out.push(project);
  return out;
}

const LISTING: ProjectListing = {
  lastSerial: 90,
  listed: 4,
  projects: [
    { project: 'old', lastSerial: 10 },
    { project: 'changed', lastSerial: 60 },
    { project: 'brand-new', lastSerial: 80 },
    { project: 'unserialed', lastSerial: null },
  ],
};

describe('planBackfill', () => {
  it('with a stored serial: the projects above it (every one for watch-all, the known ones for seen), then stores the listing\'s', async () => {
    const all = ports(LISTING, ['old', 'changed'], 50);
    const plan = await planBackfill(all.value, index('all'));
    expect(plan.basis).toBe('serials');
    expect(await projectsOf(plan.projects)).toEqual(['changed', 'brand-new', 'unserialed']);
    await plan.done();
    expect(all.saved).toEqual([90]);

    const seen = ports(LISTING, ['old', 'changed'], 50);
    expect(await projectsOf((await planBackfill(seen.value, index('seen'))).projects)).toEqual(['changed']);
  });

  it('without a stored serial: every listed project for watch-all, every known one for seen', async () => {
    const all = ports(LISTING, ['old'], null);
    const plan = await planBackfill(all.value, index('all'));
    expect([plan.basis, await projectsOf(plan.projects)]).toEqual(['listing', ['old', 'changed', 'brand-new', 'unserialed']]);
    const seen = await planBackfill(ports(LISTING, ['old', 'gone'], null).value, index('seen'));
    expect([seen.basis, await projectsOf(seen.projects)]).toEqual(['known projects', ['old', 'gone']]);
  });

  it('a listing serial below the stored one (a stale cache) is bad input: every known project is read, the serial kept', async () => {
    const stale = ports({ ...LISTING, lastSerial: 40 }, ['old'], 50);
    const plan = await planBackfill(stale.value, index('all'));
    expect([plan.basis, await projectsOf(plan.projects)]).toEqual(['known projects', ['old']]);
    await plan.done();
    expect(stale.saved).toEqual([]);
  });

  it('an unreadable listing falls back to the known projects and stores no serial', async () => {
    const broken = ports(new IndexError('INDEX_BAD_BODY', 'root listing is not a JSON object', { url: 'u' }), ['old'], 50);
    const plan = await planBackfill(broken.value, index('all'));
    expect([plan.basis, await projectsOf(plan.projects)]).toEqual(['known projects', ['old']]);
    await plan.done();
    expect(broken.saved).toEqual([]);
  });
});

describe('createBackfillQueue', () => {
  it('runs one backfill per index at a time, in arrival order; other indexes do not wait', async () => {
    const queued = createBackfillQueue();
    const first = new Subject<string>();
    const log: string[] = [];
    const a = firstValueFrom(queued(1, () => (log.push('a starts'), first)).pipe(toArray()));
    const b = firstValueFrom(queued(1, () => (log.push('b starts'), of('b'))).pipe(toArray()));
    const other = await firstValueFrom(queued(2, () => (log.push('other starts'), of('o'))).pipe(toArray()));
    await Promise.resolve();
    expect(other).toEqual(['o']);
    expect(log).toEqual(['a starts', 'other starts']);
    first.next('a');
    first.complete();
    expect(await a).toEqual(['a']);
    expect(await b).toEqual(['b']);
    expect(log).toEqual(['a starts', 'other starts', 'b starts']);
  });

  it('a failed backfill lets the next one run', async () => {
    const queued = createBackfillQueue();
    const failing = firstValueFrom(queued(1, () => { throw new Error('boom'); }));
    await expect(failing).rejects.toThrow('boom');
    expect(await firstValueFrom(queued(1, () => of('next')))).toBe('next');
  });
});
