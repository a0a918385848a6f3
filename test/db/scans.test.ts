import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { StoredRelease } from '../../src/domain/types.js';
import { addIndex } from '../../src/db/indexes.js';
import { analyzeTables } from '../../src/db/maintenance.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import type { ScanIterable } from '../../src/db/paged-scan.js';
import { dueScan, knownProjectsScan } from '../../src/db/scans.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/database.js';

const NOW = new Date('2024-06-01T00:00:00Z');
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.close());

/**
 * `count` releases on a fresh index, inserted in one statement: 9 in 10 due before NOW
 * (many sharing a due time, with microseconds a JS Date cannot hold), 1 in 10 due later;
 * every 50th (all due) has two artifacts.
 */
async function seed(name: string, count: number): Promise<{ indexId: number; due: number }> {
  const index = await addIndex(db.pool, { simpleUrl: `https://${name}.example.test/simple`, watchMode: 'all' });
  await db.pool.query(
    `INSERT INTO package_version (index_id, project, version, next_due_at, first_seen_at)
     SELECT $1, 'p' || (g % 997), g::text,
            CASE WHEN g % 10 = 0 THEN $2::timestamptz + interval '1 day'
                 ELSE $2::timestamptz - (g % 1237) * interval '1001 microseconds' END,
            $2::timestamptz
       FROM generate_series(1, $3::int) AS g`,
    [index.id, NOW, count],
  );
  await db.pool.query(
    `INSERT INTO artifact (package_version_id, filename, sha256)
     SELECT v.id, v.project || '-' || v.version || f.ext, lpad(to_hex(v.id), 64, '0')
       FROM package_version v CROSS JOIN (VALUES ('.tar.gz'), ('.whl')) AS f(ext)
      WHERE v.index_id = $1 AND v.version::int % 50 = 7`,
    [index.id],
  );
  // What autovacuum does on a server after a bulk insert (PGlite has none).
  await analyzeTables(db.pool);
  const { rows } = await db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM package_version WHERE index_id = $1 AND next_due_at <= $2',
    [index.id, NOW],
  );
  return { indexId: index.id, due: rows[0]?.n ?? 0 };
}

/** The due order of the database, to compare with what a scan yields. */
async function expectedOrder(indexId: number): Promise<number[]> {
  const { rows } = await db.pool.query<{ id: string }>(
    'SELECT id FROM package_version WHERE index_id = $1 AND next_due_at <= $2 ORDER BY next_due_at, id',
    [indexId, NOW],
  );
  return rows.map((row) => Number(row.id));
}

/**
 * Drains a scan with `concurrency` consumers that each hold an item for a while, checking
 * after every pull that the scan never holds more than a page and that scan + consumers
 * never hold more than pageSize + concurrency rows.
 */
async function drain(
  scan: ScanIterable<StoredRelease>,
  options: { pageSize: number; concurrency: number; work?: (release: StoredRelease) => Promise<void> },
): Promise<{ ids: number[]; maxHeld: number }> {
  const iterator = scan[Symbol.asyncIterator]();
  const ids: number[] = [];
  let inFlight = 0;
  let maxHeld = 0;
  const violations: string[] = [];
  async function consumer(): Promise<void> {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      ids.push(next.value.id);
      inFlight++;
      const held = scan.stats.buffered + inFlight;
      maxHeld = Math.max(maxHeld, held);
      if (scan.stats.rowsRead - scan.stats.rowsYielded > options.pageSize) {
        violations.push(`read ${scan.stats.rowsRead} but yielded only ${scan.stats.rowsYielded}`);
      }
      await (options.work ? options.work(next.value) : new Promise((resolve) => setImmediate(resolve)));
      inFlight--;
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, () => consumer()));
  expect(violations).toEqual([]);
  return { ids, maxHeld };
}

