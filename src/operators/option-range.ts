/**
 * The one check of an option's range for operators and pipelines (in operators/, which
 * import only rxjs, domain types and each other). A value out of range is bad config that
 * got past the settings' own checks (or a caller's), so an `OPTION_RANGE` error naming the
 * owner and the option.
 */
import { PkgstreamError } from '../domain/errors.js';

/** `value` is an integer >= `min` (1 unless given). */
export function requireInteger(owner: string, name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) throw new PkgstreamError('OPTION_RANGE', `${owner}: ${name} must be an integer >= ${min}, got ${value}`);
}

/** `value` is a finite number above `min` (or at least `min` when `inclusive`). */
export function requireNumber(owner: string, name: string, value: number, min: number, inclusive: boolean): void {
  const ok = Number.isFinite(value) && (inclusive ? value >= min : value > min);
  if (!ok) throw new PkgstreamError('OPTION_RANGE', `${owner}: ${name} must be ${inclusive ? '>=' : '>'} ${min}, got ${value}`);
}
