/**
 * What the solver Jobs watch knows: the Jobs active now (kept as events come, so counting
 * is O(1) per event) and the finished Jobs already reported (a bounded memory of uids, so
 * a re-list never reports a finish twice in a process). Each change gives the events to
 * publish: a Job's finish the first time it is seen finished, then the active count when it
 * changed. Pure: Jobs in, events out.
 */
import { LRUCache } from 'lru-cache';
import type { JobsWatchEvent } from '../domain/index.js';
import { jobStatusOf, metadataOf, type AnyJob } from './job-status.js';

export class SolverJobsState {
  private readonly active = new Set<string>();
  private readonly reported: LRUCache<string, true>;
  private lastActive: number | null = null;

  constructor(maxRemembered: number) {
    this.reported = new LRUCache({ max: maxRemembered });
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** A full list: the whole truth (Jobs deleted while unwatched are gone). */
  listed(items: readonly AnyJob[]): JobsWatchEvent[] {
    this.active.clear();
    const events = items.flatMap((item) => this.observe(item));
    return [...events, ...this.activeChange()];
  }

  /** A watch event (ADDED, MODIFIED, DELETED) about `job`. */
  changed(type: string, job: AnyJob): JobsWatchEvent[] {
    const events = this.observe(job);
    if (type === 'DELETED') {
      const name = metadataOf(job).name;
      if (typeof name === 'string') this.active.delete(name);
    }
    return [...events, ...this.activeChange()];
  }

  private observe(job: AnyJob): JobsWatchEvent[] {
    const status = jobStatusOf(job);
    if (status.name === '') return [];
    const metadata = metadataOf(job);
    const uid = typeof metadata.uid === 'string' ? metadata.uid : `${status.name}@${String(metadata.creationTimestamp)}`;
    if (status.phase === 'active') this.active.add(status.name);
    else this.active.delete(status.name);
    if (status.phase === 'active' || this.reported.has(uid)) return [];
    this.reported.set(uid, true);
    return [{ type: 'finished', job: status }];
  }

  private activeChange(): JobsWatchEvent[] {
    const count = this.active.size;
    if (count === this.lastActive) return [];
    this.lastActive = count;
    return [{ type: 'active', count }];
  }
}
