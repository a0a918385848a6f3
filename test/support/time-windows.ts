/** The most of `times` (ms) in any window of `ms` that starts at one of them: a rate limit seen from outside. */
export function maxInWindow(times: readonly number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= ms) j += 1;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
