/**
 * `claimedScan`: replicas share an update pass (issue 17) by claiming its projects.
 *
 * Contract:
 * - It reads the source ahead until it holds items of `batch` projects it has not decided
 *   yet (or the source ends), claims those projects in one call, then hands on every item
 *   it read, in order, with `claimed`: true for a project this replica holds (or held
 *   earlier in the pass), false for one another replica holds or checked since `since`.
 * - Held claims are renewed every `renewEveryMs` (scheduler time) until `release` (the
 *   project's check ended) or `close` (the pass ended: every claim still held is given up,
 *   and it resolves once every release has been written).
 * - A failed claim errors the scan (the pass fails and the next one comes); a failed renewal
 *   or release is only reported (`onError`): the claim then runs out at its expiry.
 * - Decisions are remembered for `maxRemembered` projects; one forgotten is claimed again,
 *   which the store refuses once it is checked.
 */
import { LRUCache } from 'lru-cache';
import { interval, type SchedulerLike } from 'rxjs';
import type { ProjectClaims } from '../domain/ports.js';
import { projectKey } from '../domain/project-key.js';
import type { ProjectRef } from '../domain/types.js';

export interface ClaimedScanOptions {
  readonly batch: number;
  /** The pass's start: a project checked since then is done by another replica. */
  readonly since: Date;
  readonly renewEveryMs: number;
  readonly scheduler: SchedulerLike;
  readonly maxRemembered?: number;
  readonly onError?: (error: unknown, what: 'renew' | 'release') => void;
}

export interface Claimed<T> {
  readonly item: T;
  readonly claimed: boolean;
}

export interface ClaimedScan<T> {
  readonly items: AsyncIterable<Claimed<T>>;
  release(ref: ProjectRef): void;
  close(): Promise<void>;
}

export function claimedScan<T>(source: AsyncIterable<T>, refOf: (item: T) => ProjectRef, claims: ProjectClaims, options: ClaimedScanOptions): ClaimedScan<T> {
  const decided = new LRUCache<string, boolean>({ max: options.maxRemembered ?? 100_000 });
  const held = new Map<string, ProjectRef>();
  const releasing = new Set<Promise<void>>();
  const report = (what: 'renew' | 'release') => (error: unknown) => options.onError?.(error, what);
  const renewals = interval(options.renewEveryMs, options.scheduler).subscribe(() => {
    if (held.size > 0) claims.renew([...held.values()]).catch(report('renew'));
  });

  const decide = async (undecided: Map<string, ProjectRef>): Promise<void> => {
    if (undecided.size === 0) return;
    const mine = new Set((await claims.claim([...undecided.values()], options.since)).map(projectKey));
    for (const [key, ref] of undecided) {
      decided.set(key, mine.has(key));
      if (mine.has(key)) held.set(key, ref);
    }
    undecided.clear();
  };

  async function* items(): AsyncGenerator<Claimed<T>> {
    const iterator = source[Symbol.asyncIterator]();
    const read: T[] = [];
    const undecided = new Map<string, ProjectRef>();
    let ended = false;
    try {
      while (!ended) {
        while (!ended && undecided.size < options.batch) {
          const next = await iterator.next();
          if (next.done) ended = true;
          else {
            read.push(next.value);
            const ref = refOf(next.value);
            if (!decided.has(projectKey(ref))) undecided.set(projectKey(ref), ref);
          }
        }
        await decide(undecided);
        for (const item of read.splice(0)) yield { item, claimed: decided.get(projectKey(refOf(item))) ?? false };
      }
    } finally {
      await iterator.return?.();
    }
  }

  return {
    items: { [Symbol.asyncIterator]: items },
    release(ref) {
      if (!held.delete(projectKey(ref))) return;
      const released = claims.release([ref]).catch(report('release'));
      releasing.add(released);
      void released.finally(() => releasing.delete(released));
    },
    async close() {
      renewals.unsubscribe();
      const left = [...held.values()];
      held.clear();
      await Promise.all([...releasing, claims.release(left).catch(report('release'))]);
    },
  };
}
