import { describe, expect, it } from 'vitest';
import { PassTally } from '../../../src/pipelines/update/pass-tally.js';
import type { UpdateOutcome } from '../../../src/pipelines/update/outcome.js';

const checked = (events: number): UpdateOutcome => ({
  type: 'checked',
  indexUrl: 'https://a.example/simple',
  project: 'alpha',
  releases: 1,
  changed: 0,
  newReleases: [],
  notFound: false,
  events: Array.from({ length: events }, () => ({ type: 'package-released' }) as never),
  attempts: 1,
});
const failed: UpdateOutcome = { type: 'failed', indexUrl: 'https://a.example/simple', project: 'beta', stage: 'fetch', errorCode: 'X', error: new Error('x'), attempts: 3 };

describe('PassTally', () => {
  it('reads its figures into the pass-complete outcome', () => {
    const tally = new PassTally();
    tally.rowTaken();
    tally.rowTaken();
    tally.rowTaken();
    tally.projectStarted();
    tally.projectStarted();
    tally.ended(checked(2));
    tally.ended(failed);
    const startedAt = new Date(1_000);
    const finishedAt = new Date(5_000);
    expect(tally.complete({ startedAt, finishedAt, requests: 4 })).toEqual({
      type: 'pass-complete',
      rows: 3,
      projects: 2,
      requests: 4,
      failed: 1,
      events: 2,
      startedAt,
      finishedAt,
      stopped: false,
    });
  });

  it('counts the rows finished for the progress, and says when stop ended the scan', () => {
    const tally = new PassTally();
    expect(tally.rowFinished()).toBe(1);
    expect(tally.rowFinished()).toBe(2);
    expect(tally.done).toBe(2);
    tally.stoppedEarly();
    expect(tally.complete({ startedAt: new Date(0), finishedAt: new Date(0), requests: 0 })).toMatchObject({ rows: 0, stopped: true });
  });

  it('a skipped row counts in no figure but rows', () => {
    const tally = new PassTally();
    tally.ended({ type: 'skipped', indexUrl: 'u', project: 'p', version: '1', reason: 'project-checked' });
    expect(tally.complete({ startedAt: new Date(0), finishedAt: new Date(0), requests: 0 })).toMatchObject({ projects: 0, failed: 0, events: 0 });
  });
});
