/**
 * The relay's retry after a failed publish: the consecutive failures and the wait before the
 * next try, on the service's backoff policy (domain/backoff.ts); a publish that succeeds
 * resets the count. Pure: the caller waits.
 */
import { backoffDelay, type BackoffPolicy } from '../domain/backoff.js';

/** The broker may be down for minutes: retry from 200 ms up to 30 s apart. */
export const RELAY_BACKOFF: BackoffPolicy = { baseDelayMs: 200, maxDelayMs: 30_000, random: Math.random };

export class PublishRetry {
  private failures = 0;

  constructor(private readonly backoff: BackoffPolicy = RELAY_BACKOFF) {}

  /** A publish failed with `error`: the attempt it was (1-based) and the whole ms to wait. */
  failed(error: unknown): { readonly attempt: number; readonly delayMs: number } {
    this.failures += 1;
    return { attempt: this.failures, delayMs: Math.round(backoffDelay(this.failures, error, this.backoff)) };
  }

  succeeded(): void {
    this.failures = 0;
  }
}
