import { describe, expect, it } from 'vitest';
import { OffsetTracker, type CommitRequest } from '../../src/sources/offset-tracker.js';

/** A tracker whose commits are recorded (and fail while `failing` is set). */
function tracker() {
  const commits: CommitRequest[][] = [];
  const failures: CommitRequest[][] = [];
  const committed: CommitRequest[][] = [];
  const state = { failing: false };
  const offsets = new OffsetTracker(
    async (requests) => {
      if (state.failing) throw new Error('rebalance in progress');
      commits.push([...requests]);
    },
    (_error, requests) => failures.push([...requests]),
    (requests) => committed.push([...requests]),
  );
  return { offsets, commits, failures, committed, state };
}

describe('OffsetTracker', () => {
  it('commits the contiguous acked prefix (offset + 1); a later ack waits for the earlier ones', async () => {
    const { offsets, commits, committed } = tracker();
    const [m0, m1, m2] = ['0', '1', '2'].map((offset) => offsets.track('t', 0, offset).message);
    let twoDone = false;
    const two = offsets.ack(m2!).then(() => (twoDone = true));
    await offsets.flush();
    expect(commits).toEqual([]);
    expect(offsets.outstanding).toBe(3);
    await offsets.ack(m0!);
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: 1n }]]);
    expect(twoDone).toBe(false);
    await offsets.ack(m1!);
    await two; // settled by the commit that covers it
    expect(commits.at(-1)).toEqual([{ topic: 't', partition: 0, offset: 3n }]);
    expect(offsets.committed('t', 0)).toBe(3n);
    expect(committed).toEqual(commits);
    expect(offsets.outstanding).toBe(0);
  });

  it('counts a redelivery of a tracked offset once, and an ack twice as one', async () => {
    const { offsets, commits } = tracker();
    const first = offsets.track('t', 0, '5');
    const again = offsets.track('t', 0, '5');
    expect([first.isNew, again.isNew]).toEqual([true, false]);
    await Promise.all([offsets.ack(first.message), offsets.ack(again.message)]);
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: 6n }]]);
  });

  it('coalesces acks of several partitions into one commit while one runs', async () => {
    const { offsets, commits } = tracker();
    const a = offsets.track('t', 0, '0').message;
    const b = offsets.track('t', 1, '7').message;
    const c = offsets.track('t', 0, '1').message;
    await Promise.all([offsets.ack(a), offsets.ack(b), offsets.ack(c)]);
    expect(commits.flat()).toContainEqual({ topic: 't', partition: 1, offset: 8n });
    expect(commits.at(-1)).toContainEqual({ topic: 't', partition: 0, offset: 2n });
    expect(commits.length).toBeLessThan(3);
  });

  it('after a rebalance (new epoch) commits nothing for earlier messages and settles their waits', async () => {
    const { offsets, commits } = tracker();
    const m0 = offsets.track('t', 0, '0').message;
    const m1 = offsets.track('t', 0, '1').message;
    const waiting = offsets.ack(m1);
    offsets.newEpoch();
    await waiting; // settled without a commit
    await offsets.ack(m0);
    expect(commits).toEqual([]);
    expect(offsets.committed('t', 0)).toBeNull();
    expect(offsets.outstanding).toBe(0);
  });

  it('reports a failed commit and resolves the ack: the messages will be redelivered', async () => {
    const { offsets, failures, state } = tracker();
    state.failing = true;
    await offsets.ack(offsets.track('t', 0, '0').message);
    expect(failures).toEqual([[{ topic: 't', partition: 0, offset: 1n }]]);
    expect(offsets.committed('t', 0)).toBeNull();
  });

  it('commits nothing for an offset behind what this epoch passed (a seek back)', async () => {
    const { offsets, commits } = tracker();
    await offsets.ack(offsets.track('t', 0, '4').message);
    const behind = offsets.track('t', 0, '2');
    expect(behind.isNew).toBe(true);
    await offsets.ack(behind.message);
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: 5n }]]);
  });
});
