import { describe, expect, it } from 'vitest';
import { SerialWork } from '../../src/sinks/serial-work.js';

/** A promise and the functions that settle it. */
function gate<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('SerialWork', () => {
  it('starts each piece once the one before it settled, in the order asked', async () => {
    const serial = new SerialWork();
    const log: string[] = [];
    const first = gate<string>();
    const a = serial.run(async () => {
      log.push('a starts');
      return first.promise;
    });
    const b = serial.run(async () => {
      log.push('b starts');
      return 'b';
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['a starts']);
    first.resolve('a');
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(log).toEqual(['a starts', 'b starts']);
  });

  it('gives a failure to its own caller and goes on with the next piece', async () => {
    const serial = new SerialWork();
    const failing = gate<never>();
    const a = serial.run(() => failing.promise);
    const b = serial.run(async () => 'b');
    failing.reject(new Error('broker down'));
    await expect(a).rejects.toThrow('broker down');
    await expect(b).resolves.toBe('b');
    await expect(serial.run(async () => 'c')).resolves.toBe('c');
  });
});
