import { describe, expect, it } from 'vitest';
import { SendWindow } from '../../src/sources/index-client/send-window.js';

describe('SendWindow: at most max sends in any window', () => {
  it('lets sends go until max are in the window, then waits for the oldest to leave it', () => {
    const window = new SendWindow(3, 1100);
    for (const at of [0, 10, 20]) {
      expect(window.waitAt(at)).toBe(0);
      window.record(at);
    }
    expect(window.waitAt(500)).toBe(600);
    expect(window.waitAt(1100)).toBe(0);
    window.record(1100);
    // The window now holds 10, 20 and 1100: the next may go when 10 leaves it.
    expect(window.waitAt(1100)).toBe(10);
  });

  it('never holds back a steady rate below max per window', () => {
    const window = new SendWindow(60, 1100);
    for (let at = 0; at < 10_000; at += 20) {
      expect(window.waitAt(at)).toBe(0);
      window.record(at);
    }
  });

  it("a fractional bound (a replica's share) counts whole sends: it never stalls", () => {
    const window = new SendWindow(8.33, 1100);
    for (let at = 0; at < 8; at += 1) {
      expect(window.waitAt(at)).toBe(0);
      window.record(at);
    }
    expect(window.waitAt(8)).toBe(1092);
    expect(window.waitAt(1100)).toBe(0);
  });

  it('a smaller bound applies to the sends already counted', () => {
    const window = new SendWindow(4, 1000);
    [0, 1, 2].forEach((at) => window.record(at));
    window.resize(2);
    expect(window.waitAt(3)).toBe(998);
    window.resize(0.5);
    expect(window.waitAt(3)).toBe(999);
  });
});
