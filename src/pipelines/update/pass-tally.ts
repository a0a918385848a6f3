/**
 * The figures of one update pass, counted as it goes and read into its `pass-complete`
 * outcome. Pure: the times and the request count are passed in.
 */
import type { PassComplete, UpdateOutcome } from './outcome.js';

export class PassTally {
  /** Rows taken from the scan (this replica's). */
  private rows = 0;
  /** Due rows finished, claimed elsewhere or not: the progress the ETA is made of. */
  private rowsDone = 0;
  private projects = 0;
  private failed = 0;
  private events = 0;
  private stopped = false;

  rowTaken(): void {
    this.rows += 1;
  }

  /** One more due row finished; the count so far. */
  rowFinished(): number {
    return (this.rowsDone += 1);
  }

  get done(): number {
    return this.rowsDone;
  }

  projectStarted(): void {
    this.projects += 1;
  }

  /** Counts what a project's check ended with. */
  ended(outcome: UpdateOutcome): void {
    if (outcome.type === 'failed') this.failed += 1;
    if (outcome.type === 'checked') this.events += outcome.events.length;
  }

  /** `stop` closed the scan before it was exhausted. */
  stoppedEarly(): void {
    this.stopped = true;
  }

  complete(pass: { readonly startedAt: Date; readonly finishedAt: Date; readonly requests: number }): PassComplete {
    const { rows, projects, failed, events, stopped } = this;
    return { type: 'pass-complete', rows, projects, requests: pass.requests, failed, events, startedAt: pass.startedAt, finishedAt: pass.finishedAt, stopped };
  }
}
