import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PRIORITY,
  nextDueAt,
  priorityAt,
  priorityForRecheckInterval,
  priorityOptions,
  recheckDelayMs,
  timeTerm,
  type PriorityInput,
} from '../../src/db/priority.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const checkedAt = new Date('2024-05-01T12:00:00Z');

function input(overrides: Partial<PriorityInput> = {}): PriorityInput {
  return { checkedAt, releasedAt: null, lastChangedAt: null, manualPriority: 0, staticPriority: 0, ...overrides };
}

describe('Koschei time term', () => {
  it.each([
    [6 * HOUR, 0],
    [24 * HOUR, 106.5],
    [168 * HOUR, 256],
    [1 * HOUR, -30],
    [0, -30],
  ])('after %d ms is %d', (age, expected) => {
    expect(timeTerm(age)).toBeCloseTo(expected, 0);
  });
});

describe('recheck delay after a check', () => {
  const sqrt28 = Math.sqrt(28);
  it.each<[string, Partial<PriorityInput>, number]>([
    ['no boost: the recheck interval', {}, 168 * HOUR],
    ['just released: +128', { releasedAt: checkedAt }, 6 * sqrt28 * HOUR],
    ['just released and just changed: +256, due at t0', { releasedAt: checkedAt, lastChangedAt: checkedAt }, 6 * HOUR],
    ['released half a window ago: +64', { releasedAt: new Date(checkedAt.getTime() - 3.5 * DAY) }, 6 * 28 ** 0.75 * HOUR],
    ['released longer ago than the window: no boost', { releasedAt: new Date(checkedAt.getTime() - 30 * DAY) }, 168 * HOUR],
    ['static +128', { staticPriority: 128 }, 6 * sqrt28 * HOUR],
    ['manual +256', { manualPriority: 256 }, 6 * HOUR],
    ['manual +512', { manualPriority: 512 }, (6 / 28) * HOUR],
    ['manual +3000: the minimum', { manualPriority: 3000 }, DEFAULT_PRIORITY.minIntervalMs],
    ['manual −1000: never later than the recheck interval', { manualPriority: -1000 }, 168 * HOUR],
  ])('%s', (_name, overrides, expected) => {
    expect(recheckDelayMs(input(overrides), checkedAt) / expected).toBeCloseTo(1, 5);
  });

  it('is due exactly when the priority reaches the threshold', () => {
    for (const overrides of [{}, { releasedAt: checkedAt }, { staticPriority: 50, manualPriority: 20 }]) {
      const due = nextDueAt(input(overrides), checkedAt);
      expect(priorityAt(input(overrides), due)).toBeCloseTo(DEFAULT_PRIORITY.threshold, 3);
      expect(priorityAt(input(overrides), new Date(due.getTime() - HOUR))).toBeLessThan(DEFAULT_PRIORITY.threshold);
    }
  });

  it('makes a never-checked release due at once', () => {
    const now = new Date('2024-06-01T00:00:00Z');
    expect(nextDueAt(input({ checkedAt: null }), now)).toEqual(now);
  });

  it('follows a configured recheck interval', () => {
    const options = priorityOptions({ recheckIntervalMs: 24 * HOUR });
    expect(recheckDelayMs(input(), checkedAt, options)).toBe(24 * HOUR);
    expect(recheckDelayMs(input({ releasedAt: checkedAt }), checkedAt, options)).toBeLessThan(24 * HOUR);
  });

  it('builds a consistent priority for any PKGSTREAM_RECHECK_INTERVAL, from one second to a year', () => {
    for (const recheck of [1_000, HOUR, 24 * HOUR, 168 * HOUR, 365 * 24 * HOUR]) {
      const options = priorityForRecheckInterval(recheck);
      expect(recheckDelayMs(input(), checkedAt, options), `t1 ${recheck}`).toBe(recheck);
      expect(options.baseIntervalMs).toBeLessThan(recheck);
    }
    // Koschei's own shape at 7 days.
    expect(priorityForRecheckInterval(168 * HOUR)).toEqual(priorityOptions());
  });

  it('rejects inconsistent options', () => {
    expect(() => priorityOptions({ recheckIntervalMs: HOUR })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
    expect(() => priorityOptions({ threshold: 0 })).toThrow(expect.objectContaining({ code: 'OPTION_RANGE' }));
  });
});
