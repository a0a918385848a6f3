/**
 * What the Jobs of the local API server went through, seen from the store: how many times
 * each Job name was created (a 409 stores nothing, so only successful creates count; a
 * name deleted and created again counts twice), and the most Jobs active (not Complete or
 * Failed) at once per namespace, for tests that bound a global solver capacity.
 */
import { activeJobs } from './admission.js';
import { JOBS } from './resources.js';
import type { Store } from './store.js';

export interface JobTally {
  /** Successful creates per Job name of `namespace`. */
  creates(namespace: string): Map<string, number>;
  /** The most Jobs of `namespace` active at once since the server started. */
  maxActive(namespace: string): number;
}

export function tallyJobs(store: Store): JobTally {
  const creates = new Map<string, Map<string, number>>();
  const maxActive = new Map<string, number>();
  store.subscribe((event) => {
    if (event.resource !== JOBS) return;
    const { namespace, name } = event.object.metadata;
    if (event.type === 'ADDED') {
      const names = creates.get(namespace) ?? new Map<string, number>();
      creates.set(namespace, names.set(name, (names.get(name) ?? 0) + 1));
    }
    maxActive.set(namespace, Math.max(maxActive.get(namespace) ?? 0, activeJobs(store, namespace)));
  });
  return {
    creates: (namespace) => new Map(creates.get(namespace)),
    maxActive: (namespace) => maxActive.get(namespace) ?? 0,
  };
}
