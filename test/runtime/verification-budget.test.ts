import { describe, expect, it } from 'vitest';
import { budgetWarnings, verificationBudgets, type HostBudget } from '../../src/runtime/verification-budget.js';

const DAY = 86_400;

describe('verification budget (PKGSTREAM_VERIFY_SHARE)', () => {
  it("PyPI's 600,000 projects at 5/s and a share of 0.2: one cycle is 600,000 s (6.9 days), over a 1-day interval", () => {
    const [pypi] = verificationBudgets([{ simpleUrl: 'https://pypi.org/simple', enabled: true, projects: 600_000 }], { rate: 5, share: 0.2, recheckIntervalSeconds: DAY });
    expect(pypi).toEqual({ index: 'pypi.org', projects: 600_000, cycleSeconds: 600_000, overInterval: true });
    expect((pypi!.cycleSeconds / DAY).toFixed(2)).toBe('6.94');
  });

  it('indexes on one host share its rate; a disabled index costs nothing', () => {
    const budgets = verificationBudgets(
      [
        { simpleUrl: 'https://mirror.example/a/simple', enabled: true, projects: 300 },
        { simpleUrl: 'https://mirror.example/b/simple', enabled: true, projects: 100 },
        { simpleUrl: 'https://off.example/simple', enabled: false, projects: 1_000_000 },
      ],
      { rate: 10, share: 0.5, recheckIntervalSeconds: 3600 },
    );
    expect(budgets).toEqual([{ index: 'mirror.example', projects: 400, cycleSeconds: 80, overInterval: false }]);
  });

  it('warns once per host while over the interval, again after it fitted in between', () => {
    const warned: string[] = [];
    const warn = budgetWarnings((budget) => warned.push(budget.index));
    const at = (overInterval: boolean): HostBudget[] => [{ index: 'pypi.org', projects: 1, cycleSeconds: 1, overInterval }];
    for (const over of [true, true, false, true, true]) warn(at(over));
    expect(warned).toEqual(['pypi.org', 'pypi.org']);
  });
});
