/**
 * PEP 440 versions: parse, normalize, compare.
 *
 * The index keeps a version string as uploaded, so two spellings of one version
 * (`1.0` / `1.0.0`, `2.0.0-rc.1` / `2.0.0rc1`, `1.0-1` / `1.0.post1`, `V1.0` / `1.0`) must
 * compare equal; never compare raw version strings.
 *
 * - `parseVersion(s)` reads the permissive PEP 440 grammar (leading `v`, any case, `-_.`
 *   separators, `alpha|beta|c|pre|preview|rev|r` spellings, implicit post `1.0-1`,
 *   omitted numbers, local segments, surrounding whitespace); anything else throws a
 *   `BadInputError` with code `BAD_VERSION` naming the string.
 * - `formatVersion(v)` is the PEP 440 normal form (`1.0.0rc1`, `1!2.0.post1.dev3+ubuntu.1`).
 * - `normalizeVersion(s)` / `tryVersionKey(s)` is that normal form with the release's trailing
 *   zeros stripped (and local numeric segments without leading zeros): the equality key,
 *   equal for two versions exactly when `compareParsed` of them is 0; `releaseKey` is the
 *   key a stored release goes by.
 * - `compareParsed(a, b)` orders by PEP 440 (dev < pre < final < post, local after public).
 *
 * Numbers are bigints, so date-like or very long components never lose precision.
 */
import { BadInputError } from './errors.js';

export type PreLabel = 'a' | 'b' | 'rc';

export interface Version {
  readonly epoch: bigint;
  readonly release: readonly bigint[];
  readonly pre: { readonly label: PreLabel; readonly number: bigint } | null;
  readonly post: bigint | null;
  readonly dev: bigint | null;
  /** Local segments, lower case; numeric ones as bigint. */
  readonly local: readonly (bigint | string)[] | null;
}

const VERSION_PATTERN = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<preL>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<preN>[0-9]+)?)?' +
    '(?<post>(?:-(?<postN1>[0-9]+))|(?:[-_.]?(?<postL>post|rev|r)[-_.]?(?<postN2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<devL>dev)[-_.]?(?<devN>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i',
);

const PRE_LABELS: Readonly<Record<string, PreLabel>> = {
  a: 'a', alpha: 'a', b: 'b', beta: 'b', c: 'rc', rc: 'rc', pre: 'rc', preview: 'rc',
};

const MAX_LENGTH = 1024;

function badVersion(s: string): BadInputError {
  return new BadInputError('BAD_VERSION', `not a valid PEP 440 version: ${JSON.stringify(s.slice(0, 200))}`);
}

/** Parses a version; throws `BadInputError('BAD_VERSION')` naming the string when invalid. */
export function parseVersion(s: string): Version {
  const m = typeof s === 'string' && s.length <= MAX_LENGTH ? VERSION_PATTERN.exec(s) : null;
  const g = m?.groups;
  if (!g || g.release === undefined) throw badVersion(String(s));
  const preL = g.preL?.toLowerCase();
  const postN = g.postN1 ?? g.postN2;
  return {
    epoch: BigInt(g.epoch ?? 0),
    release: g.release.split('.').map((part) => BigInt(part)),
    pre: preL === undefined ? null : { label: PRE_LABELS[preL] ?? 'rc', number: BigInt(g.preN ?? 0) },
    post: g.post === undefined ? null : BigInt(postN ?? 0),
    dev: g.dev === undefined ? null : BigInt(g.devN ?? 0),
    local:
      g.local === undefined
        ? null
        : g.local
            .toLowerCase()
            .split(/[-_.]/)
            .map((part) => (/^[0-9]+$/.test(part) ? BigInt(part) : part)),
  };
}

export function isValidVersion(s: string): boolean {
  return tryParseVersion(s) !== null;
}

export function tryParseVersion(s: string): Version | null {
  try {
    return parseVersion(s);
  } catch {
    return null;
  }
}

function stripTrailingZeros(release: readonly bigint[]): readonly bigint[] {
  let end = release.length;
  while (end > 1 && release[end - 1] === 0n) end -= 1;
  return release.slice(0, end);
}

