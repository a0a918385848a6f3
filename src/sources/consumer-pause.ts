/**
 * Backpressure of the Kafka consumer: the messages in flight (delivered, not yet acked) and
 * whether the consumer is paused. The consumer should pause once more than `highWater` are
 * in flight and resume at `lowWater` or fewer: hysteresis, so it does not flap. `paused`
 * changes only when the consumer's pause()/resume() succeeded (`confirm`): a call that threw
 * is asked for again at the next message or ack. Pure: the caller makes the calls.
 * The service's one pause/resume hysteresis (the Kafka source is its one push source; the
 * others are pulled, so their demand is their backpressure).
 */
import { PkgstreamError } from '../domain/errors.js';
import { requireInteger } from '../operators/option-range.js';

/** `0 <= lowWater < highWater`, both integers; else an `OPTION_RANGE` error naming `owner`. */
export function requireWaterMarks(owner: string, highWater: number, lowWater: number): void {
  requireInteger(owner, 'highWater', highWater);
  requireInteger(owner, 'lowWater', lowWater, 0);
  if (lowWater >= highWater) throw new PkgstreamError('OPTION_RANGE', `${owner} needs 0 <= lowWater < highWater, got ${lowWater} and ${highWater}`);
}

export class ConsumerPause {
  private count = 0;
  private pausedNow = false;

  constructor(
    private readonly highWater: number,
    private readonly lowWater: number,
  ) {}

  get inFlight(): number {
    return this.count;
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /** A new message in flight; true when the consumer should be paused now. */
  delivered(): boolean {
    this.count += 1;
    return !this.pausedNow && this.count > this.highWater;
  }

  /** A message acked; true when the consumer should be resumed now. */
  acked(): boolean {
    this.count -= 1;
    return this.pausedNow && this.count <= this.lowWater;
  }

  /** The consumer's pause() (true) or resume() (false) succeeded. */
  confirm(paused: boolean): void {
    this.pausedNow = paused;
  }
}
