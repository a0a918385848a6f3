/** SolverJobsState: the active count and the finishes the solver Jobs watch publishes. */
import { describe, expect, it } from 'vitest';
import { SolverJobsState } from '../../src/sinks/solver-jobs-state.js';

const job = (name: string, condition?: 'Complete' | 'Failed', uid = `uid-${name}`) => ({
  metadata: { name, uid },
  status: condition ? { conditions: [{ type: condition, status: 'True' }] } : {},
});

describe('SolverJobsState', () => {
  it('counts the listed active Jobs and reports the listed finished ones', () => {
    const state = new SolverJobsState(100);
    const events = state.listed([job('a'), job('b'), job('c', 'Failed')]);
    expect(events.map((e) => (e.type === 'active' ? `active ${e.count}` : `finished ${e.job.name} ${e.job.phase}`))).toEqual(['finished c failed', 'active 2']);
    expect(state.activeCount).toBe(2);
  });

  it('reports a finish once, even when a re-list shows it again, and the count only when it changes', () => {
    const state = new SolverJobsState(100);
    state.listed([job('a')]);
    expect(state.changed('MODIFIED', job('a', 'Complete')).map((e) => e.type)).toEqual(['finished', 'active']);
    expect(state.listed([job('a', 'Complete')])).toEqual([]);
    expect(state.changed('MODIFIED', job('a', 'Complete'))).toEqual([]);
  });

  it('a re-list forgets Jobs deleted while unwatched; a DELETED event drops its Job', () => {
    const state = new SolverJobsState(100);
    state.listed([job('a'), job('b')]);
    expect(state.listed([job('b')])).toEqual([{ type: 'active', count: 1 }]);
    expect(state.changed('DELETED', job('b'))).toEqual([{ type: 'active', count: 0 }]);
  });

  it('ignores a Job without a name', () => {
    const state = new SolverJobsState(100);
    expect(state.changed('ADDED', { metadata: {} })).toEqual([{ type: 'active', count: 0 }]);
    expect(state.activeCount).toBe(0);
  });
});
