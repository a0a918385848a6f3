/**
 * The service's one backoff policy, used by every retry loop (index requests, database
 * start and reads, the Jobs watch, the solver dispatch pause, the event relay, the
 * pipeline supervisor): "full jitter" (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): before retry n (1-based) wait `random() * min(maxDelayMs, baseDelayMs * 2^(n-1))`,
 * or the peer's Retry-After when that is longer (already capped where it was parsed,
 * domain/retry-after.ts). Jitter spreads the retries of many clients, so a recovering peer
 * is not hit by all of them at once. Pure: the caller waits, in its own scheduler's time.
 */

export interface BackoffPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** In [0, 1): Math.random, or a fixed value in tests. */
  readonly random: () => number;
}

/** The error's `retryAfterMs` (a 429's or 503's Retry-After), when it carries one. */
export function retryAfterOf(error: unknown): number | undefined {
  const value = typeof error === 'object' && error !== null ? (error as { retryAfterMs?: unknown }).retryAfterMs : undefined;
  return typeof value === 'number' ? value : undefined;
}

/** The wait before retry `retryNumber` (1-based) after `error`. */
export function backoffDelay(retryNumber: number, error: unknown, policy: BackoffPolicy): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retryNumber - 1));
  const jittered = policy.random() * cap;
  const retryAfter = retryAfterOf(error);
  return retryAfter !== undefined && retryAfter > jittered ? retryAfter : jittered;
}
