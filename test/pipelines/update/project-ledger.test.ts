import { describe, expect, it } from 'vitest';
import { projectKey } from '../../../src/domain/project-key.js';
import type { ProjectRef } from '../../../src/domain/types.js';
import { ProjectLedger } from '../../../src/pipelines/update/project-ledger.js';

const ref = (project: string, indexId = 1): ProjectRef => ({ indexId, indexUrl: `https://${indexId}.example/simple`, project });

describe('ProjectLedger', () => {
  it('checks a project at its first row; its later rows, in flight or after, are project-checked', () => {
    const ledger = new ProjectLedger();
    const first = ledger.row(ref('alpha'), 1, false);
    expect(first).toEqual({ check: { rows: [1], queued: false } });
    expect(ledger.row(ref('alpha'), 2, false)).toEqual({ skip: 'project-checked' });
    ledger.end(ref('alpha'), 'checked');
    expect(ledger.row(ref('alpha'), 3, false)).toEqual({ skip: 'project-checked' });
  });

  it('keeps the rows seen while in flight with the project (they are deferred if it fails)', () => {
    const ledger = new ProjectLedger();
    const decision = ledger.row(ref('alpha'), 1, true);
    ledger.row(ref('alpha'), 2, false);
    expect(decision).toEqual({ check: { rows: [1, 2], queued: true } });
  });

  it('a failed project: its later rows are project-failed', () => {
    const ledger = new ProjectLedger();
    ledger.row(ref('alpha'), 1, false);
    ledger.end(ref('alpha'), 'failed');
    expect(ledger.row(ref('alpha'), 2, false)).toEqual({ skip: 'project-failed' });
  });

  it('tells projects apart by index and name', () => {
    const ledger = new ProjectLedger();
    ledger.row(ref('alpha', 1), 1, false);
    expect(ledger.row(ref('alpha', 2), 2, false)).toEqual({ check: { rows: [2], queued: false } });
    expect(ledger.row(ref('beta', 1), 3, false)).toEqual({ check: { rows: [3], queued: false } });
  });

  it('a project without a due row starts with no rows', () => {
    const ledger = new ProjectLedger();
    expect(ledger.project(ref('alpha'))).toEqual({ rows: [], queued: false });
    expect(ledger.row(ref('alpha'), 1, false)).toEqual({ skip: 'project-checked' });
  });

  it('remembers at most maxRemembered ended projects: one forgotten is checked again', () => {
    const ledger = new ProjectLedger(1);
    for (const [name, id] of [['alpha', 1], ['beta', 2]] as const) {
      ledger.row(ref(name), id, false);
      ledger.end(ref(name), 'checked');
    }
    expect(ledger.row(ref('beta'), 3, false)).toEqual({ skip: 'project-checked' });
    expect(ledger.row(ref('alpha'), 4, false)).toEqual({ check: { rows: [4], queued: false } });
  });
});

describe('projectKey', () => {
  it('is indexId|project', () => {
    expect(projectKey(ref('alpha', 7))).toBe('7|alpha');
  });
});
