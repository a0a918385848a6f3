import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/domain/errors.js';
import { MAX_VERSION_LENGTH, quoteVersion, requireVersion, versionProblem } from '../../src/domain/version-check.js';

const PEP440 = ['1.0', '1.0.0', '2.0.0rc1', '1!2.0.post1.dev3+ubuntu.1', '2024.1.15', '0.1a0'];
/** The permissive spellings packaging accepts. */
const PERMISSIVE = ['v1.0', 'V1.0RC1', '2.0.0-rc.1', '1.0-1', '1.0_a_1', '1.0-beta.2', '1.0.post', '1.0+Local-Segment_2'];
/** Not PEP 440, but what old uploads carry. */
const LEGACY = ['2004d', '1.0-SNAPSHOT', 'r1234', '1.0-final', 'dev', '1!2!3'];

/** [version, the reason's wording] */
const REFUSED: readonly (readonly [string, RegExp])[] = [
  // issue 12, items 22 and 23
  ['', /^empty version$/],
  ['\u0000', /control/],
  ['1.0\u0000', /control/],
  ['1.0\u202egnp.exe', /format \(bidi\)/],
  ['../../../etc/passwd', /neither a PEP 440 nor a legacy version/],
  ["1'); drop table package_version;--", /neither/],
  [`1.${'9'.repeat(298)}`, /longer than 128 characters/],
  // more control, format and separator characters
  ['1.0\n', /control/],
  ['1.0\t1', /control/],
  ['1.0\u200b', /format/],
  ['\ufeff1.0', /format/],
  ['1.0\u2028', /line-separator/],
  ['1.0\u2029', /line-separator/],
  // other shapes
  [' 1.0', /neither/],
  ['1.0 ', /neither/],
  ['1.0 beta', /neither/],
  ['1.0-', /neither/],
  ['.1.0', /neither/],
  ['1.0/2', /neither/],
  ['1.0<script>', /neither/],
  ['1.0é', /neither/],
  ['１.０', /neither/],
];

describe('versionProblem: the one version rule', () => {
  it.each([...PEP440, ...PERMISSIVE])('accepts the PEP 440 version %j', (version) => {
    expect(versionProblem(version)).toBeNull();
    expect(versionProblem(version, { legacy: false })).toBeNull();
  });

  it.each(LEGACY)('accepts the legacy version %j, unless legacy is refused', (version) => {
    expect(versionProblem(version)).toBeNull();
    expect(versionProblem(version, { legacy: false })).toBe('not a PEP 440 version');
  });

  it.each(REFUSED)('refuses %j', (version, reason) => {
    expect(versionProblem(version)).toMatch(reason);
    expect(versionProblem(version, { legacy: false })).not.toBeNull();
  });

  it('accepts exactly 128 characters', () => {
    expect(versionProblem(`1.${'9'.repeat(MAX_VERSION_LENGTH - 2)}`)).toBeNull();
    expect(versionProblem(`1.${'9'.repeat(MAX_VERSION_LENGTH - 1)}`)).toMatch(/longer/);
  });
});

describe('quoteVersion', () => {
  it.each([
    ['', '""'],
    ['1.0', '"1.0"'],
    ['1.0\u0000', '"1.0\\u0000"'],
    ['1.0\u202egnp.exe', '"1.0\\u202egnp.exe"'],
    ["1'); drop", '"1\'); drop"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\u{1f600}', '"\\ud83d\\ude00"'],
  ])('%j is %s: JSON, printable ASCII only', (version, quoted) => {
    expect(quoteVersion(version)).toBe(quoted);
    expect(JSON.parse(quoteVersion(version))).toBe(version);
  });

  it('shows 128 characters of a longer version and its length', () => {
    expect(quoteVersion(`1.${'9'.repeat(298)}`)).toBe(`"1.${'9'.repeat(126)}"... (300 characters)`);
  });
});

describe('requireVersion', () => {
  it('returns an acceptable version, throws BAD_VERSION naming a refused one and why', () => {
    expect(requireVersion('1.0')).toBe('1.0');
    const thrown = (() => {
      try {
        return requireVersion('1.0\u202egnp.exe');
      } catch (error) {
        return error;
      }
    })();
    expect(thrown).toBeInstanceOf(BadInputError);
    expect((thrown as BadInputError).code).toBe('BAD_VERSION');
    expect((thrown as BadInputError).message).toBe('not an acceptable version "1.0\\u202egnp.exe": holds a control, format (bidi) or line-separator character');
  });
});
