import { firstValueFrom, timer, type SchedulerLike } from 'rxjs';

/**
 * The sends to one index host in the last second and a bit: at most `max` (the bucket's
 * rate + burst) in any `windowMs`. The token bucket alone allows exactly rate + burst in a
 * second (a full bucket spent at once, then a second of refill), so requests whose way to
 * the index varies by a few milliseconds (a loaded machine: 40 ms measured) can arrive more
 * densely than they were granted and make one second at the index hold more. Counting the
 * sends over a window longer than a second by that slack keeps the index's every second
 * within the bound; in steady state (rate x window < max) it never holds a request back.
 * Pure state, time passed in.
 */
export class SendWindow {
  /** Send times, oldest first; never more than `max` kept. */
  private readonly sent: number[] = [];
  /** Whole sends, at least one: a replica's share of the bound is a fraction. */
  private max = 1;

  constructor(
    max: number,
    private readonly windowMs: number,
  ) {
    this.resize(max);
  }

  /** Ms until one more may be sent at `now`: 0 if now. */
  waitAt(now: number): number {
    if (this.sent.length < this.max) return 0;
    const oldestCounted = this.sent[this.sent.length - this.max] ?? now;
    return Math.max(0, oldestCounted + this.windowMs - now);
  }

  record(now: number): void {
    this.sent.push(now);
    if (this.sent.length > this.max) this.sent.splice(0, this.sent.length - this.max);
  }

  /** A new bound (the replica's share changed); the sends already counted stay counted. */
  resize(max: number): void {
    this.max = Math.max(1, Math.floor(max));
  }
}

/** The slack over a second in which sends are counted: more than the send-to-arrival jitter seen on a loaded machine (40 ms). */
export const SEND_WINDOW_MS = 1_100;

export interface HostSendWindows {
  /** Resolves once the host may be sent one more request, and counts it as sent. */
  untilFree(host: string): Promise<void>;
  /** This replica's share among `n`: (rate + burst) / n, as its buckets (at least one burst). */
  shareAmong(n: number): void;
}

/** A SendWindow per index host for rate + burst sends, waiting in `scheduler` time. */
export function hostSendWindows(rate: number, burst: number, scheduler: SchedulerLike): HostSendWindows {
  let replicas = 1;
  const allowed = () => rate / replicas + Math.max(1, burst / replicas);
  const windows = new Map<string, SendWindow>();
  return {
    async untilFree(host) {
      let window = windows.get(host);
      if (!window) windows.set(host, (window = new SendWindow(allowed(), SEND_WINDOW_MS)));
      for (let wait = window.waitAt(scheduler.now()); wait > 0; wait = window.waitAt(scheduler.now())) await firstValueFrom(timer(wait, scheduler));
      window.record(scheduler.now());
    },
    shareAmong(n) {
      replicas = Math.max(1, Math.floor(n));
      windows.forEach((window) => window.resize(allowed()));
    },
  };
}
