/**
 * The host of an index: the key of its one rate-limit bucket and its metrics label. A URL
 * that does not parse (config is checked, rows may not be) is `invalid`, never a throw.
 */
import type { PackageIndex } from './types.js';

export function indexHost(index: Pick<PackageIndex, 'simpleUrl'>): string {
  try {
    return new URL(index.simpleUrl).host;
  } catch {
    return 'invalid';
  }
}
