import { describe, it, expect } from 'vitest';
import { BadInputError } from '../../src/domain/errors.js';
import { compareParsed, formatVersion, isValidVersion, normalizeVersion, parseVersion, tryVersionKey } from '../../src/domain/pep440.js';

/** Two version strings by PEP 440 (-1, 0, 1), as the service compares the parsed ones. */
const compareVersions = (a: string, b: string): number => Math.sign(compareParsed(parseVersion(a), parseVersion(b)));

/** [a, b, expected sign of compareVersions(a, b)] */
const PAIRS: readonly (readonly [string, string, -1 | 0 | 1])[] = [
  // release padding
  ['1.0', '1.0.0', 0],
  ['1', '1.0.0.0', 0],
  ['1.0.1', '1.0', 1],
  ['1.10', '1.9', 1],
  ['1.2', '1.10', -1],
  ['0.9.9', '1.0', -1],
  ['2024.01.15', '2024.1.15', 0],
  // case, leading v, whitespace, separators
  ['v1.0', '1.0', 0],
  ['V1.0RC1', '1.0rc1', 0],
  ['  1.0  ', '1.0', 0],
  // pre-release spellings
  ['2.0.0-rc.1', '2.0.0rc1', 0],
  ['1.0c1', '1.0rc1', 0],
  ['1.0pre1', '1.0rc1', 0],
  ['1.0preview1', '1.0rc1', 0],
  ['1.0alpha1', '1.0a1', 0],
  ['1.0-beta.2', '1.0b2', 0],
  ['1.0a', '1.0a0', 0],
  ['1.0_a_1', '1.0a1', 0],
  ['1.0a1', '1.0b1', -1],
  ['1.0b1', '1.0rc1', -1],
  ['1.0rc1', '1.0', -1],
  ['1.0a2', '1.0a10', -1],
  // post releases
  ['1.0-1', '1.0.post1', 0],
  ['1.0post', '1.0.post0', 0],
  ['1.0.rev2', '1.0.post2', 0],
  ['1.0r3', '1.0.post3', 0],
  ['1.0-post-4', '1.0.post4', 0],
  ['1.0.post1', '1.0', 1],
  ['1.0.post1', '1.0.1', -1],
  // dev releases
  ['1.0.dev0', '1.0a0', -1],
  ['1.0-dev', '1.0.dev0', 0],
  ['1.0a1.dev1', '1.0a1', -1],
  ['1.0.post1.dev1', '1.0.post1', -1],
  ['1.0.post1.dev1', '1.0', 1],
  ['1.0.dev1', '1.0.dev2', -1],
  // epochs
  ['1!1.0', '2.0', 1],
  ['0!1.0', '1.0', 0],
  ['1!1.0', '1!1.0.0', 0],
  ['1!0.1', '2!0.0.1', -1],
  // local versions
  ['1.0+abc', '1.0', 1],
  ['1.0+ubuntu-1', '1.0+ubuntu.1', 0],
  ['1.0+Ubuntu_1', '1.0+ubuntu.1', 0],
  ['1.0+01', '1.0+1', 0],
  ['1.0+abc', '1.0+1', -1],
  ['1.0+1', '1.0+2', -1],
  ['1.0+1', '1.0+1.1', -1],
  ['1.0.0+local', '1.0+local', 0],
  ['1.0+local', '1.0.post1', -1],
  // large numbers keep precision
  ['1.20230101123456789', '1.20230101123456788', 1],
];

const INVALID: readonly string[] = [
  '',
  '   ',
  'abc',
  '1.0.',
  '.1.0',
  '1..0',
  '1.0+',
  '1.0+a..b',
  '=1.0',
  '1.0 beta',
  '1.0-',
  '1.0.x',
  '1!',
  'vv1.0',
  '1.0.dev-x',
  '1.0a1a2',
  '\u0661.0',
];

describe('compareVersions (PEP 440)', () => {
  it('has at least 40 pairs', () => {
    expect(PAIRS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(PAIRS)('%s vs %s -> %d', (a, b, sign) => {
    expect(compareVersions(a, b)).toBe(sign);
    expect(compareVersions(b, a)).toBe(sign === 0 ? 0 : -sign);
    // the equality key agrees with the ordering
    expect(tryVersionKey(a) === tryVersionKey(b)).toBe(sign === 0);
  });

  it('sorts a mixed list in PEP 440 order', () => {
    const sorted = [
      '1.0.dev0', '1.0a1.dev1', '1.0a1', '1.0b1', '1.0rc1', '1.0', '1.0+abc', '1.0+1',
      '1.0.post1.dev0', '1.0.post1', '1.0.1', '1!0.1',
    ];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(compareVersions)).toEqual(sorted);
  });
});

describe('normalizeVersion / tryVersionKey', () => {
  it.each([
    ['1.0.0', '1'],
    ['V2.0.0-RC.1', '2rc1'],
    ['1.0-1', '1.post1'],
    ['0!1.2.0.dev', '1.2.dev0'],
    ['3!1.0b2.post3.dev4+Local_Ver-07', '3!1b2.post3.dev4+local.ver.7'],
    ['1.10.0', '1.10'],
    ['0.0', '0'],
  ])('%s -> %s', (input, key) => {
    expect(normalizeVersion(input)).toBe(key);
    expect(tryVersionKey(input)).toBe(key);
    expect(tryVersionKey(input)).toBe(key);
  });

  it('formatVersion keeps the release as written (PEP 440 normal form)', () => {
    expect(formatVersion(parseVersion('V1.0.0-RC.1'))).toBe('1.0.0rc1');
    expect(formatVersion(parseVersion('1.0-1'))).toBe('1.0.post1');
    expect(formatVersion(parseVersion('1!2.0_alpha_3-dev'))).toBe('1!2.0a3.dev0');
  });

  it('parses every segment', () => {
    expect(parseVersion('2!1.2.3rc4.post5.dev6+ab.7')).toEqual({
      epoch: 2n,
      release: [1n, 2n, 3n],
      pre: { label: 'rc', number: 4n },
      post: 5n,
      dev: 6n,
      local: ['ab', 7n],
    });
  });
});

describe('invalid versions', () => {
  it.each(INVALID)('%j throws BAD_VERSION naming the string', (s) => {
    let thrown: unknown;
    try {
      parseVersion(s);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BadInputError);
    expect((thrown as BadInputError).code).toBe('BAD_VERSION');
    expect((thrown as BadInputError).retriable).toBe(false);
    expect((thrown as BadInputError).message).toContain(JSON.stringify(s));
    expect(tryVersionKey(s)).toBeNull();
    expect(isValidVersion(s)).toBe(false);
  });

  it('comparing throws on either side', () => {
    expect(() => compareVersions('1.0', 'nope')).toThrow(/"nope"/);
    expect(() => compareVersions('nope', '1.0')).toThrow(BadInputError);
  });

  it('rejects very long input without running the pattern', () => {
    expect(tryVersionKey('1.'.repeat(2000) + '1')).toBeNull();
  });
});
