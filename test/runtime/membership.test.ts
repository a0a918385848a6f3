/**
 * Replica membership on the real database (src/runtime/membership.ts): the live count each
 * beat reports, a joining replica that returns only once the others count it (so that the
 * shares of the index rate never add up to more than the limit), and a clean leave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/runtime/metrics.js';
import { joinReplicas } from '../../src/runtime/membership.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { until } from '../faults/helpers.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

const TTL_MS = 1500;

describe('replica membership', () => {
  it('a second replica joins only once the first has counted it; leaving is seen at the next beat', async () => {
    const seenByFirst: number[] = [];
    const join = (onLive: (live: number) => void) =>
      joinReplicas({ db: database.pool, ttlMs: TTL_MS, metrics: createMetrics(undefined, { defaultMetrics: false }), logger: silentLogger(), onLive });
    const first = await join((live) => seenByFirst.push(live));
    expect(seenByFirst).toEqual([1]);
    const seenBySecond: number[] = [];
    const second = await join((live) => seenBySecond.push(live));
    // By the time the second is in, the first's last beat counted two.
    expect(seenByFirst.at(-1)).toBe(2);
    expect(seenBySecond[0]).toBe(2);
    await second.close();
    await until('the first counts one again', () => seenByFirst.at(-1) === 1);
    const rows = (await database.pool.query<{ id: string }>('SELECT id FROM replica')).rows.map((row) => row.id);
    expect(rows).toEqual([first.id]);
    await first.close();
    expect((await database.pool.query('SELECT 1 FROM replica')).rowCount).toBe(0);
  });
});
