/**
 * claimedScan on its own (src/pipelines/claimed-scan.ts): batches of projects claimed in one
 * call each, items handed on in order with their verdict, renewals on scheduler time, and
 * every claim given up by release or close. The claims port is an in-memory table here; the
 * real one is tested in test/db/claims.test.ts and with two replicas in update-replicas.
 */
import { VirtualTimeScheduler, VirtualAction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ProjectClaims } from '../../src/domain/ports.js';
import type { ProjectRef } from '../../src/domain/types.js';
import { claimedScan } from '../../src/pipelines/claimed-scan.js';

const ref = (project: string): ProjectRef => ({ indexId: 1, indexUrl: 'https://x.example/simple', project });

/** Claims as a table: `others` are held by another replica. */
function memoryClaims(others: readonly string[]) {
  const calls: string[] = [];
  const mine = new Set<string>();
  const claims: ProjectClaims = {
    ttlMs: 30_000,
    claim: async (projects) => {
      calls.push(`claim ${projects.map((p) => p.project).join(',')}`);
      const got = projects.filter((p) => !others.includes(p.project));
      for (const p of got) mine.add(p.project);
      return got;
    },
    renew: async (projects) => void calls.push(`renew ${projects.map((p) => p.project).join(',')}`),
    release: async (projects) => {
      calls.push(`release ${projects.map((p) => p.project).join(',')}`);
      for (const p of projects) mine.delete(p.project);
    },
  };
  return { claims, calls, mine };
}

async function* rows(...projects: string[]): AsyncGenerator<{ project: string; row: number }> {
  let row = 0;
  for (const project of projects) yield { project, row: (row += 1) };
}

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

describe('claimedScan', () => {
  it('claims two projects per call, hands every row on in order, marks those another replica holds', async () => {
    const { claims, calls } = memoryClaims(['b']);
    const scan = claimedScan(rows('a', 'a', 'b', 'c', 'a', 'd', 'e'), (item) => ref(item.project), claims, { batch: 2, since: new Date(0), renewEveryMs: 10_000, scheduler: new VirtualTimeScheduler() });
    const seen = (await collect(scan.items)).map(({ item, claimed }) => `${item.row}${item.project}${claimed ? '' : '-'}`);
    expect(seen).toEqual(['1a', '2a', '3b-', '4c', '5a', '6d', '7e']);
    // a, b; then c and d (a is decided); then e at the end.
    expect(calls).toEqual(['claim a,b', 'claim c,d', 'claim e']);
    await scan.close();
    expect(calls.at(-1)).toBe('release a,c,d,e');
  });

  it('renews what it holds on scheduler time; release and close give claims up once', async () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 25_000);
    const { claims, calls, mine } = memoryClaims([]);
    const scan = claimedScan(rows('a', 'b'), (item) => ref(item.project), claims, { batch: 5, since: new Date(0), renewEveryMs: 10_000, scheduler });
    await collect(scan.items);
    scan.release(ref('a'));
    scan.release(ref('a'));
    scheduler.flush(); // 10 s and 20 s
    await scan.close();
    expect(calls).toEqual(['claim a,b', 'release a', 'renew b', 'renew b', 'release b']);
    expect([...mine]).toEqual([]);
  });
});
