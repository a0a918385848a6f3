import { interval, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { whileLeased } from '../../src/operators/while-leased.js';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A marble with `value` at each given frame and `-` elsewhere (one character a frame). */
function marbleAt(frames: readonly number[], value = 'w'): string {
  const last = Math.max(...frames);
  return Array.from({ length: last + 1 }, (_, frame) => (frames.includes(frame) ? value : '-')).join('');
}

/** Work that ticks every 3 ms while subscribed. */
const ticking = () => interval(3).pipe(map(() => 'w'));

describe('whileLeased', () => {
  it('runs the work while held, cuts it off when a renewal says another replica took the lease, restarts it when taken back', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      // Renewals at 0, 10, 20, ...: held, held, lost, lost, held, held, ...
      const answers = [true, true, false, false, true, true, true];
      let call = 0;
      const changes: boolean[] = [];
      const result = whileLeased({ take: () => cold('(x|)', { x: answers[call++] ?? true }), renewEveryMs: 10, onChange: (held) => changes.push(held) }, ticking);
      // Work from 0 to 20 (ticks 3..18), none while another replica holds it, again from 40.
      expectObservable(result, '^ 59ms !').toBe(marbleAt([3, 6, 9, 12, 15, 18, 43, 46, 49, 52, 55, 58]));
      flush();
      expect(changes).toEqual([true, false, true]);
    });
  });

  it('a failing renewal counts as not held and is reported with its error', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const changes: [boolean, string | undefined][] = [];
      let call = 0;
      const take = () => (call++ === 1 ? cold<boolean>('#', undefined, new Error('database down')) : cold('(x|)', { x: true }));
      const result = whileLeased({ take, renewEveryMs: 10, onChange: (held, error) => changes.push([held, error instanceof Error ? error.message : undefined]) }, ticking);
      expectObservable(result, '^ 29ms !').toBe(marbleAt([3, 6, 9, 23, 26, 29]));
      flush();
      expect(changes).toEqual([
        [true, undefined],
        [false, 'database down'],
        [true, undefined],
      ]);
    });
  });

  it('on stop takes no lease any more and completes when the running work completes', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const stop$ = hot('---s');
      const takes = cold('(x|)', { x: true });
      const result = whileLeased({ take: () => takes, renewEveryMs: 2, stop$ }, () => cold('a 9ms (b|)'));
      expectObservable(result).toBe('a 9ms (b|)');
      // Taken at 0 and renewed at 2; none after the stop at 3.
      expectSubscriptions(takes.subscriptions).toBe(['(^!)', '--(^!)']);
    });
  });

  it('a renewal still running when the next tick comes is not called twice', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('----(x|)', { x: true });
      expectObservable(whileLeased({ take: () => slow, renewEveryMs: 2 }, () => cold('a')), '^ 9ms !').toBe('----a');
      // Ticks at 0, 2, 4, 6, 8: calls at 0, 4 and 8 (each as the one before ends); 2 and 6 skipped.
      expectSubscriptions(slow.subscriptions).toBe(['^---!', '----^---!', '--------^-!']);
    });
  });
});
