import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/domain/errors.js';
import type { PackageIndex } from '../../src/domain/types.js';
import {
  listAttention,
  openAttentionCounts,
  recordAttention,
  requestRetry,
  resolveAttention,
} from '../../src/db/attention.js';
import { getCheckpoint, saveCheckpoint } from '../../src/db/checkpoints.js';
import { redactUrl } from '../../src/db/connect.js';
import { addIndex, getIndex, listIndexes, normalizeIndexUrl, setIndexEnabled, warehouseUrls } from '../../src/db/indexes.js';
import { addProject, isKnownProject, listKnownProjects } from '../../src/db/projects.js';
import { recordReleases } from '../../src/db/releases.js';
import { readUnsolvedPage, recordFinished, recordScheduled } from '../../src/db/solver-runs.js';
import type { Queryable } from '../../src/db/sql.js';

/** A release's solver runs as stored, by solver. */
async function listSolverRuns(db: Queryable, releaseId: number) {
  const { rows } = await db.query<{ solver: string; job_name: string | null; state: string; attempts: number; started_at: Date | null; finished_at: Date | null }>(
    'SELECT solver, job_name, state, attempts, started_at, finished_at FROM solver_run WHERE package_version_id = $1 ORDER BY solver',
    [releaseId],
  );
  return rows.map((row) => ({ solver: row.solver, jobName: row.job_name, state: row.state, attempts: row.attempts, startedAt: row.started_at, finishedAt: row.finished_at }));
}
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let pypi: PackageIndex;

beforeAll(async () => {
  db = await createTestDatabase();
  const found = await getIndex(db.pool, 'https://pypi.org/simple/');
  if (!found) throw new Error('no seeded pypi index');
  pypi = found;
});
afterAll(async () => db?.close());

describe('connection URLs', () => {
  it('redacts the password only', () => {
    expect(redactUrl('postgres://app:s3cret@db.example:5432/kb?sslmode=require')).toBe(
      'postgres://app:***@db.example:5432/kb?sslmode=require',
    );
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test');
  });
});

describe('indexes', () => {
  it('normalizes index URLs and derives warehouse URLs from the origin', () => {
    expect(normalizeIndexUrl(' https://Example.test/simple/ ')).toBe('https://example.test/simple');
    expect(warehouseUrls('https://example.test:8443/a/simple')).toEqual({
      jsonApiUrl: 'https://example.test:8443/pypi',
      rssUrl: 'https://example.test:8443/rss',
    });
    expect(() => normalizeIndexUrl('ftp://example.test/simple')).toThrow(BadInputError);
    expect(() => normalizeIndexUrl('not a url')).toThrow(BadInputError);
  });

  it('adds, updates, lists and toggles indexes', async () => {
    const mirror = await addIndex(db.pool, { simpleUrl: 'https://mirror.example.test/simple/', watchMode: 'all' });
    expect(mirror).toMatchObject({
      simpleUrl: 'https://mirror.example.test/simple',
      jsonApiUrl: null,
      rssUrl: null,
      watchMode: 'all',
      enabled: true,
      verifyTls: true,
      created: true,
    });
    const warehouse = await addIndex(db.pool, {
      simpleUrl: 'https://warehouse.example.test/simple',
      warehouse: true,
      enabled: false,
    });
    expect(warehouse).toMatchObject({
      jsonApiUrl: 'https://warehouse.example.test/pypi',
      rssUrl: 'https://warehouse.example.test/rss',
      enabled: false,
      watchMode: 'seen',
    });
    const again = await addIndex(db.pool, { simpleUrl: 'https://mirror.example.test/simple', watchMode: 'seen' });
    expect(again).toMatchObject({ id: mirror.id, created: false, watchMode: 'seen' });

    expect((await listIndexes(db.pool)).map((index) => index.simpleUrl)).toEqual([
      'https://pypi.org/simple',
      'https://mirror.example.test/simple',
      'https://warehouse.example.test/simple',
    ]);
    expect((await listIndexes(db.pool, { enabledOnly: true })).map((index) => index.simpleUrl)).not.toContain(
      'https://warehouse.example.test/simple',
    );
    expect(await setIndexEnabled(db.pool, 'https://warehouse.example.test/simple/', true)).toBe(true);
    expect((await getIndex(db.pool, 'https://warehouse.example.test/simple'))?.enabled).toBe(true);
    expect(await setIndexEnabled(db.pool, 'https://nowhere.example.test/simple', false)).toBe(false);
  });
});

