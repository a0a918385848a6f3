/**
 * The pause behind `solverDispatch` after a retriable failure: no call starts until it ends.
 *
 * Its length is `backoffDelay` over the consecutive failures (a success resets the count):
 * full jitter, or the error's `retryAfterMs` when longer. A refusal without Retry-After (the
 * quota is full) also ends as soon as a Job finishes, since that frees the room it was
 * refused for. Pure: time is passed in.
 */
import { backoffDelay, retryAfterOf, type BackoffPolicy } from '../domain/backoff.js';

export class DispatchPause {
  private failures = 0;
  private until = -Infinity;
  private endsWhenAJobFinishes = false;

  constructor(private readonly backoff: BackoffPolicy) {}

  isPaused(now: number): boolean {
    return now < this.until;
  }

  /** When the pause ends, or Infinity when there is none. */
  deadline(now: number): number {
    return this.until > now ? this.until : Infinity;
  }

  /** A retriable failure at `now`: pause (a longer pause already running is kept). */
  failed(now: number, error: unknown, refusal: boolean): void {
    this.failures += 1;
    this.until = Math.max(this.until, now + backoffDelay(this.failures, error, this.backoff));
    this.endsWhenAJobFinishes = refusal && retryAfterOf(error) === undefined;
  }

  succeeded(): void {
    this.failures = 0;
  }

  jobFinished(): void {
    if (!this.endsWhenAJobFinishes) return;
    this.until = -Infinity;
    this.endsWhenAJobFinishes = false;
  }
}
