/**
 * The projects of one update pass: one index request per project, whatever its number of
 * due rows. A project is in flight from its first row until its check ends; its later rows
 * are skipped (and kept, to be deferred with it if it fails). Once ended, it is remembered
 * as checked or failed (a bounded LRU, `maxRemembered`), and its later rows are skipped for
 * that reason. Pure: it only counts and remembers.
 */
import { LRUCache } from 'lru-cache';
import { projectKey } from '../../domain/project-key.js';
import type { ProjectRef } from '../../domain/types.js';
import type { SkipReason } from './outcome.js';

/** A project in flight, with the ids of its rows seen so far (deferred if it fails). */
export interface InFlight {
  readonly rows: readonly number[];
  /** Queued by a serial sync: fetched outside the verification share. */
  readonly queued: boolean;
}

/** How a row is handled: its project checked now, or the row skipped. */
export type RowDecision = { readonly check: InFlight } | { readonly skip: Exclude<SkipReason, 'project-claimed'> };

export class ProjectLedger {
  private readonly ended: LRUCache<string, 'checked' | 'failed'>;
  private readonly inFlight = new Map<string, { rows: number[]; queued: boolean }>(); // at most `concurrency` entries

  constructor(maxRemembered = 100_000) {
    this.ended = new LRUCache({ max: maxRemembered });
  }

  /** A due row of `ref`: the first of its project starts its check; any later one is skipped. */
  row(ref: ProjectRef, rowId: number, queued: boolean): RowDecision {
    const key = projectKey(ref);
    const running = this.inFlight.get(key);
    if (running) {
      running.rows.push(rowId); // deferred with the project if it fails
      return { skip: 'project-checked' };
    }
    const ended = this.ended.get(key);
    if (ended) return { skip: ended === 'checked' ? 'project-checked' : 'project-failed' };
    return { check: this.start(key, [rowId], queued) };
  }

  /** A project without a due row (a registered one without releases): its check starts. */
  project(ref: ProjectRef): InFlight {
    return this.start(projectKey(ref), [], false);
  }

  /** The project's check ended. */
  end(ref: ProjectRef, how: 'checked' | 'failed'): void {
    const key = projectKey(ref);
    this.inFlight.delete(key);
    this.ended.set(key, how);
  }

  private start(key: string, rows: number[], queued: boolean): InFlight {
    const running = { rows, queued };
    this.inFlight.set(key, running);
    return running;
  }
}
