/**
 * Two replicas' update passes over one database and one index at the same time (issue 17):
 * each claims its projects (src/db/claims.ts through claimedScan), so every project page is
 * requested once in the pass, by one of them, and both take a share. The real database, the
 * index peer over HTTP, the real index client; a replica that died holding claims loses
 * them at their expiry and the others check those projects.
 */
import { asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { projectClaims } from '../../src/db/claims.js';
import { addIndex, addProject } from '../../src/db/index.js';
import type { PackageIndex, ProjectRef } from '../../src/domain/types.js';
import { updatePass, type UpdateOptions, type UpdateOutcome } from '../../src/pipelines/update.js';
import { createIndexClient } from '../../src/sources/index-client/index.js';
import { createPackageStore, createPageValidatorStore } from '../../src/sinks/store-sink.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

const PROJECTS = 60;
const OPTIONS: UpdateOptions = { concurrency: 3, pageSize: 10, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 }, deferOnFailureMs: 3_600_000 };

let database: TestDatabase;
let server: IndexServer;
let index: PackageIndex;
const pages = new Map<string, number>();

beforeEach(async () => {
  pages.clear();
  database = await createTestDatabase();
  server = await startIndexServer({ onRequest: ({ path }) => path.startsWith('/simple/') && path !== '/simple/' && pages.set(path, (pages.get(path) ?? 0) + 1) });
  server.setLatency(20);
  // A plain simple index (no feeds): the first pass reads every registered project's page.
  index = await addIndex(database.pool, { simpleUrl: server.packageIndex().simpleUrl, watchMode: 'seen' });
  for (let i = 0; i < PROJECTS; i += 1) {
    server.addRelease(`shared.pkg-${i}`, '1.0');
    await addProject(database.pool, { project: `shared.pkg-${i}`, indexId: index.id });
  }
});
afterEach(async () => {
  await server.stop();
  await database.close();
});

/** One replica: its own index client and store, its claims under its own id. */
function replica(id: string, options: Partial<UpdateOptions> = {}) {
  const client = createIndexClient({ version: 'test' });
  const ports = {
    store: createPackageStore(database.pool),
    index: client,
    scheduler: asyncScheduler,
    validators: createPageValidatorStore(database.pool),
    claims: projectClaims(database.pool, id, 10_000),
  };
  return {
    pass: async (all = false) => {
      const outcomes = await lastValueFrom(updatePass(ports, { ...OPTIONS, ...options, all }).pipe(toArray()));
      return outcomes;
    },
    close: () => client.close(),
  };
}

const checked = (outcomes: readonly UpdateOutcome[]) => outcomes.filter((o) => o.type === 'checked').map((o) => (o as { project: string }).project);
const claimedRows = async () => (await database.pool.query('SELECT 1 FROM package_project WHERE claimed_by IS NOT NULL')).rowCount;

describe('update passes of two replicas at once', () => {
  it('each project page is requested once per pass, and both replicas take a share', async () => {
    const [a, b] = [replica('replica-a'), replica('replica-b')];
    const firstA = a.pass();
    const firstB = b.pass();
    const [outA, outB] = await Promise.all([firstA, firstB]);
    const recorded = (await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM package_version')).rows[0]?.n;
    expect(recorded).toBe(PROJECTS);
    expect(checked(outA).length + checked(outB).length).toBe(PROJECTS);
    expect([...pages.values()].every((n) => n === 1)).toBe(true);
    expect(pages.size).toBe(PROJECTS);
    const firstShare = [checked(outA).length, checked(outB).length];

    // A full re-check (--all) of the recorded releases: the same split, one request each.
    pages.clear();
    const [againA, againB] = await Promise.all([a.pass(true), b.pass(true)]);
    const skippedByClaim = [...againA, ...againB].filter((o) => o.type === 'skipped' && o.reason === 'project-claimed').length;
    expect(checked(againA).length + checked(againB).length).toBe(PROJECTS);
    expect(pages.size).toBe(PROJECTS);
    expect(Math.max(...pages.values())).toBe(1);
    expect(await claimedRows()).toBe(0);
    console.info(
      `[pipelines/update-replicas] ${PROJECTS} projects: first pass checked ${firstShare.join(' + ')}, ` +
        `re-check ${checked(againA).length} + ${checked(againB).length}, ${skippedByClaim} rows skipped as the other's, ` +
        `${[...pages.values()].reduce((x, y) => x + y, 0)} page requests`,
    );
    expect(Math.min(checked(againA).length, checked(againB).length)).toBeGreaterThan(0);
    await Promise.all([a.close(), b.close()]);
  });

  it("a dead replica's claims run out and another replica checks those projects", async () => {
    const refs: ProjectRef[] = Array.from({ length: 5 }, (_, i) => ({ indexId: index.id, indexUrl: index.simpleUrl, project: `shared-pkg-${i}` }));
    expect(await projectClaims(database.pool, 'replica-dead', 60_000).claim(refs, new Date(Date.now() - 1000))).toHaveLength(5);
    const alive = replica('replica-alive');
    // While the dead replica's claims hold, its 5 projects are not the live one's.
    const first = await alive.pass();
    expect(checked(first)).toHaveLength(PROJECTS - 5);
    // The minute passes without a renewal from the dead replica.
    await database.pool.query("UPDATE package_project SET claim_expires_at = now() - interval '1 second' WHERE claimed_by = 'replica-dead'");
    const second = await alive.pass();
    expect(checked(second).sort()).toEqual(refs.map((ref) => ref.project).sort());
    await alive.close();
  });
});
