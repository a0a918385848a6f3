/**
 * Postgres faults under the update pipeline: the due scan's connection is killed
 * (pg_terminate_backend) in the middle of a pass, once while idle between pages and once
 * while its page query waits. The pass resumes at its last key: every row is checked
 * exactly once in that pass. Needs the real server (TEST_DATABASE_URL): the embedded
 * database has no second backend to kill.
 */
import pg from 'pg';
import { asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIndex, setIndexEnabled } from '../../src/db/indexes.js';
import type { PackageStore } from '../../src/domain/ports.js';
import { updatePass, type UpdateOutcome } from '../../src/pipelines/update.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import { createIndexClient } from '../../src/sources/index-client/index.js';
import type { ScanIterable } from '../../src/db/paged-scan.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { countingChecks, rowCount, sleep, until } from './helpers.js';

let db: TestDatabase | undefined;
let index: IndexServer | undefined;

beforeAll(async () => {
  if (!TEST_DATABASE_URL) return;
  db = await createTestDatabase();
  index = await startIndexServer();
});
afterAll(async () => {
  await index?.stop();
  await db?.close();
});

describe('Postgres faults', () => {
  it.runIf(TEST_DATABASE_URL)('the scan connection killed mid-pass: the pass resumes at its last key, every row checked exactly once', async () => {
    if (!db || !index) throw new Error('no database');
    const { pool } = db;
    await setIndexEnabled(pool, 'https://pypi.org/simple', false);
    const registered = await addIndex(pool, { simpleUrl: `${index.url}/simple`, warehouse: true, watchMode: 'seen' });
    const client = createIndexClient({ version: 'faults' });
    const writer = createPackageStore(pool);
    // 30 projects x 3 versions, recorded from the index's own pages.
    for (let p = 0; p < 30; p++) for (const version of ['1.0', '1.1', '2.0']) index.addRelease(`proj-${p}`, version);
    for (let p = 0; p < 30; p++) {
      const page = await client.fetchProject(registered, `proj-${p}`);
      await writer.recordReleases(registered, `proj-${p}`, page?.releases ?? []);
    }
    const total = await rowCount(pool, 'SELECT 1 FROM package_version WHERE index_id = $1', [registered.id]);
    expect(total).toBe(90);

    // The scan reads through a pool of its own (one connection, named), so that it alone is killed.
    const applicationName = `faults-scan-${db.schema ?? ''}`;
    const scanPool = new pg.Pool({ connectionString: db.url, max: 1, application_name: applicationName });
    scanPool.on('error', () => undefined);
    const scanStore = createPackageStore(scanPool, { retry: { delayMs: 20 } });
    let scan: ScanIterable<unknown> | undefined;
    const { store: counted, checks } = countingChecks(writer);
    const store: PackageStore = {
      ...counted,
      scanDue: (options) => {
        const iterable = scanStore.scanDue(options);
        scan = iterable as ScanIterable<unknown>;
        return iterable;
      },
    };
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const backends = async (where = '') =>
      (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 ${where}`, [applicationName])).rows.map((row) => row.pid);

    // The 6th page query is killed while it waits: a lock taken just before it is sent holds
    // it (and the writers, briefly) until its backend is terminated; the page is asked again.
    let pageQueries = 0;
    let killedWaiting = 0;
    const query = scanPool.query.bind(scanPool) as (...args: unknown[]) => Promise<unknown>;
    const killWhileWaiting = async (args: unknown[]): Promise<unknown> => {
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE package_index IN ACCESS EXCLUSIVE MODE');
      const pending = query(...args);
      pending.catch(() => undefined);
      try {
        let waiting: number[] = [];
        await until('the page query waiting on the lock', async () => (waiting = await backends("AND wait_event_type = 'Lock'")).length > 0, 30_000, 10);
        await admin.query('SELECT pg_terminate_backend($1)', [waiting[0]]);
        killedWaiting += 1;
        await sleep(50);
      } finally {
        await admin.query('COMMIT');
      }
      return pending;
    };
    Object.assign(scanPool, {
      query: (...args: unknown[]) => (++pageQueries === 6 ? killWhileWaiting(args) : query(...args)),
    });

    index.setLatency(15);
    try {
      const pass = lastValueFrom(
        updatePass(
          { store, index: client, scheduler: asyncScheduler },
          { concurrency: 2, pageSize: 7, all: true, retry: { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 500 }, deferOnFailureMs: 60_000 },
        ).pipe(toArray()),
      );
      // Killed while idle between pages, twice.
      await until('a few pages read', () => (scan?.stats.pages ?? 0) >= 3, 30_000, 10);
      let idleKilled = (await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rowCount ?? 0;
      await until('more pages read', () => (scan?.stats.pages ?? 0) >= 8, 30_000, 10);
      idleKilled += (await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rowCount ?? 0;

      const outcomes: UpdateOutcome[] = await pass;
      const complete = outcomes.find((outcome) => outcome.type === 'pass-complete');
      expect(complete).toMatchObject({ type: 'pass-complete', rows: total, failed: 0, stopped: false });
      expect(outcomes.filter((outcome) => outcome.type === 'failed')).toEqual([]);
      // Every row checked exactly once in the pass.
      const ids = (await pool.query<{ id: string }>('SELECT id FROM package_version WHERE index_id = $1', [registered.id])).rows.map((row) => Number(row.id));
      expect(ids.filter((id) => checks.get(id) !== 1)).toEqual([]);
      expect([...checks.keys()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
      expect(await rowCount(pool, 'SELECT 1 FROM package_version WHERE index_id = $1 AND last_checked_at IS NULL', [registered.id])).toBe(0);
      expect(killedWaiting).toBe(1);
      expect(scan?.stats.retries).toBeGreaterThanOrEqual(1);
      console.info(
        `[faults/postgres] ${total} rows, ${checks.size} checked once each; killed ${idleKilled} idle + ${killedWaiting} waiting scan backend(s); ` +
          `${scan?.stats.pages} pages, ${scan?.stats.retries} page retries, ${scan?.stats.rowsRead} rows read`,
      );
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
      await scanPool.end();
      await client.close();
    }
  });

  it.runIf(!TEST_DATABASE_URL)('needs the real server (TEST_DATABASE_URL) to kill a backend: skipped on embedded PGlite', () => {
    expect(TEST_DATABASE_URL).toBeUndefined();
  });
});
