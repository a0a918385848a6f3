import { describe, expect, it } from 'vitest';
import { lastValueFrom, of, throwError, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { PkgstreamError } from '../../../src/domain/errors.js';
import type { AttentionFailure } from '../../../src/domain/ports.js';
import type { ProjectRef } from '../../../src/domain/types.js';
import { FailureRecorder } from '../../../src/pipelines/update/failure-recorder.js';

const REF: ProjectRef = { indexId: 1, indexUrl: 'https://a.example/simple', project: 'alpha' };
const error = new PkgstreamError('INDEX_HTTP_5XX', 'boom');

function fakeStore(options: { attentionFails?: boolean; deferFails?: number } = {}) {
  const attention: AttentionFailure[] = [];
  const deferred: { id: number; until: number }[] = [];
  return {
    attention,
    deferred,
    store: {
      recordAttention: (failure: AttentionFailure) => {
        if (options.attentionFails) return throwError(() => new Error('no attention'));
        attention.push(failure);
        return of(failure);
      },
      deferCheck: (id: number, until: Date) => {
        if (id === options.deferFails) return throwError(() => new Error('no defer'));
        deferred.push({ id, until: until.getTime() });
        return of(undefined);
      },
    },
  };
}

describe('FailureRecorder', () => {
  const scheduler = new TestScheduler(() => undefined);
  scheduler.now = () => 10_000;

  it('records attention, defers every row seen, then emits the failed outcome', async () => {
    const fake = fakeStore();
    const recorder = new FailureRecorder({ store: fake.store, scheduler, deferOnFailureMs: 60_000 });
    const outcomes = await lastValueFrom(recorder.fail(REF, { stage: 'fetch', error, attempts: 3 }, [4, 5]).pipe(toArray()));
    expect(outcomes).toEqual([{ type: 'failed', indexUrl: REF.indexUrl, project: 'alpha', stage: 'fetch', errorCode: 'INDEX_HTTP_5XX', error, attempts: 3 }]);
    expect(fake.attention).toEqual([
      {
        pipeline: 'update',
        itemKey: `${REF.indexUrl}|alpha`,
        errorCode: 'INDEX_HTTP_5XX',
        errorMessage: 'boom',
        attempts: 3,
        payload: { stage: 'fetch', indexId: 1, project: 'alpha' },
        failedAt: new Date(10_000),
      },
    ]);
    expect(fake.deferred).toEqual([
      { id: 4, until: 70_000 },
      { id: 5, until: 70_000 },
    ]);
  });

  it('neither a failed attention write nor a failed deferral stops the outcome', async () => {
    const fake = fakeStore({ attentionFails: true, deferFails: 4 });
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, message: string) => warnings.push(message), error: (_: unknown, message: string) => warnings.push(message) };
    const recorder = new FailureRecorder({ store: fake.store, scheduler, deferOnFailureMs: 0, logger: logger as never });
    const outcomes = await lastValueFrom(recorder.fail(REF, { stage: 'apply', error, attempts: 1 }, [4, 5]).pipe(toArray()));
    expect(outcomes.map((outcome) => outcome.type)).toEqual(['failed']);
    expect(fake.deferred.map((row) => row.id)).toEqual([5]);
    expect(warnings).toEqual(['update: could not record attention', 'update: could not defer a failed row', 'update: project failed']);
  });
});