describe('known projects', () => {
  it('registers canonical names, and knows a project with no version yet', async () => {
    expect(await addProject(db.pool, { indexUrl: 'https://pypi.org/simple', project: 'Flask_SQLAlchemy' })).toBe('added');
    expect(await addProject(db.pool, { indexId: pypi.id, project: 'flask.sqlalchemy' })).toBe('known');
    expect(await addProject(db.pool, { indexUrl: 'https://nowhere.example.test/simple', project: 'x' })).toBe('no-index');
    await expect(addProject(db.pool, { indexId: pypi.id, project: '-bad-' })).rejects.toThrow(BadInputError);

    expect(await isKnownProject(db.pool, 'FLASK-sqlalchemy')).toBe(true);
    expect(await isKnownProject(db.pool, 'flask-sqlalchemy', pypi.id)).toBe(true);
    expect(await isKnownProject(db.pool, 'flask-sqlalchemy', pypi.id + 1000)).toBe(false);
    expect(await isKnownProject(db.pool, 'requests')).toBe(false);
  });

  it('knows a project once a release of it is recorded, and pages names in order', async () => {
    await recordReleases(db.pool, pypi.id, 'Requests', [{ version: '2.31.0', files: [] }]);
    expect(await isKnownProject(db.pool, 'requests', pypi.id)).toBe(true);
    for (const name of ['zope', 'attrs', 'numpy']) await addProject(db.pool, { indexId: pypi.id, project: name });
    const first = await listKnownProjects(db.pool, { indexId: pypi.id, limit: 2 });
    expect(first).toEqual(['attrs', 'flask-sqlalchemy']);
    expect(await listKnownProjects(db.pool, { after: first[1] ?? null, limit: 10 })).toEqual(['numpy', 'requests', 'zope']);
  });
});

describe('feed checkpoints', () => {
  it('saves and replaces a checkpoint with its newest items', async () => {
    expect(await getCheckpoint(db.pool, pypi.id, 'updates')).toBeNull();
    const items = [
      { project: 'requests', version: '2.32.0', publishedAt: new Date('2024-05-20T10:00:00Z') },
      { project: 'numpy', version: '2.0.0', publishedAt: new Date('2024-05-20T09:59:00Z') },
    ];
    await saveCheckpoint(db.pool, {
      indexId: pypi.id,
      feed: 'updates',
      etag: '"abc"',
      lastModified: 'Mon, 20 May 2024 10:00:00 GMT',
      newestItems: items,
      newestPublishedAt: new Date('2024-05-20T10:00:00Z'),
    });
    expect(await getCheckpoint(db.pool, pypi.id, 'updates')).toMatchObject({
      etag: '"abc"',
      lastModified: 'Mon, 20 May 2024 10:00:00 GMT',
      newestItems: items,
      newestPublishedAt: new Date('2024-05-20T10:00:00Z'),
    });
    await saveCheckpoint(db.pool, {
      indexId: pypi.id,
      feed: 'updates',
      etag: null,
      lastModified: null,
      newestItems: [{ project: 'attrs', version: null, publishedAt: new Date('2024-05-21T00:00:00Z') }],
      newestPublishedAt: new Date('2024-05-21T00:00:00Z'),
    });
    const saved = await getCheckpoint(db.pool, pypi.id, 'updates');
    expect(saved?.etag).toBeNull();
    expect(saved?.newestItems).toEqual([{ project: 'attrs', version: null, publishedAt: new Date('2024-05-21T00:00:00Z') }]);
    expect(await getCheckpoint(db.pool, pypi.id, 'packages')).toBeNull();
  });
});

describe('attention', () => {
  it('keeps one open row per item, adding attempts, until resolved', async () => {
    const t1 = new Date('2024-05-01T00:00:00Z');
    const t2 = new Date('2024-05-01T01:00:00Z');
    const first = await recordAttention(db.pool, {
      pipeline: 'update',
      itemKey: 'https://pypi.org/simple|requests|2.31.0',
      errorCode: 'INDEX_TIMEOUT',
      errorMessage: 'timed out',
      attempts: 3,
      payload: { releaseId: 1 },
      failedAt: t1,
    });
    expect(first).toMatchObject({ attempts: 3, firstFailedAt: t1, lastFailedAt: t1, resolvedAt: null, payload: { releaseId: 1 } });
    const second = await recordAttention(db.pool, {
      pipeline: 'update',
      itemKey: 'https://pypi.org/simple|requests|2.31.0',
      errorCode: 'INDEX_5XX',
      errorMessage: '503',
      attempts: 3,
      failedAt: t2,
    });
    expect(second).toMatchObject({ id: first.id, attempts: 6, errorCode: 'INDEX_5XX', firstFailedAt: t1, lastFailedAt: t2 });
    expect(second.payload).toEqual({ releaseId: 1 });
    await recordAttention(db.pool, { pipeline: 'dispatch', itemKey: 'k2', errorCode: 'E', errorMessage: 'm' });

    expect(await openAttentionCounts(db.pool)).toEqual({ update: 1, dispatch: 1 });
    expect((await listAttention(db.pool, { pipeline: 'update' })).map((item) => item.id)).toEqual([first.id]);

    expect(await requestRetry(db.pool, first.id)).toBe(true);
    expect((await listAttention(db.pool, { retryRequested: true })).map((item) => item.id)).toEqual([first.id]);

    expect(await resolveAttention(db.pool, { pipeline: 'update', itemKey: 'https://pypi.org/simple|requests|2.31.0' })).toBe(true);
    expect(await resolveAttention(db.pool, first.id)).toBe(false);
    expect(await requestRetry(db.pool, first.id)).toBe(false);
    expect(await openAttentionCounts(db.pool)).toEqual({ dispatch: 1 });

    // A new failure after resolution opens a new row.
    const third = await recordAttention(db.pool, {
      pipeline: 'update',
      itemKey: 'https://pypi.org/simple|requests|2.31.0',
      errorCode: 'E',
      errorMessage: 'again',
    });
    expect(third.id).not.toBe(first.id);
    expect(third.attempts).toBe(1);
    expect((await listAttention(db.pool, { status: 'resolved' })).map((item) => item.id)).toEqual([first.id]);
    expect(await listAttention(db.pool, { status: 'all' })).toHaveLength(3);
  });
});

