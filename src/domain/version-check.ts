/**
 * The one rule for a version string that enters from outside (feeds, project pages, the
 * JSON API, the CLI): PEP 440 (permissive spellings) or the legacy rule (letters, digits and
 * `.`, `_`, `-`, `+`, `!`, starting and ending with a letter or digit), at most 128
 * characters, no control, format (bidi: U+202E) or line-separator character. Anything
 * else is refused, so it is never stored, announced, or put into a Job's env.
 */
import { isValidVersion } from './pep440.js';

export const MAX_VERSION_LENGTH = 128;

const LEGACY = /^[A-Za-z0-9](?:[A-Za-z0-9._+!-]*[A-Za-z0-9])?$/;
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Why the version is refused, or null when it is acceptable. */
export function versionProblem(version: string): string | null {
  if (version.length === 0) return 'empty version';
  if (version.length > MAX_VERSION_LENGTH) return `version longer than ${MAX_VERSION_LENGTH} characters (${version.length})`;
  if (UNSAFE.test(version)) return 'control or bidi character in version';
  if (LEGACY.test(version) || (isValidVersion(version) && !/[\s/\\'"`;]/.test(version))) return null;
  return 'not a PEP 440 or legacy version';
}

export function isAcceptableVersion(version: string): boolean {
  return versionProblem(version) === null;
}

/** The version quoted for a one-line message: shortened, every non-printable-ASCII character escaped. */
export function quoteVersion(version: string): string {
  const short = version.length > 64 ? `${version.slice(0, 64)}...` : version;
  return `"${short.replace(/[^\x20-\x7e]|["\\]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)}"`;
}

/** `<reason>: <quoted version>`, or null when the version is acceptable. */
export function describeBadVersion(version: string): string | null {
  const problem = versionProblem(version);
  return problem === null ? null : `${problem}: ${quoteVersion(version)}`;
}
