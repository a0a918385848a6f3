import { describe, expect, it } from 'vitest';
import { listedNames } from '../../src/pipelines/listed-names.js';

describe('listedNames', () => {
  it('holds 5,000 names past its first growth, and answers only for those', () => {
    const names = listedNames();
    for (let i = 0; i < 5000; i += 1) names.add(`project-${i}`);
    expect([0, 1023, 1024, 4999].every((i) => names.has(`project-${i}`))).toBe(true);
    expect(['project-5000', 'project', ''].some((name) => names.has(name))).toBe(false);
    // Added after a lookup: sorted again before the next one.
    names.add('late-comer');
    expect(names.has('late-comer')).toBe(true);
    expect(names.has('project-42')).toBe(true);
  });

  it('an empty listing holds nothing', () => {
    expect(listedNames().has('anything')).toBe(false);
  });
});