describe('solver runs', () => {
  it('lists unsolved (release × solver) pairs newest first and records runs idempotently', async () => {
    const index = await addIndex(db.pool, { simpleUrl: 'https://solve.example.test/simple', watchMode: 'all' });
    const recorded = await recordReleases(db.pool, index.id, 'pkg', [
      { version: '1.0', files: [] },
      { version: '2.0', files: [] },
    ]);
    const [v1, v2] = recorded.map((release) => release.id) as [number, number];
    // Only this index: disable the others for the scan.
    await db.pool.query('UPDATE package_index SET enabled = (id = $1)', [index.id]);
    try {
      const solvers = ['solver-b', 'solver-a'];
      const page1 = await readUnsolvedPage(db.pool, { solvers, after: null, limit: 3 });
      expect(page1.items.map((item) => [item.version, item.solver])).toEqual([
        ['2.0', 'solver-a'],
        ['2.0', 'solver-b'],
        ['1.0', 'solver-a'],
      ]);
      expect(page1.items[0]).toMatchObject({ releaseId: v2, indexUrl: 'https://solve.example.test/simple', project: 'pkg' });
      const page2 = await readUnsolvedPage(db.pool, { solvers, after: page1.next, limit: 3 });
      expect(page2.items.map((item) => [item.version, item.solver])).toEqual([['1.0', 'solver-b']]);
      expect(page2.next).toBeNull();

      expect(await recordScheduled(db.pool, { releaseId: v1, solver: 'solver-a', jobName: 'job-1' })).toEqual({ attempts: 1 });
      expect(await recordScheduled(db.pool, { releaseId: v1, solver: 'solver-a', jobName: 'job-1' })).toEqual({ attempts: 1 });
      const after = await readUnsolvedPage(db.pool, { solvers, after: null, limit: 10 });
      expect(after.items.map((item) => [item.version, item.solver])).toEqual([
        ['2.0', 'solver-a'],
        ['2.0', 'solver-b'],
        ['1.0', 'solver-b'],
      ]);

      const started = new Date('2024-05-01T00:00:00Z');
      const finished = new Date('2024-05-01T00:10:00Z');
      expect(await recordFinished(db.pool, { jobName: 'job-1', phase: 'failed', startedAt: started, finishedAt: finished })).toBe(true);
      expect(await recordFinished(db.pool, { jobName: 'job-x', phase: 'failed', startedAt: null, finishedAt: finished })).toBe(false);
      // A retry under a new job name is a new attempt.
      expect(await recordScheduled(db.pool, { releaseId: v1, solver: 'solver-a', jobName: 'job-1-r2' })).toEqual({ attempts: 2 });
      // A finished Job whose scheduling was never recorded is created from its labels.
      expect(
        await recordFinished(db.pool, {
          jobName: 'job-2',
          phase: 'succeeded',
          startedAt: started,
          finishedAt: finished,
          releaseId: v2,
          solver: 'solver-b',
        }),
      ).toBe(true);
      expect(await listSolverRuns(db.pool, v2)).toEqual([
        expect.objectContaining({ solver: 'solver-b', jobName: 'job-2', state: 'succeeded', startedAt: started, finishedAt: finished }),
      ]);
      expect(await listSolverRuns(db.pool, v1)).toEqual([
        expect.objectContaining({ solver: 'solver-a', jobName: 'job-1-r2', state: 'scheduled', attempts: 2, finishedAt: null }),
      ]);
    } finally {
      await db.pool.query('UPDATE package_index SET enabled = true');
    }
  });
});