describe('dueScan', () => {
  it('walks 100k rows most-due first, one page at a time, holding at most pageSize + concurrency rows', async () => {
    const { indexId, due } = await seed('big', 100_000);
    const pageSize = 2000;
    const concurrency = 8;
    const scan = dueScan(db.pool, { pageSize, now: NOW, indexId });
    const { ids, maxHeld } = await drain(scan, { pageSize, concurrency });

    expect(ids.length).toBe(due);
    expect(ids).toEqual(await expectedOrder(indexId));
    expect(maxHeld).toBeLessThanOrEqual(pageSize + concurrency);
    expect(scan.stats.maxBuffered).toBeLessThanOrEqual(pageSize);
    expect(scan.stats.pages).toBe(Math.ceil(due / pageSize) + (due % pageSize === 0 ? 1 : 0));
    expect(scan.stats).toMatchObject({ rowsRead: due, rowsYielded: due, buffered: 0, retries: 0 });
  });

  it('carries each release with its present artifacts', async () => {
    const { indexId } = await seed('artifacts', 200);
    const withArtifacts: StoredRelease[] = [];
    for await (const release of dueScan(db.pool, { pageSize: 37, now: NOW, indexId })) {
      if (release.artifacts.length > 0) withArtifacts.push(release);
      expect(release.indexUrl).toBe('https://artifacts.example.test/simple');
    }
    expect(withArtifacts.length).toBeGreaterThan(0);
    for (const release of withArtifacts) {
      expect(release.artifacts.map((artifact) => artifact.filename)).toEqual([
        `${release.project}-${release.version}.tar.gz`,
        `${release.project}-${release.version}.whl`,
      ]);
      expect(release.artifacts[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('lets the consumer write between pulls on the same pool (one connection when embedded)', async () => {
    const { indexId, due } = await seed('writes', 500);
    const store = createPackageStore(db.pool);
    const scan = dueScan(db.pool, { pageSize: 64, now: NOW, indexId, analyze: true });
    // The update pipeline's shape: every item checked and written while the scan is open.
    const { ids } = await drain(scan, {
      pageSize: 64,
      concurrency: 4,
      work: async (release) => {
        await store.applyCheck(release, { checkedAt: NOW, changes: [{ kind: 'unchanged' }], files: null });
      },
    });
    expect(new Set(ids).size).toBe(due);
    expect(ids.length).toBe(due);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM package_version WHERE index_id = $1 AND last_checked_at = $2',
      [indexId, NOW],
    );
    expect(rows[0]?.n).toBe(due);
    // Nothing is due any more at NOW.
    const again: number[] = [];
    for await (const release of dueScan(db.pool, { pageSize: 64, now: NOW, indexId })) again.push(release.id);
    expect(again).toEqual([]);
  });

  it('walks every release in id order with `all`, due or not', async () => {
    const { indexId } = await seed('all', 300);
    const ids: number[] = [];
    for await (const release of dueScan(db.pool, { pageSize: 50, now: NOW, indexId, all: true })) ids.push(release.id);
    expect(ids.length).toBe(300);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('pulls known project names page by page', async () => {
    const names: string[] = [];
    const scan = knownProjectsScan(db.pool, { pageSize: 3 });
    for await (const name of scan) names.push(name);
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(names.length);
  });

  it.runIf(TEST_DATABASE_URL)(
    'resumes at the last key when pg_terminate_backend kills its connection, idle or mid-query',
    async () => {
      const { indexId, due } = await seed('killed', 1000);
      const applicationName = `scan-kill-${db.schema ?? ''}`;
      const scanPool = new pg.Pool({ connectionString: db.url, max: 1, application_name: applicationName });
      scanPool.on('error', () => undefined);
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        const pageSize = 100;
        const scan = dueScan(scanPool, { pageSize, now: NOW, indexId, delayMs: 20 });
        const iterator = scan[Symbol.asyncIterator]();
        const ids: number[] = [];
        const pull = async (n: number) => {
          for (let i = 0; i < n; i++) {
            const next = await iterator.next();
            if (next.done) return false;
            ids.push(next.value.id);
          }
          return true;
        };
        const backends = async (where = '') => {
          // Inside a transaction pg_stat_activity is a snapshot taken on first use: drop it,
          // or a wait that starts after the first look is never seen.
          await admin.query('SELECT pg_stat_clear_snapshot()');
          const { rows } = await admin.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE application_name = $1 ${where}`,
            [applicationName],
          );
          return rows.map((row) => row.pid);
        };

        // 1. Killed while idle between pages.
        await pull(pageSize);
        expect(await backends()).toHaveLength(1);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
          applicationName,
        ]);
        await pull(pageSize);

        // 2. Killed while its page query waits: block the table, wait for the scan's
        // query to queue on the lock, kill that backend, then let the retry through.
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE package_version IN ACCESS EXCLUSIVE MODE');
        const pending = pull(pageSize);
        let waiting: number[] = [];
        // A deadline, not a number of tries: a loaded machine may take a while to reconnect.
        const deadline = Date.now() + 30_000;
        while (waiting.length === 0 && Date.now() < deadline) {
          waiting = await backends("AND wait_event_type = 'Lock'");
          if (waiting.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(waiting).toHaveLength(1);
        await admin.query('SELECT pg_terminate_backend($1)', [waiting[0]]);
        // pg_terminate_backend only signals: release the lock once the backend is gone, or
        // its query may still get through and there is nothing to retry.
        while ((await backends(`AND pid = ${String(waiting[0])}`)).length !== 0) {
          if (Date.now() > deadline) throw new Error('the killed scan backend did not exit in time');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await admin.query('COMMIT');
        await pending;

        while (await pull(pageSize));
        expect(scan.stats.retries).toBeGreaterThanOrEqual(1);
        expect(ids.length).toBe(due);
        expect(ids).toEqual(await expectedOrder(indexId));
      } finally {
        await admin.query('ROLLBACK').catch(() => undefined);
        await admin.end();
        await scanPool.end();
      }
    },
  );

  it.runIf(!TEST_DATABASE_URL)('runs on the embedded pool of one connection', () => {
    expect(db.embedded).toBe(true);
    expect(db.pool.options.max).toBe(1);
  });
});
