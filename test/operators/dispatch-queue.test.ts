import { describe, expect, it } from 'vitest';
import { DispatchQueue } from '../../src/operators/dispatch-queue.js';

describe('DispatchQueue', () => {
  it('hands out items in arrival order, each call counted as an attempt', () => {
    const queue = new DispatchQueue<string>(3);
    queue.push('a');
    queue.push('b');
    expect(queue.length).toBe(2);
    expect(queue.startCall()).toEqual({ item: 'a', attempts: 1 });
    expect(queue.startCall()).toEqual({ item: 'b', attempts: 1 });
    expect(queue.startCall()).toBeUndefined();
  });

  it('puts a retriable failure back at the head until maxAttempts, then it fails for good', () => {
    const queue = new DispatchQueue<string>(2);
    queue.push('a');
    queue.push('b');
    const first = queue.startCall()!;
    expect(queue.callFailed(first, true, false)).toEqual({ item: 'a', attempts: 1, retried: true });
    const second = queue.startCall()!;
    expect(second).toEqual({ item: 'a', attempts: 2 });
    expect(queue.callFailed(second, true, false)).toEqual({ item: 'a', attempts: 2, retried: false });
    expect(queue.startCall()?.item).toBe('b');
  });

  it('fails a non-retriable error at once, and a refusal uses up no attempt', () => {
    const queue = new DispatchQueue<string>(1);
    queue.push('a');
    let call = queue.startCall()!;
    for (let refusal = 0; refusal < 5; refusal += 1) {
      expect(queue.callFailed(call, true, true).retried).toBe(true);
      call = queue.startCall()!;
    }
    expect(call.attempts).toBe(1);
    expect(queue.callFailed(call, false, false)).toEqual({ item: 'a', attempts: 1, retried: false });
    expect(queue.length).toBe(0);
  });
});
