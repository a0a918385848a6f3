/**
 * applyChecks' two paths on a real database: the unlocked read-then-conditional-write of the
 * common case, and the locked transaction it falls back to when a row was written in between.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIndex } from '../../src/db/indexes.js';
import { applyChecks, transition } from '../../src/db/release-checks.js';
import { recordReleases } from '../../src/db/releases.js';
import type { PackageIndex } from '../../src/domain/types.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let index: PackageIndex;
const checkedAt = new Date('2024-06-01T00:00:00Z');
const unchanged = { checkedAt, changes: [{ kind: 'unchanged' as const }], files: null };

beforeAll(async () => {
  db = await createTestDatabase();
  index = await addIndex(db.pool, { simpleUrl: 'https://checks.example.test/simple', watchMode: 'all' });
});
afterAll(async () => db?.close());

async function release(project: string): Promise<number> {
  const [recorded] = await recordReleases(db.pool, index.id, project, [{ version: '1.0', files: [] }], { seenAt: new Date('2024-05-01T00:00:00Z') });
  return recorded!.id;
}

const stateOf = async (id: number) =>
  (await db.pool.query<{ state: string; yanked_reason: string | null; last_checked_at: Date | null }>(
    'SELECT state, yanked_reason, last_checked_at FROM package_version WHERE id = $1',
    [id],
  )).rows[0];

/** The real pool, with `interfere` run once right after applyChecks' unlocked read. */
function interferingPool(interfere: () => Promise<unknown>): pg.Pool {
  let done = false;
  return new Proxy(db.pool, {
    get(target, property) {
      if (property === 'query') {
        return async (text: string, params?: unknown[]) => {
          const result: unknown = await target.query(text, params);
          if (!done && text.includes('row_version') && !text.includes('FOR UPDATE')) {
            done = true;
            await interfere();
          }
          return result;
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('applyChecks', () => {
  it('checks a release written between its read and its write again, from what was written', async () => {
    const raced = await release('raced');
    const quiet = await release('quiet');
    const pool = interferingPool(() =>
      db.pool.query("UPDATE package_version SET state = 'yanked', yanked_reason = 'broken' WHERE id = $1", [raced]),
    );
    const applied = await applyChecks(pool, [
      { releaseId: raced, check: unchanged },
      { releaseId: quiet, check: unchanged },
    ]);
    // Without the row-version condition the check would have put 'present' back over the yank.
    expect(applied.map((result) => [result.state, result.changed])).toEqual([
      ['yanked', false],
      ['present', false],
    ]);
    expect(await stateOf(raced)).toEqual({ state: 'yanked', yanked_reason: 'broken', last_checked_at: checkedAt });
    expect(await stateOf(quiet)).toEqual({ state: 'present', yanked_reason: null, last_checked_at: checkedAt });
  });

  it('gives the same answers whichever path a check takes', async () => {
    const id = await release('paths');
    const missing = { checkedAt, changes: [{ kind: 'missing-version' as const }], files: null };
    const fast = await applyChecks(db.pool, [{ releaseId: id, check: missing }]);
    await db.pool.query("UPDATE package_version SET state = 'present' WHERE id = $1", [id]);
    const slow = await applyChecks(interferingPool(() => db.pool.query('UPDATE package_version SET static_priority = static_priority WHERE id = $1', [id])), [
      { releaseId: id, check: missing },
    ]);
    expect(slow).toEqual(fast);
    expect(fast[0]).toMatchObject({ state: 'missing', changed: true });
  });
});

describe('transition', () => {
  const present = { state: 'present' as const, yanked_reason: null };
  it.each([
    [[{ kind: 'unchanged' as const }], 'present', null, false],
    [[{ kind: 'missing-version' as const }], 'missing', null, true],
    [[{ kind: 'package-yanked' as const, reason: 'cve' }], 'yanked', 'cve', true],
    [[{ kind: 'package-yanked' as const, reason: 'cve' }, { kind: 'package-unyanked' as const }], 'present', null, true],
    [[{ kind: 'hash-mismatch' as const, missingFromSource: [], missingFromDatabase: [] }], 'present', null, true],
  ])('%j from present gives %s (%s), touching artifacts: %s', (changes, state, reason, touched) => {
    expect(transition(present, changes)).toEqual({ state, yankedReason: reason, touched });
  });

  it('brings a missing release back as yanked when it was yanked before it went missing', () => {
    expect(transition({ state: 'missing', yanked_reason: 'old' }, [{ kind: 'reappeared' }])).toEqual({ state: 'yanked', yankedReason: 'old', touched: true });
    expect(transition({ state: 'missing', yanked_reason: null }, [{ kind: 'reappeared' }])).toEqual({ state: 'present', yankedReason: null, touched: true });
  });
});
