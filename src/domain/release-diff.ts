/**
 * `diffRelease`: what changed between a stored release and its index page (a domain rule:
 * pure, no time, no I/O).
 *
 * Only *changes of state* are reported; a release that is as the database says is
 * `[{ kind: 'unchanged' }]`. Rules, in order:
 * - Project absent (`'not-found'`): `missing-package`, unless the stored state is already
 *   `missing` (the state does not record whether the package or the version went missing;
 *   still missing is unchanged).
 * - Version absent from the page, compared by PEP 440 key (`1.0` == `1.0.0`, never raw
 *   strings; a version that is not PEP 440 compares by its trimmed, lower-cased string):
 *   `missing-version`, unless already `missing`.
 * - Otherwise, several may apply together:
 *   - stored `missing` -> `reappeared`;
 *   - the sets of sha256 differ -> `hash-mismatch` with `missingFromSource` (in the
 *     database, not on the index) and `missingFromDatabase` (on the index, not in the
 *     database), each sorted. Index files without a sha256 cannot be compared: they are
 *     left out, and so are stored artifacts of the same filename;
 *   - a file stored without a sha256 that the index now lists with one -> `digests-learned`
 *     (its digest is stored; no event: the artifact did not change), and its digest is left
 *     out of the comparison above;
 *   - every file yanked (at least one file) and stored not `yanked` -> `package-yanked`
 *     with the first reason given (or null);
 *   - stored `yanked` and some file not yanked -> `package-unyanked`.
 */
import { releaseKey } from './pep440.js';
import type { IndexFile, ProjectPage, ReleaseChange, StoredRelease } from './types.js';

const UNCHANGED: readonly ReleaseChange[] = [{ kind: 'unchanged' }];

/** Every file the page lists for versions equal (by PEP 440) to `version`, or null if none is. */
export function filesOf(page: ProjectPage, version: string): IndexFile[] | null {
  const wanted = releaseKey(version);
  let files: IndexFile[] | null = null;
  for (const release of page.releases) {
    if (releaseKey(release.version) === wanted) (files ??= []).push(...release.files);
  }
  return files;
}

export function diffRelease(stored: StoredRelease, page: ProjectPage | 'not-found'): ReleaseChange[] {
  const missing = stored.state === 'missing';
  if (page === 'not-found') return missing ? [...UNCHANGED] : [{ kind: 'missing-package' }];
  const files = filesOf(page, stored.version);
  if (files === null) return missing ? [...UNCHANGED] : [{ kind: 'missing-version' }];

  const changes: ReleaseChange[] = [];
  if (missing) changes.push({ kind: 'reappeared' });

  // Only digests both sides know compare: a file the index lists without a sha256 says
  // nothing of the stored one, and a digest that appears where none was stored is learned,
  // not changed (a static index that starts publishing #sha256= fragments).
  const unhashedOnIndex = new Set(files.filter((f) => f.sha256 === null).map((f) => f.filename));
  const unhashedStored = new Set(stored.artifacts.filter((a) => a.sha256 === null).map((a) => a.filename));
  const learned = [...new Set(files.filter((f) => f.sha256 !== null && unhashedStored.has(f.filename)).map((f) => f.filename))].sort();
  const onIndex = new Set(files.flatMap((f) => (f.sha256 === null || unhashedStored.has(f.filename) ? [] : [f.sha256.toLowerCase()])));
  const inDatabase = new Set(stored.artifacts.flatMap((a) => (a.sha256 === null || unhashedOnIndex.has(a.filename) ? [] : [a.sha256.toLowerCase()])));
  const missingFromSource = [...inDatabase].filter((h) => !onIndex.has(h)).sort();
  const missingFromDatabase = [...onIndex].filter((h) => !inDatabase.has(h)).sort();
  if (missingFromSource.length > 0 || missingFromDatabase.length > 0) {
    changes.push({ kind: 'hash-mismatch', missingFromSource, missingFromDatabase });
  }
  if (learned.length > 0) changes.push({ kind: 'digests-learned', filenames: learned });

  const allYanked = files.length > 0 && files.every((f) => f.yanked);
  if (allYanked && stored.state !== 'yanked') {
    const reason = files.find((f) => f.yankedReason !== null)?.yankedReason ?? null;
    changes.push({ kind: 'package-yanked', reason });
  } else if (stored.state === 'yanked' && files.some((f) => !f.yanked)) {
    changes.push({ kind: 'package-unyanked' });
  }

  return changes.length > 0 ? changes : [...UNCHANGED];
}
