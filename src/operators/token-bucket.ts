/**
 * The arithmetic of one `rateLimit` bucket: at most `burst` tokens, refilled at `rate`
 * tokens per second. A pause (a penalty) holds every token until it ends; the bucket then
 * resumes with one, and refills from there. Pure: time (ms) is passed in.
 */
export interface TokenBucketLimits {
  /** Tokens per second (> 0). */
  readonly rate: number;
  /** Most tokens held (>= 1). */
  readonly burst: number;
}

// Refills summed in floating point must still make a whole token when the arithmetic says one.
const EPSILON = 1e-9;

export class TokenBucket {
  private burst: number;
  private intervalMs: number;
  /** When the tokens were last counted; refill starts here (in the future during a pause). */
  private updatedAt: number;

  constructor(
    now: number,
    limits: TokenBucketLimits,
    private tokens: number = limits.burst,
  ) {
    this.burst = limits.burst;
    this.intervalMs = 1000 / limits.rate;
    this.updatedAt = now;
  }

  /** Spends a token at `now`; false when there is none (or the bucket is paused). */
  take(now: number): boolean {
    this.refill(now);
    if (now < this.updatedAt || this.tokens < 1 - EPSILON) return false;
    this.tokens -= 1;
    return true;
  }

  /** When the next token can be taken (`now` if it can be already). */
  nextAt(now: number): number {
    this.refill(now);
    return Math.max(this.updatedAt, now) + Math.max(0, 1 - this.tokens) * this.intervalMs;
  }

  /** Nothing before `now + ms`, then one token; false when a pause that long already runs. */
  pause(now: number, ms: number): boolean {
    this.refill(now);
    const until = now + Math.max(0, ms);
    if (until <= this.updatedAt) return false;
    this.updatedAt = until;
    this.tokens = 1;
    return true;
  }

  /** New limits from `now` on: the tokens earned so far count at the old rate, at most the new burst. */
  retune(now: number, limits: TokenBucketLimits): void {
    this.refill(now);
    this.burst = limits.burst;
    this.intervalMs = 1000 / limits.rate;
    this.tokens = Math.min(this.burst, this.tokens);
  }

  private refill(now: number): void {
    if (now <= this.updatedAt) return;
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) / this.intervalMs);
    this.updatedAt = now;
  }
}
