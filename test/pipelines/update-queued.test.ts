/**
 * The re-checks a serial sync queues (queueRecheck: the project's serial rose) come first in
 * an update pass, the most recently queued first, and go through the `changes` client (under
 * `run`: outside the verification share of the rate), ahead of rows overdue for verification.
 * A check clears the queue mark, and so does a failed check's deferral. Real database, the
 * index peer over HTTP, the real index client.
 */
import { asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addIndex, addProject } from '../../src/db/index.js';
import { deferCheck, queueRecheck } from '../../src/db/releases.js';
import type { IndexClient } from '../../src/domain/ports.js';
import type { PackageIndex } from '../../src/domain/types.js';
import { updatePass, type UpdateOptions, type UpdateOutcome } from '../../src/pipelines/update.js';
import { createIndexClient } from '../../src/sources/index-client/index.js';
import { createPackageStore, createPageValidatorStore } from '../../src/sinks/store-sink.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

const OPTIONS: UpdateOptions = { concurrency: 1, pageSize: 5, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 }, deferOnFailureMs: 3_600_000 };
let database: TestDatabase;
let server: IndexServer;
let index: PackageIndex;
let client: ReturnType<typeof createIndexClient>;

beforeEach(async () => {
  database = await createTestDatabase();
  server = await startIndexServer();
  client = createIndexClient({ version: 'test' });
  index = await addIndex(database.pool, { simpleUrl: server.packageIndex().simpleUrl, watchMode: 'seen' });
  for (let i = 0; i < 12; i += 1) {
    server.addRelease(`queued-${i}`, '1.0');
    await addProject(database.pool, { project: `queued-${i}`, indexId: index.id });
  }
});
afterEach(async () => {
  await client.close();
  await server.stop();
  await database.close();
});

/** The real client, its project requests named as they go. */
const counting = (asked: string[]): Pick<IndexClient, 'fetchProject'> => ({ fetchProject: (i, project, validators) => (asked.push(project), client.fetchProject(i, project, validators)) });

const pass = async (changes?: Pick<IndexClient, 'fetchProject'>) => {
  const ports = { store: createPackageStore(database.pool), index: client, scheduler: asyncScheduler, validators: createPageValidatorStore(database.pool), ...(changes ? { changes } : {}) };
  return lastValueFrom(updatePass(ports, OPTIONS).pipe(toArray()));
};
const checkedOrder = (outcomes: readonly UpdateOutcome[]) => outcomes.flatMap((o) => (o.type === 'checked' ? [o.project] : []));
const queuedRows = async () => (await database.pool.query<{ project: string }>('SELECT project FROM package_version WHERE recheck_queued_at IS NOT NULL ORDER BY project')).rows.map((r) => r.project);

describe('re-checks a serial sync queued', () => {
  it('go first, the most recently queued first, through the changes client; the check clears them', async () => {
    await pass(); // records the 12 projects' releases
    // Every release overdue for verification, the oldest due first; then two queued, 7 after 3.
    await database.pool.query(`UPDATE package_version SET next_due_at = now() - interval '1 day' - (substring(project from 8)::int * interval '1 minute')`);
    await queueRecheck(database.pool, index.id, 'queued-3', new Date(Date.now() - 2000), 40);
    await queueRecheck(database.pool, index.id, 'queued-7', new Date(Date.now() - 1000), 41);
    expect(await queuedRows()).toEqual(['queued-3', 'queued-7']);
    const asked: string[] = [];
    const outcomes = await pass(counting(asked));
    const order = checkedOrder(outcomes);
    expect(order.slice(0, 2)).toEqual(['queued-7', 'queued-3']);
    expect(order).toHaveLength(12);
    expect(asked).toEqual(['queued-7', 'queued-3']);
    expect(await queuedRows()).toEqual([]);
    const done = outcomes.at(-1);
    // Checked first, the queued rows are no longer due when the due scan reaches them: 12 rows, 12 requests.
    expect(done).toMatchObject({ type: 'pass-complete', rows: 12, projects: 12, requests: 12 });
  });

  it("a failed check's deferral clears the mark: the project waits its deferral, not the next pass", async () => {
    await pass();
    await queueRecheck(database.pool, index.id, 'queued-5', new Date(), null);
    const { rows } = await database.pool.query<{ id: string }>("SELECT id FROM package_version WHERE project = 'queued-5'");
    await deferCheck(database.pool, Number(rows[0]!.id), new Date(Date.now() + 3_600_000));
    expect(await queuedRows()).toEqual([]);
  });
});
