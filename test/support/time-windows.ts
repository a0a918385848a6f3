/** The busiest window of `ms` that starts at one of `times` (ms): how many fall in it, and where it starts. */
export function busiestWindow(times: readonly number[], ms: number): { count: number; start: number } {
  const sorted = [...times].sort((a, b) => a - b);
  let best = { count: 0, start: sorted[0] ?? 0 };
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= ms) j += 1;
    if (i - j + 1 > best.count) best = { count: i - j + 1, start: sorted[j] ?? 0 };
  }
  return best;
}

/** The most of `times` (ms) in any window of `ms` that starts at one of them: a rate limit seen from outside. */
export function maxInWindow(times: readonly number[], ms: number): number {
  return busiestWindow(times, ms).count;
}
