import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageStore } from '../../src/domain/ports.js';
import type { IndexFile, PackageIndex, StoredRelease } from '../../src/domain/types.js';
import { addIndex } from '../../src/db/indexes.js';
import { PkgstreamError } from '../../src/domain/errors.js';
import { createPackageStore, retriableDbErrors } from '../../src/sinks/store-sink.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { loadProjectDetail } from '../../src/db/project-catalog.js';
import { DEFAULT_PRIORITY } from '../../src/db/priority.js';

const HOUR = 3_600_000;
const sha = (c: string) => c.repeat(64);

function file(filename: string, hash: string | null, uploadTime: string | null = '2024-05-01T10:00:00Z'): IndexFile {
  return { filename, sha256: hash, yanked: false, yankedReason: null, uploadTime, size: 1 };
}

let db: TestDatabase;
let store: PackageStore;
let index: PackageIndex;
const t0 = new Date('2024-05-01T12:00:00Z');

beforeAll(async () => {
  db = await createTestDatabase();
  store = createPackageStore(db.pool, { now: () => t0 });
  index = await addIndex(db.pool, { simpleUrl: 'https://store.example.test/simple', watchMode: 'all' });
});
afterAll(async () => db?.close());

async function load(project: string, version: string): Promise<StoredRelease> {
  const release = await store.loadRelease(index.id, project, version);
  if (!release) throw new Error(`no ${project} ${version}`);
  return release;
}

describe('recording releases', () => {
  it('creates a release with its artifacts once; a replay changes nothing', async () => {
    const release = { version: '1.0.0', files: [file('demo-1.0.0.tar.gz', sha('A')), file('demo-1.0.0-py3-none-any.whl', sha('b'))] };
    const first = await store.recordRelease(index, 'Demo', release);
    expect(first).toMatchObject({ version: '1.0.0', created: true });
    const again = await store.recordRelease(index, 'demo', release);
    expect(again).toEqual({ id: first.id, version: '1.0.0', created: false });

    const stored = await load('DEMO', '1.0.0');
    expect(stored).toMatchObject({
      id: first.id,
      indexId: index.id,
      indexUrl: 'https://store.example.test/simple',
      project: 'demo',
      version: '1.0.0',
      state: 'present',
      yankedReason: null,
      lastCheckedAt: null,
    });
    expect(stored.artifacts).toEqual([
      { filename: 'demo-1.0.0-py3-none-any.whl', sha256: sha('b') },
      { filename: 'demo-1.0.0.tar.gz', sha256: sha('a') },
    ]);
    // Released just before it was seen: boosted, due well before the recheck interval.
    expect(stored.nextDueAt.getTime()).toBeGreaterThan(t0.getTime());
    expect(stored.nextDueAt.getTime()).toBeLessThan(t0.getTime() + 48 * HOUR);
    expect(await store.isKnownProject('demo', index.id)).toBe(true);
  });

  it('records a whole project page in one call, in input order, idempotently', async () => {
    const releases = [
      { version: '2.0', files: [file('many-2.0.tar.gz', sha('c'))] },
      { version: '1.0', files: [file('many-1.0.tar.gz', null)] },
      { version: '2.0', files: [] },
      { version: '3.0rc1', files: [] },
    ];
    const first = await store.recordReleases(index, 'many', releases);
    expect(first.map((r) => [r.version, r.created])).toEqual([
      ['2.0', true],
      ['1.0', true],
      ['3.0rc1', true],
    ]);
    const replay = await store.recordReleases(index, 'many', [...releases, { version: '4.0', files: [] }]);
    expect(replay.map((r) => [r.version, r.created])).toEqual([
      ['2.0', false],
      ['1.0', false],
      ['3.0rc1', false],
      ['4.0', true],
    ]);
    expect(replay[0]?.id).toBe(first[0]?.id);
    // A file without a sha256 is stored with a null digest (so a digest that appears later is learned, not a mismatch).
    expect((await load('many', '1.0')).artifacts).toEqual([{ filename: 'many-1.0.tar.gz', sha256: null }]);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM package_version WHERE project = $1', ['many']);
    expect(rows[0]).toEqual({ n: 4 });
  });

  it('rejects a malformed sha256 as bad input and writes nothing', async () => {
    await expect(store.recordRelease(index, 'broken', { version: '1', files: [file('b.whl', 'xyz')] })).rejects.toMatchObject({
      code: 'BAD_SHA256',
    });
    expect(await store.loadRelease(index.id, 'broken', '1')).toBeNull();
  });
});

