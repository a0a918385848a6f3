import { describe, it, expect } from 'vitest';
import type { IndexFile, ProjectPage, ReleaseChange, ReleaseState, StoredRelease } from '../../src/domain/types.js';
import { diffRelease } from '../../src/domain/release-diff.js';

const H = (c: string): string => c.repeat(64);

function stored(version: string, state: ReleaseState, hashes: readonly string[], names?: readonly string[]): StoredRelease {
  return {
    id: 1,
    indexId: 1,
    indexUrl: 'https://pypi.org/simple',
    project: 'demo',
    version,
    state,
    yankedReason: null,
    artifacts: hashes.map((sha256, i) => ({ filename: names?.[i] ?? `demo-${version}-${i}.whl`, sha256 })),
    lastCheckedAt: null,
    nextDueAt: new Date(0),
  };
}

function file(sha256: string | null, opts: Partial<IndexFile> = {}): IndexFile {
  return { filename: `f-${sha256 ?? 'none'}.whl`, sha256, yanked: false, yankedReason: null, uploadTime: null, size: null, ...opts };
}

function page(releases: Record<string, readonly IndexFile[]>): ProjectPage {
  return {
    project: 'demo',
    releases: Object.entries(releases).map(([version, files]) => ({ version, files })),
    validators: {},
  };
}

const unchanged: ReleaseChange[] = [{ kind: 'unchanged' }];

