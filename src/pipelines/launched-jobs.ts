/**
 * The Jobs this process created, until they finish, and the finished Jobs that matched no
 * recorded solver run yet: the watch can report a Job finished before its create call's
 * solver run is recorded, and that finish must be handled again once it is. Both bounded.
 */
import { LRUCache } from 'lru-cache';
import { AsyncSubject, type Observable } from 'rxjs';
import type { JobStatus } from '../domain/types.js';
import type { DispatchItem } from './dispatch-items.js';

export interface Launched {
  readonly item: DispatchItem;
  /** The run's attempts once recorded (null when recording failed): one value, then complete. */
  readonly recorded: Observable<number | null>;
}

export class LaunchedJobs {
  private readonly launched: LRUCache<string, Launched>;
  private readonly unmatched: LRUCache<string, JobStatus>;

  constructor(max: number) {
    this.launched = new LRUCache({ max });
    this.unmatched = new LRUCache({ max });
  }

  get(jobName: string): Launched | undefined {
    return this.launched.get(jobName);
  }

  /** The create call of `jobName` answered; call the result once its run is recorded (or failed to be). */
  launch(jobName: string, item: DispatchItem): (attempts: number | null) => void {
    const recorded = new AsyncSubject<number | null>();
    this.launched.set(jobName, { item, recorded });
    return (attempts) => {
      recorded.next(attempts);
      recorded.complete();
    };
  }

  /** Its finish is recorded: nothing more to trace. */
  forget(jobName: string): void {
    this.launched.delete(jobName);
  }

  /** A finished Job no recorded run matched. */
  unmatchedFinish(job: JobStatus): void {
    this.unmatched.set(job.name, job);
  }

  /** The finish of `jobName` that matched no run before it was recorded, if any (taken out). */
  takeUnmatched(jobName: string): JobStatus | undefined {
    const job = this.unmatched.get(jobName);
    if (job) this.unmatched.delete(jobName);
    return job;
  }
}
