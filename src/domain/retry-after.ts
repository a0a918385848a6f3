/**
 * `Retry-After` (RFC 9110 §10.2.3), read once for every peer (index, Kubernetes API): a
 * delay in seconds or an HTTP date, in milliseconds, never longer than a cap. A peer may
 * say anything (`Retry-After: 999999999`); past Node's timer limit a wait would fire at
 * once with a `TimeoutOverflowWarning`, and a long one would freeze a host for days.
 */

/** The longest wait a Retry-After or a backoff may impose unless configured (15 min). */
export const DEFAULT_MAX_BACKOFF_MS = 15 * 60_000;

/**
 * The wait `value` asks for, in ms (relative to `now` for a date), at most `maxMs`;
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now(), maxMs: number = DEFAULT_MAX_BACKOFF_MS): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Math.round(Number(text) * 1000);
  } else {
    const at = Date.parse(text);
    if (Number.isNaN(at) || !/[a-z]/i.test(text)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, maxMs);
}
