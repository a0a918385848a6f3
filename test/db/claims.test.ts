/**
 * Project claims on the real database (src/db/claims.ts): how replicas split an update pass.
 * Two holders claiming the same projects at once get disjoint sets (SKIP LOCKED, one
 * statement each); a live claim is nobody else's, an expired one is; a project checked
 * since the pass began is done; renew, release and leaving behave as named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectClaims, releaseAllClaims } from '../../src/db/claims.js';
import { addIndex, addProject } from '../../src/db/index.js';
import type { ProjectRef } from '../../src/domain/types.js';
import { until } from '../faults/helpers.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let database: TestDatabase;
let refs: ProjectRef[];
const TTL_MS = 60_000;

beforeAll(async () => {
  database = await createTestDatabase();
  const index = await addIndex(database.pool, { simpleUrl: 'https://claims.example/simple' });
  refs = [];
  for (let i = 0; i < 40; i += 1) {
    const project = `claimed-${i}`;
    await addProject(database.pool, { project, indexId: index.id });
    refs.push({ indexId: index.id, indexUrl: index.simpleUrl, project });
  }
});
afterAll(async () => database?.close());

const holders = async () =>
  (await database.pool.query<{ project: string; claimed_by: string | null }>('SELECT project, claimed_by FROM package_project ORDER BY project')).rows;
const names = (list: readonly ProjectRef[]) => list.map((ref) => ref.project).sort();

describe('project claims', () => {
  it('two replicas claiming the same 40 projects at once get disjoint sets that cover them all', async () => {
    const since = new Date();
    const a = projectClaims(database.pool, 'replica-a', TTL_MS);
    const b = projectClaims(database.pool, 'replica-b', TTL_MS);
    const rounds = await Promise.all([0, 1, 2, 3].map((i) => (i % 2 === 0 ? a : b).claim(refs.slice(i * 5, i * 5 + 25), since)));
    const byA = [...rounds[0]!, ...rounds[2]!];
    const byB = [...rounds[1]!, ...rounds[3]!];
    expect(names(byA).filter((name) => names(byB).includes(name))).toEqual([]);
    expect(new Set([...names(byA), ...names(byB)]).size).toBe(40);
    // A live claim is its holder's: the other gets none of them, the holder gets them again.
    expect(await b.claim(byA, since)).toEqual([]);
    expect(names(await a.claim(byA, since))).toEqual(names(byA));
    await a.release(byA);
    await b.release(byB);
    expect((await holders()).filter((row) => row.claimed_by !== null)).toEqual([]);
  });

  it('an expired claim (a replica that died) is taken by another; a renewed one is not', async () => {
    const since = new Date();
    const dead = projectClaims(database.pool, 'replica-dead', 300);
    const alive = projectClaims(database.pool, 'replica-alive', 300);
    const other = projectClaims(database.pool, 'replica-other', TTL_MS);
    expect(await dead.claim(refs.slice(0, 3), since)).toHaveLength(3);
    expect(await alive.claim(refs.slice(3, 6), since)).toHaveLength(3);
    await until('both replicas\' claims expired', async () => (await database.pool.query('SELECT 1 FROM package_project WHERE claim_expires_at < now()')).rowCount === 6);
    // The live replica renews (its renewals use its TTL: a minute here); the dead one cannot.
    await projectClaims(database.pool, 'replica-alive', TTL_MS).renew(refs.slice(3, 6));
    expect(names(await other.claim(refs.slice(0, 6), since))).toEqual(names(refs.slice(0, 3)));
    await releaseAllClaims(database.pool, 'replica-other');
    await releaseAllClaims(database.pool, 'replica-alive');
    expect((await holders()).filter((row) => row.claimed_by !== null)).toEqual([]);
  });

  it('a project checked (or first seen) since the pass began is nobody\'s to claim', async () => {
    const since = new Date(Date.now() - 1000);
    const [checked, seen, due] = refs.slice(10, 13) as [ProjectRef, ProjectRef, ProjectRef];
    await database.pool.query(
      `INSERT INTO package_version (index_id, project, version, first_seen_at, last_checked_at, next_due_at) VALUES
         ($1, $2, '1.0', now() - interval '1 day', now(), now() + interval '1 day'),
         ($1, $3, '1.0', now(), NULL, now()),
         ($1, $4, '1.0', now() - interval '1 day', now() - interval '1 hour', now())`,
      [checked.indexId, checked.project, seen.project, due.project],
    );
    const claims = projectClaims(database.pool, 'replica-c', TTL_MS);
    expect(names(await claims.claim([checked, seen, due], since))).toEqual([due.project]);
    await claims.release([due]);
  });
});