describe('applying checks', () => {
  it('walks a release through missing, reappeared, yanked, unyanked and a hash change', async () => {
    const { id } = await store.recordRelease(index, 'walk', { version: '1.0', files: [file('walk-1.0.tar.gz', sha('1'))] });
    const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);

    const unchanged = await store.applyCheck(id, { checkedAt: at(1), changes: [{ kind: 'unchanged' }], files: [file('walk-1.0.tar.gz', sha('1'))] });
    expect(unchanged).toMatchObject({ state: 'present', changed: false });
    let stored = await load('walk', '1.0');
    expect(stored.lastCheckedAt).toEqual(at(1));
    expect(stored.nextDueAt).toEqual(unchanged.nextDueAt);

    const missing = await store.applyCheck(id, { checkedAt: at(2), changes: [{ kind: 'missing-version' }], files: null });
    expect(missing).toMatchObject({ state: 'missing', changed: true });
    // Replaying the same check is harmless.
    expect(await store.applyCheck(id, { checkedAt: at(2), changes: [{ kind: 'missing-version' }], files: null })).toMatchObject({
      state: 'missing',
      changed: false,
    });
    expect((await load('walk', '1.0')).artifacts).toHaveLength(1);

    const back = await store.applyCheck(id, {
      checkedAt: at(3),
      changes: [{ kind: 'reappeared' }, { kind: 'package-yanked', reason: 'broken build' }],
      files: [file('walk-1.0.tar.gz', sha('1'))],
    });
    expect(back).toMatchObject({ state: 'yanked', changed: true });
    stored = await load('walk', '1.0');
    expect(stored).toMatchObject({ state: 'yanked', yankedReason: 'broken build' });

    expect(await store.applyCheck(id, { checkedAt: at(4), changes: [{ kind: 'package-unyanked' }], files: null })).toMatchObject({
      state: 'present',
      changed: true,
    });
    expect((await load('walk', '1.0')).yankedReason).toBeNull();

    const mismatch = {
      checkedAt: at(5),
      changes: [{ kind: 'hash-mismatch' as const, missingFromSource: [sha('1')], missingFromDatabase: [sha('2')] }],
      files: [file('walk-1.0.tar.gz', sha('2')), file('walk-1.0-py3-none-any.whl', sha('3'))],
    };
    expect(await store.applyCheck(id, mismatch)).toMatchObject({ state: 'present', changed: true });
    expect((await load('walk', '1.0')).artifacts).toEqual([
      { filename: 'walk-1.0-py3-none-any.whl', sha256: sha('3') },
      { filename: 'walk-1.0.tar.gz', sha256: sha('2') },
    ]);
    expect(await store.applyCheck(id, mismatch)).toMatchObject({ changed: false });

    // A file the index dropped stays in the table, no longer present.
    await store.applyCheck(id, {
      checkedAt: at(6),
      changes: [{ kind: 'hash-mismatch', missingFromSource: [sha('3')], missingFromDatabase: [] }],
      files: [file('walk-1.0.tar.gz', sha('2'))],
    });
    expect((await load('walk', '1.0')).artifacts).toEqual([{ filename: 'walk-1.0.tar.gz', sha256: sha('2') }]);
    const { rows } = await db.pool.query(
      'SELECT filename, present FROM artifact WHERE package_version_id = $1 ORDER BY filename',
      [id],
    );
    expect(rows).toEqual([
      { filename: 'walk-1.0-py3-none-any.whl', present: false },
      { filename: 'walk-1.0.tar.gz', present: true },
    ]);
    const times = await db.pool.query('SELECT last_checked_at, last_changed_at FROM package_version WHERE id = $1', [id]);
    expect(times.rows[0]).toEqual({ last_checked_at: at(6), last_changed_at: at(6) });
  });

  it('computes the next due time from the priority, resets manual priority, honours an override and a deferral', async () => {
    const { id } = await store.recordRelease(index, 'due', { version: '1', files: [] }, { releasedAt: null });
    await db.pool.query('UPDATE package_version SET manual_priority = 1000 WHERE id = $1', [id]);
    const checked = new Date('2024-06-01T00:00:00Z');
    const applied = await store.applyCheck(id, { checkedAt: checked, changes: [], files: [] });
    // Manual priority applies no more after the check: nothing recent, so the full interval.
    expect(applied.nextDueAt).toEqual(new Date(checked.getTime() + 168 * HOUR));
    const { rows } = await db.pool.query('SELECT manual_priority FROM package_version WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ manual_priority: 0 });

    const override = new Date('2024-06-02T00:00:00Z');
    expect((await store.applyCheck(id, { checkedAt: checked, changes: [], files: [], nextDueAt: override })).nextDueAt).toEqual(override);
    const later = new Date('2024-07-01T00:00:00Z');
    await store.deferCheck(id, later);
    expect((await load('due', '1')).nextDueAt).toEqual(later);
    await expect(store.applyCheck(987654321, { checkedAt: checked, changes: [], files: null })).rejects.toMatchObject({
      code: 'RELEASE_NOT_FOUND',
    });
  });
});

