/** The dispatch pipeline's bookkeeping units: outcome waiters, the drain of dispatchOnce, launched Jobs. */
import { describe, expect, it } from 'vitest';
import { firstValueFrom } from 'rxjs';
import type { JobStatus } from '../../src/domain/types.js';
import { LaunchedJobs } from '../../src/pipelines/launched-jobs.js';
import { OnceDrain } from '../../src/pipelines/once-drain.js';
import { OutcomeWaiters } from '../../src/pipelines/outcome-waiters.js';

const ITEM = { releaseId: 1, indexUrl: 'https://pypi.example/simple', project: 'alpha', version: '1.0', solver: 'solver-a' };

describe('OutcomeWaiters', () => {
  it('settles the held item and every repeat dropped while it was in flight, once', () => {
    const waiters = new OutcomeWaiters();
    const settled: string[] = [];
    waiters.hold('k', () => settled.push('first'));
    waiters.dropped('k', () => settled.push('repeat'));
    expect(settled).toEqual([]);
    waiters.settle('k');
    waiters.settle('k');
    expect(settled).toEqual(['first', 'repeat']);
  });

  it('settles a repeat at once when its item already had its outcome', () => {
    const waiters = new OutcomeWaiters();
    const settled: string[] = [];
    waiters.dropped('k', () => settled.push('late repeat'));
    expect(settled).toEqual(['late repeat']);
  });
});

describe('OnceDrain', () => {
  it('is done once the scan ended and nothing is busy, and only once', () => {
    let done = 0;
    const drain = new OnceDrain(() => (done += 1));
    drain.started();
    drain.scanEnded();
    expect(done).toBe(0);
    drain.started();
    drain.ended();
    expect(done).toBe(0);
    drain.ended();
    expect(done).toBe(1);
    drain.started();
    drain.ended();
    expect(done).toBe(1);
  });

  it('is not done while the scan runs, however idle', () => {
    let done = 0;
    const drain = new OnceDrain(() => (done += 1));
    drain.started();
    drain.ended();
    expect(done).toBe(0);
  });
});

describe('LaunchedJobs', () => {
  const job: JobStatus = { name: 'job-a', phase: 'succeeded', labels: {}, annotations: {}, startedAt: null, finishedAt: null };

  it('gives a launched Job its recorded attempts, to a reader before or after they are known', async () => {
    const launched = new LaunchedJobs(10);
    const recorded = launched.launch('job-a', ITEM);
    const before = firstValueFrom(launched.get('job-a')!.recorded);
    recorded(2);
    await expect(before).resolves.toBe(2);
    await expect(firstValueFrom(launched.get('job-a')!.recorded)).resolves.toBe(2);
    expect(launched.get('job-a')?.item).toEqual(ITEM);
    launched.forget('job-a');
    expect(launched.get('job-a')).toBeUndefined();
  });

  it('keeps an unmatched finish until it is taken, once', () => {
    const launched = new LaunchedJobs(10);
    launched.unmatchedFinish(job);
    expect(launched.takeUnmatched('job-a')).toEqual(job);
    expect(launched.takeUnmatched('job-a')).toBeUndefined();
  });

  it('remembers at most `max` of each', () => {
    const launched = new LaunchedJobs(2);
    for (const name of ['a', 'b', 'c']) launched.launch(name, ITEM);
    expect(launched.get('a')).toBeUndefined();
    expect(launched.get('c')).toBeDefined();
  });
});
