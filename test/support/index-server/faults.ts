/**
 * Fault injection, settable at any time while the server runs: latency (fixed + jitter),
 * a hard rate limit, and per-request faults chosen by rules (the next N requests, or a
 * fraction of them, optionally only on some routes). Randomness is seeded: a run is
 * reproducible.
 */
import type { RouteName } from './routes.js';

export type Fault =
  /** Answer this status (500, 503, 404, ...) with a short text body. */
  | { readonly kind: 'status'; readonly status: number }
  /** Answer 429 with a `Retry-After` (seconds, or an HTTP date string). */
  | { readonly kind: 'rate-limited'; readonly retryAfter?: number | string }
  /** Send the headers (with the full Content-Length) and part of the body, then destroy the socket. */
  | { readonly kind: 'truncate'; readonly keepBytes?: number }
  /** Send the body a few bytes at a time. */
  | { readonly kind: 'drip'; readonly chunkBytes?: number; readonly intervalMs: number }
  /** Send a syntactically broken body of the route's format (XML, JSON or HTML). */
  | { readonly kind: 'malformed' }
  /** Send a body of `bytes` bytes, with or without a Content-Length saying so. */
  | { readonly kind: 'oversize'; readonly bytes: number; readonly declareLength?: boolean }
  /** Send this exact body instead of the route's, with these headers over the route's (e.g. an old serial: a lagging cache). */
  | { readonly kind: 'body'; readonly body: string | Uint8Array; readonly contentType?: string; readonly headers?: Readonly<Record<string, string>> };

export interface FaultRuleOptions {
  /** How many matching requests get the fault; default 1, or unlimited when `fraction` is set. */
  readonly times?: number;
  /** Probability that a matching request gets the fault (seeded); default 1. */
  readonly fraction?: number;
  /** Only these routes; default every route. */
  readonly routes?: readonly RouteName[];
  /** Only requests for these projects (the name in the path, as asked); default every request. */
  readonly projects?: readonly string[];
}

interface Rule {
  readonly fault: Fault;
  remaining: number;
  readonly fraction: number;
  readonly routes: readonly RouteName[] | null;
  readonly projects: readonly string[] | null;
}

/** mulberry32: a small seeded PRNG. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private rules: Rule[] = [];
  private latency = { fixedMs: 0, jitterMs: 0 };
  private limit: { perSecond: number; retryAfterSeconds: number } | null = null;
  private admitted: number[] = [];
  private random: () => number;

  constructor(seed = 1) {
    this.random = seeded(seed);
  }

  /** Every answer waits `fixedMs` plus a uniform `[0, jitterMs)` before its headers. */
  setLatency(fixedMs: number, jitterMs = 0): void {
    this.latency = { fixedMs, jitterMs };
  }

  /** Past `perSecond` requests in any one-second window, answer 429; `null` lifts the limit. */
  setRateLimit(perSecond: number | null, retryAfterSeconds = 1): void {
    this.limit = perSecond === null ? null : { perSecond, retryAfterSeconds };
    this.admitted = [];
  }

  inject(fault: Fault, options: FaultRuleOptions = {}): void {
    this.rules.push({
      fault,
      remaining: options.times ?? (options.fraction === undefined ? 1 : Infinity),
      fraction: options.fraction ?? 1,
      routes: options.routes ?? null,
      projects: options.projects ?? null,
    });
  }

  clear(): void {
    this.rules = [];
    this.latency = { fixedMs: 0, jitterMs: 0 };
    this.limit = null;
    this.admitted = [];
  }

  reseed(seed: number): void {
    this.random = seeded(seed);
  }

  delayMs(): number {
    const { fixedMs, jitterMs } = this.latency;
    return fixedMs + (jitterMs > 0 ? Math.floor(this.random() * jitterMs) : 0);
  }

  /** Applies the hard rate limit: the Retry-After seconds when this request is over it, else null. */
  overLimit(now: number): number | null {
    if (!this.limit) return null;
    while (this.admitted.length > 0 && (this.admitted[0] ?? 0) <= now - 1000) this.admitted.shift();
    if (this.admitted.length >= this.limit.perSecond) return this.limit.retryAfterSeconds;
    this.admitted.push(now);
    return null;
  }

  /** The fault this request gets, if any: the first rule that matches and fires. */
  pick(route: RouteName, project?: string): Fault | null {
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.routes && !rule.routes.includes(route)) continue;
      if (rule.projects && (project === undefined || !rule.projects.includes(project))) continue;
      if (rule.fraction < 1 && this.random() >= rule.fraction) continue;
      rule.remaining -= 1;
      return rule.fault;
    }
    return null;
  }
}
