/**
 * The one rule for a version string that enters from outside (feed items, project pages in
 * JSON and HTML, the Warehouse JSON API, the re-check path, the CLI): PEP 440 in its
 * permissive spellings (pep440.ts), or the legacy rule (letters, digits and
 * `.`, `_`, `-`, `+`, `!`, starting and ending with a letter or digit, as old uploads
 * have), at most 128 characters, and no control, format (bidi: U+202E) or line-separator
 * character. A version refused here is never stored, announced, or put into a Job.
 */
import { BadInputError } from './errors.js';
import { isValidVersion } from './pep440.js';
import { quoteText } from './quote.js';

export const MAX_VERSION_LENGTH = 128;

const LEGACY = /^[A-Za-z0-9](?:[A-Za-z0-9._+!-]*[A-Za-z0-9])?$/;
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export interface VersionRule {
  /**
   * Whether a legacy (not PEP 440) version is acceptable; default true. A feed announces
   * new uploads, which Warehouse refuses unless PEP 440: such a title is not a release.
   */
  readonly legacy?: boolean;
}

/** Why the version is refused, or null when it is acceptable. */
export function versionProblem(version: string, rule: VersionRule = {}): string | null {
  if (version.length === 0) return 'empty version';
  if (version.length > MAX_VERSION_LENGTH) return `longer than ${MAX_VERSION_LENGTH} characters`;
  if (UNSAFE.test(version)) return 'holds a control, format (bidi) or line-separator character';
  // The PEP 440 grammar allows surrounding whitespace; a stored version never has it.
  if (isValidVersion(version) && version.trim() === version) return null;
  if (rule.legacy === false) return 'not a PEP 440 version';
  return LEGACY.test(version) ? null : 'neither a PEP 440 nor a legacy version';
}

/** The version quoted for a one-line message (quoteText): at most MAX_VERSION_LENGTH characters of it, and the length of a longer one. */
export function quoteVersion(version: string): string {
  const quoted = quoteText(version.slice(0, MAX_VERSION_LENGTH));
  return version.length > MAX_VERSION_LENGTH ? `${quoted}... (${version.length} characters)` : quoted;
}

/** The version when acceptable; else a `BadInputError('BAD_VERSION')` naming it and why. */
export function requireVersion(version: string): string {
  const problem = versionProblem(version);
  if (problem !== null) throw new BadInputError('BAD_VERSION', `not an acceptable version ${quoteVersion(version)}: ${problem}`);
  return version;
}
