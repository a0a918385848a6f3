/** The events a release's changes of state become; `unchanged` and `digests-learned` become none. */
import type { EventKind, PackageEvent, ReleaseChange } from '../domain/types.js';

const KIND_OF_CHANGE: Record<Exclude<ReleaseChange['kind'], 'unchanged' | 'digests-learned'>, EventKind> = {
  'missing-package': 'missing-package',
  'missing-version': 'missing-version',
  'hash-mismatch': 'hash-mismatch',
  'package-yanked': 'package-yanked',
  'package-unyanked': 'package-unyanked',
  reappeared: 'package-reappeared',
};

export function eventsForChanges(
  release: { readonly indexUrl: string; readonly project: string; readonly version: string },
  changes: readonly ReleaseChange[],
): PackageEvent[] {
  const base = { indexUrl: release.indexUrl, project: release.project, version: release.version };
  return changes.flatMap((change): PackageEvent[] => {
    switch (change.kind) {
      case 'unchanged':
      case 'digests-learned':
        return [];
      case 'hash-mismatch':
        return [{ ...base, kind: 'hash-mismatch', fields: { missing_from_source: change.missingFromSource, missing_from_database: change.missingFromDatabase } }];
      case 'package-yanked':
        return [{ ...base, kind: 'package-yanked', fields: { yanked_reason: change.reason } }];
      default:
        return [{ ...base, kind: KIND_OF_CHANGE[change.kind] }];
    }
  });
}