/** PEP 440 normal form; `stripZeros` drops the release's trailing zeros (`1.0.0` -> `1`). */
export function formatVersion(v: Version, options: { stripZeros?: boolean } = {}): string {
  const release = options.stripZeros ? stripTrailingZeros(v.release) : v.release;
  let out = v.epoch === 0n ? '' : `${v.epoch}!`;
  out += release.join('.');
  if (v.pre) out += `${v.pre.label}${v.pre.number}`;
  if (v.post !== null) out += `.post${v.post}`;
  if (v.dev !== null) out += `.dev${v.dev}`;
  if (v.local) out += `+${v.local.join('.')}`;
  return out;
}

/** Canonical string for comparison: normal form, release trailing zeros stripped. Throws `BAD_VERSION`. */
export function normalizeVersion(s: string): string {
  return formatVersion(parseVersion(s), { stripZeros: true });
}

/**
 * Equality key: `tryVersionKey(a) === tryVersionKey(b)` iff `compareParsed` of the two is 0
 * (the normal form with trailing zeros stripped); null for a string that is not a PEP 440 version.
 */
export function tryVersionKey(s: string): string | null {
  const v = tryParseVersion(s);
  return v === null ? null : formatVersion(v, { stripZeros: true });
}

/**
 * The key under which spellings of one release group (`1.0` / `1.0.0`, `2.0.0-rc.1` /
 * `2.0.0rc1`): its PEP 440 key, or for a string that is not PEP 440 (legacy) the trimmed,
 * lower-cased string, prefixed so that it never equals a PEP 440 key. The one version key
 * of every path (page grouping, release diff, new-release detection).
 */
export function releaseKey(version: string): string {
  return tryVersionKey(version) ?? `legacy:${version.trim().toLowerCase()}`;
}

/** A comparable slot: -Infinity / +Infinity sentinels or a value. */
type Slot = -1 | 1 | readonly [bigint, bigint];
const NEG: Slot = -1;
const POS: Slot = 1;
const PRE_RANK: Readonly<Record<PreLabel, bigint>> = { a: 0n, b: 1n, rc: 2n };

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpSlot(a: Slot, b: Slot): number {
  if (typeof a === 'number' || typeof b === 'number') {
    const x = typeof a === 'number' ? a * 2 : 0;
    const y = typeof b === 'number' ? b * 2 : 0;
    return Math.sign(x - y);
  }
  return cmpBig(a[0], b[0]) || cmpBig(a[1], b[1]);
}

function cmpRelease(a: readonly bigint[], b: readonly bigint[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const c = cmpBig(a[i] ?? 0n, b[i] ?? 0n);
    if (c !== 0) return c;
  }
  return 0;
}

/** PEP 440 local ordering: segment by segment, strings before numbers, a prefix first. */
function cmpLocal(a: readonly (bigint | string)[] | null, b: readonly (bigint | string)[] | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    if (typeof x !== typeof y) return typeof x === 'string' ? -1 : 1;
    const c = typeof x === 'bigint' ? cmpBig(x, y as bigint) : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return 0;
}

function preSlot(v: Version): Slot {
  // A dev release of a final (`1.0.dev0`) sorts before its pre-releases (`1.0a0`).
  if (v.pre === null && v.post === null && v.dev !== null) return NEG;
  return v.pre === null ? POS : [PRE_RANK[v.pre.label], v.pre.number];
}

/** Compares parsed versions by PEP 440: negative, 0 or positive. */
export function compareParsed(a: Version, b: Version): number {
  return (
    cmpBig(a.epoch, b.epoch) ||
    cmpRelease(a.release, b.release) ||
    cmpSlot(preSlot(a), preSlot(b)) ||
    cmpSlot(a.post === null ? NEG : [a.post, 0n], b.post === null ? NEG : [b.post, 0n]) ||
    cmpSlot(a.dev === null ? POS : [a.dev, 0n], b.dev === null ? POS : [b.dev, 0n]) ||
    cmpLocal(a.local, b.local)
  );
}
