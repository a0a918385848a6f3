/**
 * The `event` table as the transactional outbox, on a real database: a write stores the
 * events it announces only when it changed the row (a replay, or a row another writer
 * created first, announces nothing); the relay publishes unsent rows in id order and marks
 * them sent, leaving them unsent when the sink fails; sent rows older than the retention are
 * deleted in bounded batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteSentBefore, insertEvents, markSent, readUnsent } from '../../src/db/events.js';
import { addIndex } from '../../src/db/indexes.js';
import { applyChecks } from '../../src/db/release-checks.js';
import { recordReleases } from '../../src/db/releases.js';
import { recordFinished, recordScheduled } from '../../src/db/solver-runs.js';
import type { OutboxEvent } from '../../src/domain/event-record.js';
import type { PackageEvent, PackageIndex } from '../../src/domain/types.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createEventRelay } from '../../src/sinks/event-relay.js';
import { until } from '../faults/helpers.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let index: PackageIndex;
const DAY = 86_400_000;

beforeAll(async () => {
  db = await createTestDatabase();
  index = await addIndex(db.pool, { simpleUrl: 'https://outbox.test/simple' });
});
afterAll(async () => db?.close());

const released = (project: string) => (version: string): PackageEvent[] => [{ kind: 'package-released', indexUrl: index.simpleUrl, project, version }];

async function rows(project: string): Promise<{ kind: string; event_key: string; sent: boolean }[]> {
  const { rows: found } = await db.pool.query<{ kind: string; event_key: string; sent: boolean }>(
    'SELECT kind, event_key, sent_at IS NOT NULL AS sent FROM event WHERE project = $1 ORDER BY id',
    [project],
  );
  return found;
}

describe('writes announce only what they changed', () => {
  it('recordReleases announces the versions it created, once: a replay and a second writer announce nothing', async () => {
    const files = [{ filename: 'once-1.0.tar.gz', sha256: 'a'.repeat(64), yanked: false, yankedReason: null, uploadTime: null, size: null }];
    const first = await recordReleases(db.pool, index.id, 'once', [{ version: '1.0', files }], { announce: released('once') });
    // The other pipeline found the same release, and a new one, at the same time.
    const second = await recordReleases(db.pool, index.id, 'once', [{ version: '1.0', files }, { version: '2.0', files: [] }], { announce: released('once') });
    expect(first.map((r) => r.created)).toEqual([true]);
    expect(second.map((r) => r.created)).toEqual([false, true]);
    expect(await rows('once')).toEqual([
      { kind: 'package-released', event_key: `${index.simpleUrl}|once|1.0`, sent: false },
      { kind: 'package-released', event_key: `${index.simpleUrl}|once|2.0`, sent: false },
    ]);
  });

  it('applyChecks writes a change event with the change, and not again when the same check is replayed', async () => {
    const [recorded] = await recordReleases(db.pool, index.id, 'gone', [{ version: '1.0', files: [] }]);
    const check = {
      checkedAt: new Date(),
      changes: [{ kind: 'missing-version' as const }],
      files: null,
      events: [{ kind: 'missing-version' as const, indexUrl: index.simpleUrl, project: 'gone', version: '1.0' }],
    };
    const [applied] = await applyChecks(db.pool, [{ releaseId: recorded!.id, check }]);
    const [replayed] = await applyChecks(db.pool, [{ releaseId: recorded!.id, check }]);
    expect([applied?.changed, replayed?.changed]).toEqual([true, false]);
    expect((await rows('gone')).map((row) => row.kind)).toEqual(['missing-version']);
  });

  it('solver runs announce solver-scheduled and solver-finished keyed by solver, not on a replay', async () => {
    const [recorded] = await recordReleases(db.pool, index.id, 'solved', [{ version: '1.0', files: [] }]);
    const releaseId = recorded!.id;
    const solverEvent = (kind: 'solver-scheduled' | 'solver-finished', solver: string): PackageEvent => ({ kind, indexUrl: index.simpleUrl, project: 'solved', version: '1.0', solver, fields: { job_name: `job-${solver}` } });
    for (const solver of ['solver-a', 'solver-b']) {
      await recordScheduled(db.pool, { releaseId, solver, jobName: `job-${solver}` }, { event: solverEvent('solver-scheduled', solver) });
      await recordScheduled(db.pool, { releaseId, solver, jobName: `job-${solver}` }, { event: solverEvent('solver-scheduled', solver) });
    }
    const finished = { jobName: 'job-solver-a', phase: 'succeeded' as const, startedAt: new Date(1_000), finishedAt: new Date(2_000) };
    await recordFinished(db.pool, finished, { event: solverEvent('solver-finished', 'solver-a') });
    await recordFinished(db.pool, finished, { event: solverEvent('solver-finished', 'solver-a') });
    expect((await rows('solved')).map((row) => `${row.kind} ${row.event_key}`)).toEqual([
      `solver-scheduled ${index.simpleUrl}|solved|1.0|solver-a`,
      `solver-scheduled ${index.simpleUrl}|solved|1.0|solver-b`,
      `solver-finished ${index.simpleUrl}|solved|1.0|solver-a`,
    ]);
  });
});

describe('the relay', () => {
  it('publishes unsent rows in id order and marks them sent; a failing sink leaves them unsent, published on the next try', async () => {
    await db.pool.query('UPDATE event SET sent_at = now() WHERE sent_at IS NULL');
    const events = ['1', '2', '3'].map((version): PackageEvent => ({ kind: 'package-released', indexUrl: index.simpleUrl, project: 'relayed', version }));
    await insertEvents(db.pool, events, { indexId: index.id, serviceVersion: 'test', createdAt: new Date() });
    const published: OutboxEvent[] = [];
    let fail = true;
    const relay = createEventRelay({
      pool: db.pool,
      sink: {
        publish: async (batch) => {
          if (fail) throw new Error('broker down');
          published.push(...batch);
        },
        close: async () => {},
      },
      logger: silentLogger(),
      lockRows: Boolean(process.env.TEST_DATABASE_URL),
      retentionMs: DAY,
      batchSize: 2,
    });
    await expect(relay.flush()).rejects.toThrow('broker down');
    expect((await rows('relayed')).map((row) => row.sent)).toEqual([false, false, false]);
    fail = false;
    await relay.flush();
    expect(published.map((event) => event.record.package_version)).toEqual(['1', '2', '3']);
    expect(published.map((event) => event.key)).toEqual(['1', '2', '3'].map((v) => `${index.simpleUrl}|relayed|${v}`));
    expect((await rows('relayed')).map((row) => row.sent)).toEqual([true, true, true]);
    expect(await relay.flush()).toEqual([]);
    await relay.close();
  });

  it('deletes sent rows older than the retention in bounded batches, keeping unsent and recent ones', async () => {
    const old = new Date(Date.now() - 100 * DAY);
    const mk = (version: string): PackageEvent => ({ kind: 'package-released', indexUrl: index.simpleUrl, project: 'aged', version });
    await insertEvents(db.pool, ['o1', 'o2', 'o3', 'o4', 'o5'].map(mk), { indexId: index.id, serviceVersion: 'test', createdAt: old });
    await markSent(db.pool, (await readUnsent(db.pool, 100)).map((row) => row.id), old);
    await insertEvents(db.pool, [mk('old-unsent')], { indexId: index.id, serviceVersion: 'test', createdAt: old });
    await insertEvents(db.pool, [mk('recent')], { indexId: index.id, serviceVersion: 'test', createdAt: new Date() });
    // One statement deletes at most its batch.
    expect(await deleteSentBefore(db.pool, new Date(Date.now() - 90 * DAY), 2)).toBe(2);
    const versions = async () =>
      (await db.pool.query<{ version: string }>("SELECT version FROM event WHERE project = 'aged' ORDER BY id")).rows.map((row) => row.version);
    expect(await versions()).toEqual(['o3', 'o4', 'o5', 'old-unsent', 'recent']);
    // The relay's job (as `run` starts it) deletes the rest in batches of 2. The old unsent
    // row is never deleted before it is published.
    const published: string[] = [];
    const relay = createEventRelay({
      pool: db.pool,
      sink: { publish: async (batch) => void published.push(...batch.map((event) => String(event.record.package_version))), close: async () => {} },
      logger: silentLogger(),
      lockRows: false,
      retentionMs: 90 * DAY,
      deleteBatchSize: 2,
      pollMs: 50,
    });
    relay.start();
    await until('the expired sent rows deleted, the unsent one published', async () => !(await versions()).includes('o5') && published.includes('old-unsent'), 30_000);
    await relay.close();
    const left = await versions();
    expect(left).toContain('recent');
    expect(left.filter((version) => version.startsWith('o') && version !== 'old-unsent')).toEqual([]);
  });
});
