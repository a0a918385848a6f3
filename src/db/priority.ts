/**
 * When a known release is due for its next re-check: a Koschei-style priority with aging,
 * turned into a due time at write time (stored in `package_version.next_due_at`).
 *
 *   priority(h) = manual + static + boost + max(a·log10(h) + b, −30)
 *
 * with h the hours since the last check, a = threshold / (log10(t1) − log10(t0)) and
 * b = −a·log10(t0): the time term is 0 at t0 and reaches the threshold at t1. A row is due
 * when its priority reaches the threshold, so with no boost it is due t1 after its check
 * (the recheck interval), sooner when boosted, and never later than t1 whatever the
 * (possibly negative) manual priority. The boost favours recently released and recently
 * changed releases, decaying linearly over `recentWindowMs`.
 */
import { PkgstreamError } from '../domain/errors.js';

export interface PriorityOptions {
  /** Koschei threshold: the priority at which a row is due. */
  readonly threshold: number;
  /** t0: age at which the time term is 0 (Koschei: 6 h). */
  readonly baseIntervalMs: number;
  /** t1: every row is re-checked at least this often (Koschei: 7 days). */
  readonly recheckIntervalMs: number;
  /** Never re-check sooner than this after a check. */
  readonly minIntervalMs: number;
  /** Boost of a release published just now; decays to 0 over `recentWindowMs`. */
  readonly releaseBoost: number;
  /** Boost of a release whose state changed just now; decays to 0 over `recentWindowMs`. */
  readonly changeBoost: number;
  readonly recentWindowMs: number;
}

const HOUR = 3_600_000;

export const DEFAULT_PRIORITY: PriorityOptions = {
  threshold: 256,
  baseIntervalMs: 6 * HOUR,
  recheckIntervalMs: 168 * HOUR,
  minIntervalMs: 5 * 60_000,
  releaseBoost: 128,
  changeBoost: 128,
  recentWindowMs: 168 * HOUR,
};

export interface PriorityInput {
  /** When the row was (or is being) checked; `null`: never checked. */
  readonly checkedAt: Date | null;
  readonly releasedAt: Date | null;
  readonly lastChangedAt: Date | null;
  readonly manualPriority: number;
  readonly staticPriority: number;
}

/**
 * The priority for a recheck interval t1 (PKGSTREAM_RECHECK_INTERVAL): Koschei's shape
 * (t0 = 6 h for t1 = 7 days) kept for long intervals, scaled down with t1 below 7 days so
 * that t0 < t1 always holds.
 */
export function priorityForRecheckInterval(recheckIntervalMs: number): PriorityOptions {
  const baseIntervalMs = Math.min(DEFAULT_PRIORITY.baseIntervalMs, recheckIntervalMs / 28);
  return priorityOptions({ recheckIntervalMs, baseIntervalMs, minIntervalMs: Math.min(DEFAULT_PRIORITY.minIntervalMs, baseIntervalMs) });
}

/** Options with defaults filled in; throws on an inconsistent set. */
export function priorityOptions(overrides: Partial<PriorityOptions> = {}): PriorityOptions {
  const options = { ...DEFAULT_PRIORITY, ...overrides };
  if (!(options.baseIntervalMs > 0 && options.recheckIntervalMs > options.baseIntervalMs)) {
    throw new PkgstreamError('OPTION_RANGE', 'priority: need 0 < baseIntervalMs < recheckIntervalMs');
  }
  if (!(options.threshold > 0)) throw new PkgstreamError('OPTION_RANGE', 'priority: threshold must be > 0');
  if (options.minIntervalMs < 0 || options.minIntervalMs > options.recheckIntervalMs) {
    throw new PkgstreamError('OPTION_RANGE', 'priority: need 0 <= minIntervalMs <= recheckIntervalMs');
  }
  return options;
}

function slope(options: PriorityOptions): number {
  return options.threshold / Math.log10(options.recheckIntervalMs / options.baseIntervalMs);
}

/** 1 for an event at `at`, decaying linearly to 0 at `window` later; 0 for none. */
function freshness(event: Date | null, at: Date, window: number): number {
  if (event === null || window <= 0) return 0;
  const age = Math.max(0, at.getTime() - event.getTime());
  return Math.max(0, 1 - age / window);
}

/** manual + static + boost at `at`: everything but the time term. */
export function basePriority(input: PriorityInput, at: Date, options: PriorityOptions = DEFAULT_PRIORITY): number {
  return (
    input.manualPriority +
    input.staticPriority +
    options.releaseBoost * freshness(input.releasedAt, at, options.recentWindowMs) +
    options.changeBoost * freshness(input.lastChangedAt, at, options.recentWindowMs)
  );
}

/** The time term for `ageMs` since the last check: 0 at t0, threshold at t1, floor −30. */
export function timeTerm(ageMs: number, options: PriorityOptions = DEFAULT_PRIORITY): number {
  if (ageMs <= 0) return -30;
  const a = slope(options);
  return Math.max(a * Math.log10(ageMs / options.baseIntervalMs), -30);
}

/** The priority a row has at `at` (for display: "why is this row (not) due?"). */
export function priorityAt(input: PriorityInput, at: Date, options: PriorityOptions = DEFAULT_PRIORITY): number {
  if (input.checkedAt === null) return Number.POSITIVE_INFINITY;
  return basePriority(input, input.checkedAt, options) + timeTerm(at.getTime() - input.checkedAt.getTime(), options);
}

/** How long after its check a row becomes due, in ms, within [minIntervalMs, recheckIntervalMs]. */
export function recheckDelayMs(input: PriorityInput, at: Date, options: PriorityOptions = DEFAULT_PRIORITY): number {
  const rest = options.threshold - basePriority(input, at, options);
  // Solve a·log10(h/t0) = rest (the −30 floor only matters when the answer is below min).
  const delay = options.baseIntervalMs * 10 ** (rest / slope(options));
  if (!Number.isFinite(delay)) return rest > 0 ? options.recheckIntervalMs : options.minIntervalMs;
  return Math.min(options.recheckIntervalMs, Math.max(options.minIntervalMs, Math.round(delay)));
}

/**
 * When a row is next due. A row never checked is due at once (`now`); a checked row is due
 * `recheckDelayMs` after its check.
 */
export function nextDueAt(input: PriorityInput, now: Date, options: PriorityOptions = DEFAULT_PRIORITY): Date {
  if (input.checkedAt === null) return now;
  return new Date(input.checkedAt.getTime() + recheckDelayMs(input, input.checkedAt, options));
}
