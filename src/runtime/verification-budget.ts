/**
 * What PKGSTREAM_VERIFY_SHARE buys (issue 15): the update pipeline re-checks every known
 * project in turn within its share of the index host's rate, so one full verification cycle
 * of a host takes its projects / (rate × share) seconds. A cycle longer than
 * PKGSTREAM_RECHECK_INTERVAL means releases come due faster than they can be verified: the
 * service says so (a warning per host, again only after the cycle fitted once more).
 *
 *   PyPI at 5/s and 0.2: 600,000 projects / 1 per s = 600,000 s, about 6.9 days.
 */
import { indexHost } from '../domain/index-host.js';

export interface HostBudget {
  readonly index: string;
  readonly projects: number;
  readonly cycleSeconds: number;
  readonly overInterval: boolean;
}

export interface BudgetSettings {
  /** Requests per second per index host (PKGSTREAM_RATE_LIMIT), and the update pipeline's fraction of it. */
  readonly rate: number;
  readonly share: number;
  readonly recheckIntervalSeconds: number;
}

/** One budget per index host: the projects of every enabled index on it share its rate. */
export function verificationBudgets(indexes: readonly { readonly simpleUrl: string; readonly enabled: boolean; readonly projects: number }[], settings: BudgetSettings): HostBudget[] {
  const projects = new Map<string, number>();
  for (const index of indexes) {
    if (!index.enabled) continue;
    const host = indexHost(index);
    projects.set(host, (projects.get(host) ?? 0) + index.projects);
  }
  return [...projects].map(([index, count]) => {
    const cycleSeconds = count / (settings.rate * settings.share);
    return { index, projects: count, cycleSeconds, overInterval: cycleSeconds > settings.recheckIntervalSeconds };
  });
}

/** Warns once when a host's cycle outgrows the interval, and again only after it fitted in between. */
export function budgetWarnings(warn: (budget: HostBudget) => void): (budgets: readonly HostBudget[]) => void {
  const over = new Set<string>();
  return (budgets) => {
    for (const budget of budgets) {
      if (budget.overInterval && !over.has(budget.index)) warn(budget);
      if (budget.overInterval) over.add(budget.index);
      else over.delete(budget.index);
    }
  };
}