describe('applying a project\'s checks in one call', () => {
  /** The row versions of a release's artifacts: a write of any of them changes its xmin. */
  const artifactVersions = async (id: number) =>
    (await db.pool.query<{ xmin: string }>('SELECT xmin::text AS xmin FROM artifact WHERE package_version_id = $1 ORDER BY id', [id])).rows.map(
      (row) => row.xmin,
    );

  it('records unchanged and changed releases together, in input order, the same as one by one', async () => {
    const releases = await store.recordReleases(index, 'batch', [
      { version: '1.0', files: [file('batch-1.0.tar.gz', sha('1'))] },
      { version: '2.0', files: [file('batch-2.0.tar.gz', sha('2'))] },
      { version: '3.0', files: [file('batch-3.0.tar.gz', sha('3'))] },
    ]);
    const [one, two, three] = releases.map((release) => release.id) as [number, number, number];
    const checkedAt = new Date('2024-06-01T00:00:00Z');
    const unchangedBefore = await artifactVersions(one);
    const applied = await store.applyChecks([
      { release: three, check: { checkedAt, changes: [{ kind: 'missing-version' }], files: null } },
      { release: one, check: { checkedAt, changes: [{ kind: 'unchanged' }], files: [file('batch-1.0.tar.gz', sha('1'))] } },
      {
        release: two,
        check: {
          checkedAt,
          changes: [{ kind: 'hash-mismatch', missingFromSource: [sha('2')], missingFromDatabase: [sha('9')] }],
          files: [file('batch-2.0.tar.gz', sha('9'))],
        },
      },
    ]);
    expect(applied.map((result) => [result.state, result.changed])).toEqual([
      ['missing', true],
      ['present', false],
      ['present', true],
    ]);
    expect((await load('batch', '2.0')).artifacts).toEqual([{ filename: 'batch-2.0.tar.gz', sha256: sha('9') }]);
    expect((await load('batch', '3.0')).state).toBe('missing');
    // An unchanged check writes no artifact row (a 1M-release pass used to rewrite 2M of them).
    expect(await artifactVersions(one)).toEqual(unchangedBefore);
    for (const version of ['1.0', '2.0', '3.0']) expect((await load('batch', version)).lastCheckedAt).toEqual(checkedAt);
    // The same check of one release alone gives the same answer.
    expect(await store.applyCheck(one, { checkedAt, changes: [{ kind: 'unchanged' }], files: null })).toEqual(applied[1]);
  });

  it('shows a listed file as seen at its release\'s last check, and a vanished one at the check before', async () => {
    const [release] = await store.recordReleases(index, 'sighted', [{ version: '1.0', files: [file('sighted-1.0.tar.gz', sha('1'))] }]);
    const id = release!.id;
    const seenOf = async () => (await loadProjectDetail(db.pool, { indexId: index.id, project: 'sighted' }, DEFAULT_PRIORITY))!.releases[0]!.digests[0]!.lastSeenAt;
    const later = new Date(Date.now() + HOUR);
    await store.applyCheck(id, { checkedAt: later, changes: [{ kind: 'unchanged' }], files: [file('sighted-1.0.tar.gz', sha('1'))] });
    expect(await seenOf()).toBe(later.toISOString());
    // Gone from the index an hour after that: last seen at the unchanged check.
    await store.applyCheck(id, { checkedAt: new Date(later.getTime() + HOUR), changes: [{ kind: 'missing-version' }], files: null });
    expect(await seenOf()).toBe(later.toISOString());
  });

  it('writes nothing of the batch when one release is unknown or a hash is malformed', async () => {
    const [release] = await store.recordReleases(index, 'atomic', [{ version: '1.0', files: [file('atomic-1.0.tar.gz', sha('1'))] }]);
    const id = release!.id;
    const checkedAt = new Date('2024-06-01T00:00:00Z');
    const unchanged = { checkedAt, changes: [{ kind: 'unchanged' as const }], files: null };
    await expect(store.applyChecks([{ release: id, check: unchanged }, { release: 987654321, check: unchanged }])).rejects.toMatchObject({
      code: 'RELEASE_NOT_FOUND',
    });
    const yanked = { checkedAt, changes: [{ kind: 'package-yanked' as const, reason: 'bad' }], files: [file('atomic-1.0.tar.gz', 'not-a-hash')] };
    await expect(store.applyChecks([{ release: id, check: yanked }])).rejects.toMatchObject({ code: 'BAD_SHA256' });
    expect(await load('atomic', '1.0')).toMatchObject({ state: 'present', lastCheckedAt: null });
    await expect(store.applyChecks([{ release: id, check: unchanged }, { release: id, check: unchanged }])).rejects.toThrow(/once per call/);
    expect(await store.applyChecks([])).toEqual([]);
  });
});

