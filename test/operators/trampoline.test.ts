import { describe, expect, it } from 'vitest';
import { trampoline } from '../../src/operators/trampoline.js';

describe('trampoline', () => {
  it('turns a call made during the pass into one more pass, never a nested one', () => {
    let depth = 0;
    let deepest = 0;
    let passes = 0;
    let remaining = 100_000; // deep enough to overflow the stack if the calls recursed
    const pump = trampoline(() => {
      depth += 1;
      deepest = Math.max(deepest, depth);
      passes += 1;
      if (remaining > 0) {
        remaining -= 1;
        pump();
        pump(); // asking twice during one pass still means one more pass
      }
      depth -= 1;
    });
    pump();
    expect(deepest).toBe(1);
    expect(passes).toBe(100_001);
  });

  it('runs again on the next call after a pass that threw', () => {
    let calls = 0;
    const pump = trampoline(() => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
    });
    expect(() => pump()).toThrow('boom');
    pump();
    expect(calls).toBe(2);
  });
});
