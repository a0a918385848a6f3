/** A stored release as the database hands it out: present, never checked, due since the epoch; `fields` override. */
import type { PackageIndex, StoredRelease } from '../../src/domain/types.js';

export function storedRelease(index: Pick<PackageIndex, 'id' | 'simpleUrl'>, project: string, version: string, fields: Partial<StoredRelease> & Pick<StoredRelease, 'id'>): StoredRelease {
  return {
    indexId: index.id,
    indexUrl: index.simpleUrl,
    project,
    version,
    state: 'present',
    yankedReason: null,
    artifacts: [],
    lastCheckedAt: null,
    nextDueAt: new Date(0),
    ...fields,
  };
}