describe('checkpoints, attention and solver runs through the store', () => {
  it('round-trips a checkpoint and an attention item', async () => {
    await store.saveCheckpoint({
      indexId: index.id,
      feed: 'packages',
      etag: 'W/"1"',
      lastModified: null,
      newestItems: [{ project: 'new-thing', version: null, publishedAt: t0 }],
      newestPublishedAt: t0,
    });
    expect((await store.getCheckpoint(index.id, 'packages'))?.newestItems).toEqual([
      { project: 'new-thing', version: null, publishedAt: t0 },
    ]);
    const item = await store.recordAttention({ pipeline: 'releases', itemKey: 'k', errorCode: 'E', errorMessage: 'boom' });
    expect(item.lastFailedAt).toEqual(t0);
    expect((await store.recordAttention({ pipeline: 'releases', itemKey: 'k', errorCode: 'E', errorMessage: 'boom' })).attempts).toBe(2);
    expect(await store.openAttentionCounts()).toEqual({ releases: 1 });
    expect(await store.resolveAttention(item.id)).toBe(true);
    expect(await store.listAttention()).toEqual([]);
  });

  it('scans unsolved pairs and records runs', async () => {
    const solvers = ['solver-fedora-38-py311'];
    const before: string[] = [];
    for await (const item of store.scanUnsolved({ solvers, pageSize: 2 })) before.push(`${item.project}==${item.version}`);
    expect(before.length).toBeGreaterThan(3);
    const page = await store.unsolvedPage({ solvers, after: null, limit: 1 });
    const first = page.items[0];
    if (!first) throw new Error('nothing unsolved');
    expect(await store.recordScheduled({ releaseId: first.releaseId, solver: first.solver, jobName: 'j1' })).toEqual({ attempts: 1 });
    expect(await store.recordFinished({ jobName: 'j1', phase: 'succeeded', startedAt: t0, finishedAt: t0 })).toBe(true);
    const after: string[] = [];
    for await (const item of store.scanUnsolved({ solvers, pageSize: 2 })) after.push(`${item.project}==${item.version}`);
    expect(after).toEqual(before.filter((key) => key !== `${first.project}==${first.version}`));
  });

  it('pages known projects', async () => {
    const names: string[] = [];
    for await (const name of store.knownProjects({ indexId: index.id, pageSize: 2 })) names.push(name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['demo', 'many', 'walk', 'due']));
  });
});

describe('database errors the pipelines may retry', () => {
  const pgError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

  it.each([
    ['terminating connection due to administrator command', '57P01', 'DB_UNAVAILABLE'],
    ['Connection terminated unexpectedly', undefined, 'DB_UNAVAILABLE'],
    ['connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED', 'DB_UNAVAILABLE'],
    ['deadlock detected', '40P01', 'DB_CONFLICT'],
    ['could not serialize access', '40001', 'DB_CONFLICT'],
  ])('%s becomes a retriable %s', async (message, code, expected) => {
    const error = await retriableDbErrors(Promise.reject(pgError(message, code))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PkgstreamError);
    expect(error).toMatchObject({ code: expected, retriable: true });
  });

  it('passes other errors through', async () => {
    const original = pgError('duplicate key value violates unique constraint', '23505');
    await expect(retriableDbErrors(Promise.reject(original))).rejects.toBe(original);
  });
});
