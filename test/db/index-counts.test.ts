/**
 * index_counts (migration 0011) stays equal to count(*) through what the writers do: new
 * projects and releases, repeats of the same upsert, a project deleted with its releases
 * (a cascade), an index deleted, a new index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listIndexOverviews } from '../../src/db/index-overview.js';
import { addIndex } from '../../src/db/indexes.js';
import { addProject } from '../../src/db/projects.js';
import { recordReleases } from '../../src/db/releases.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.close();
});

async function countsOf(indexId: number) {
  const overview = (await listIndexOverviews(db.pool)).find((index) => index.id === indexId);
  const { rows } = await db.pool.query<{ projects: number; releases: number }>(
    `SELECT (SELECT count(*)::int FROM package_project WHERE index_id = $1) AS projects,
            (SELECT count(*)::int FROM package_version WHERE index_id = $1) AS releases`,
    [indexId],
  );
  return { kept: { projects: overview?.projects, releases: overview?.releases }, counted: rows[0] };
}

describe('index_counts', () => {
  it('follows inserts, repeated upserts, cascaded deletes and a new index', async () => {
    const index = await addIndex(db.pool, { simpleUrl: 'http://counts.example/simple' });
    expect((await countsOf(index.id)).kept).toEqual({ projects: 0, releases: 0 });

    await addProject(db.pool, { project: 'alpha', indexId: index.id });
    await recordReleases(db.pool, index.id, 'alpha', [{ version: '1.0', files: [] }, { version: '1.1', files: [] }]);
    await recordReleases(db.pool, index.id, 'Beta.Pkg', [{ version: '2.0', files: [] }]);
    // The same releases again: the upserts insert nothing, the counts do not move.
    await recordReleases(db.pool, index.id, 'alpha', [{ version: '1.0', files: [] }, { version: '1.1', files: [] }]);
    let counts = await countsOf(index.id);
    expect(counts.kept).toEqual({ projects: 2, releases: 3 });
    expect(counts.kept).toEqual(counts.counted);

    await db.pool.query("DELETE FROM package_version WHERE index_id = $1 AND project = 'alpha' AND version = '1.0'", [index.id]);
    await db.pool.query("DELETE FROM package_project WHERE index_id = $1 AND project = 'beta-pkg'", [index.id]);
    counts = await countsOf(index.id);
    expect(counts.kept).toEqual(counts.counted);

    const other = await addIndex(db.pool, { simpleUrl: 'http://counts-other.example/simple' });
    await recordReleases(db.pool, other.id, 'alpha', [{ version: '9', files: [] }]);
    expect((await countsOf(other.id)).kept).toEqual({ projects: 1, releases: 1 });
    expect((await countsOf(index.id)).kept).toEqual(counts.counted);

    await db.pool.query('DELETE FROM package_index WHERE id = $1', [other.id]);
    const { rows } = await db.pool.query('SELECT 1 FROM index_counts WHERE index_id = $1', [other.id]);
    expect(rows).toEqual([]);
  });
});
