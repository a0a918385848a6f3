/**
 * The key under which two spellings of one version (`1.0` / `1.0.0`, `2.0.0-rc.1` /
 * `2.0.0rc1`) group into one release: the domain's PEP 440 key, or for a string that is
 * not PEP 440 the trimmed, lower-cased string itself.
 */
import { tryVersionKey } from '../../domain/pep440.js';

export function releaseKey(version: string): string {
  return tryVersionKey(version) ?? version.trim().toLowerCase();
}
