import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { listenForShutdown } from '../../src/runtime/shutdown-signal.js';

describe('listenForShutdown', () => {
  it('turns the first SIGTERM into an abort and exits at once with 130 on a second signal', () => {
    const written: string[] = [];
    const exits: number[] = [];
    const fake = Object.assign(new EventEmitter(), {
      exit: (code: number) => void exits.push(code),
      stderr: { write: (text: string) => void written.push(text) },
    });
    const signal = listenForShutdown(fake as unknown as NodeJS.Process);
    expect(signal.aborted).toBe(false);
    fake.emit('SIGTERM', 'SIGTERM');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('SIGTERM');
    expect(exits).toEqual([]);
    fake.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([130]);
    expect(written.join('')).toContain('second signal (SIGINT): exiting now');
  });
});