const CASES: readonly (readonly [string, StoredRelease, ProjectPage | 'not-found', ReleaseChange[]])[] = [
  ['project gone', stored('1.0', 'present', [H('a')]), 'not-found', [{ kind: 'missing-package' }]],
  ['project gone while yanked', stored('1.0', 'yanked', [H('a')]), 'not-found', [{ kind: 'missing-package' }]],
  ['project still gone', stored('1.0', 'missing', [H('a')]), 'not-found', unchanged],
  ['version gone', stored('1.0', 'present', [H('a')]), page({ '2.0': [file(H('b'))] }), [{ kind: 'missing-version' }]],
  ['version still gone', stored('1.0', 'missing', [H('a')]), page({ '2.0': [file(H('b'))] }), unchanged],
  ['project with no releases', stored('1.0', 'present', [H('a')]), page({}), [{ kind: 'missing-version' }]],
  ['same', stored('1.0', 'present', [H('a'), H('b')]), page({ '1.0': [file(H('b')), file(H('a'))] }), unchanged],
  ['1.0 == 1.0.0', stored('1.0', 'present', [H('a')]), page({ '1.0.0': [file(H('a'))] }), unchanged],
  ['2.0.0-rc.1 == 2.0.0rc1', stored('2.0.0-rc.1', 'present', [H('a')]), page({ '2.0.0rc1': [file(H('a'))] }), unchanged],
  ['V1.0.POST1 == 1.0-1', stored('V1.0.POST1', 'present', [H('a')]), page({ '1.0-1': [file(H('a'))] }), unchanged],
  ['1.0 is not 1.0.post1', stored('1.0', 'present', [H('a')]), page({ '1.0.post1': [file(H('a'))] }), [{ kind: 'missing-version' }]],
  ['1.0 is not 1.0+local', stored('1.0', 'present', [H('a')]), page({ '1.0+local': [file(H('a'))] }), [{ kind: 'missing-version' }]],
  ['legacy version by string', stored('2004d', 'present', [H('a')]), page({ '2004D': [file(H('a'))] }), unchanged],
  ['upper-case hash is the same hash', stored('1.0', 'present', [H('A')]), page({ '1.0': [file(H('a'))] }), unchanged],
  [
    'hashes differ both ways, sorted',
    stored('1.0', 'present', [H('d'), H('a'), H('c')]),
    page({ '1.0': [file(H('e')), file(H('a')), file(H('b'))] }),
    [{ kind: 'hash-mismatch', missingFromSource: [H('c'), H('d')], missingFromDatabase: [H('b'), H('e')] }],
  ],
  [
    'a file added on the index',
    stored('1.0', 'present', [H('a')]),
    page({ '1.0': [file(H('a')), file(H('b'))] }),
    [{ kind: 'hash-mismatch', missingFromSource: [], missingFromDatabase: [H('b')] }],
  ],
  [
    'files split over two spellings of one version are merged',
    stored('1.0', 'present', [H('a'), H('b')]),
    page({ '1.0': [file(H('a'))], '1.0.0': [file(H('b'))] }),
    unchanged,
  ],
  [
    'index file without sha256 is left out, with its stored counterpart',
    stored('1.0', 'present', [H('a'), H('b')], ['a.whl', 'b.tar.gz']),
    page({ '1.0': [file(H('a'), { filename: 'a.whl' }), file(null, { filename: 'b.tar.gz' })] }),
    unchanged,
  ],
  [
    'index file without sha256 does not hide a real mismatch',
    stored('1.0', 'present', [H('a')], ['a.whl']),
    page({ '1.0': [file(H('c'), { filename: 'c.whl' }), file(null, { filename: 'b.tar.gz' })] }),
    [{ kind: 'hash-mismatch', missingFromSource: [H('a')], missingFromDatabase: [H('c')] }],
  ],
  [
    'all files yanked',
    stored('1.0', 'present', [H('a'), H('b')]),
    page({ '1.0': [file(H('a'), { yanked: true }), file(H('b'), { yanked: true, yankedReason: 'broken wheel' })] }),
    [{ kind: 'package-yanked', reason: 'broken wheel' }],
  ],
  [
    'yanked without a reason',
    stored('1.0', 'present', [H('a')]),
    page({ '1.0': [file(H('a'), { yanked: true })] }),
    [{ kind: 'package-yanked', reason: null }],
  ],
  ['some files yanked is not a yank', stored('1.0', 'present', [H('a'), H('b')]), page({ '1.0': [file(H('a'), { yanked: true }), file(H('b'))] }), unchanged],
  ['still yanked', stored('1.0', 'yanked', [H('a')]), page({ '1.0': [file(H('a'), { yanked: true })] }), unchanged],
  ['unyanked', stored('1.0', 'yanked', [H('a')]), page({ '1.0': [file(H('a'))] }), [{ kind: 'package-unyanked' }]],
  [
    'one file unyanked',
    stored('1.0', 'yanked', [H('a'), H('b')]),
    page({ '1.0': [file(H('a'), { yanked: true }), file(H('b'))] }),
    [{ kind: 'package-unyanked' }],
  ],
  ['reappeared', stored('1.0', 'missing', [H('a')]), page({ '1.0.0': [file(H('a'))] }), [{ kind: 'reappeared' }]],
  [
    'reappeared yanked and changed',
    stored('1.0', 'missing', [H('a')]),
    page({ '1.0': [file(H('b'), { yanked: true, yankedReason: 'oops' })] }),
    [
      { kind: 'reappeared' },
      { kind: 'hash-mismatch', missingFromSource: [H('a')], missingFromDatabase: [H('b')] },
      { kind: 'package-yanked', reason: 'oops' },
    ],
  ],
  [
    'version listed with no files',
    stored('1.0', 'present', [H('a')]),
    page({ '1.0': [] }),
    [{ kind: 'hash-mismatch', missingFromSource: [H('a')], missingFromDatabase: [] }],
  ],
  ['no files on either side', stored('1.0', 'yanked', []), page({ '1.0': [] }), unchanged],
];

describe('diffRelease', () => {
  it.each(CASES)('%s', (_name, before, now, expected) => {
    expect(diffRelease(before, now)).toEqual(expected);
  });

  it('returns a fresh array each time', () => {
    const a = diffRelease(stored('1.0', 'missing', []), 'not-found');
    a.push({ kind: 'reappeared' });
    expect(diffRelease(stored('1.0', 'missing', []), 'not-found')).toEqual(unchanged);
  });
});
