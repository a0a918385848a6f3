/**
 * The one timer of an operator (or of one of its keys), re-set after every pass: setting it
 * cancels the timer before, so at most one is pending. Its subscription is held by the
 * operator's subscriber while pending (unsubscription cancels it) and released when it
 * rings (no growth over time).
 */
import type { SchedulerLike, Subscription } from 'rxjs';

export class Alarm {
  private timer: Subscription | null = null;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly owner: Subscription,
    private readonly ring: () => void,
  ) {}

  /**
   * Rings at `due` in scheduler time (Infinity: not at all). `now` is the caller's own
   * reading: read again, the clock may have passed a `due` the caller still saw before it,
   * and a negative delay is taken as none (issue 11.19).
   */
  set(due: number, now: number): void {
    this.timer?.unsubscribe();
    this.timer = null;
    if (due === Infinity || this.owner.closed) return;
    const timer = this.scheduler.schedule(() => {
      this.owner.remove(timer);
      this.timer = null;
      this.ring();
    }, Math.max(0, due - now));
    this.timer = timer;
    this.owner.add(timer);
  }
}
