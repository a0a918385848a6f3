/** Command-line arguments read with the same rules as everywhere else, as usage errors. */
import { normalizeIndexUrl } from '../db/indexes.js';
import { BadInputError } from '../domain/errors.js';
import { parseProjectName } from '../domain/pep503.js';
import { requireVersion } from '../domain/version-check.js';
import { UsageError } from './command.js';

function asUsageError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof BadInputError) throw new UsageError(error.message);
    throw error;
  }
}

/** A simple API base URL, normalized as the database stores it. */
export function parseSimpleUrl(value: string): string {
  return asUsageError(() => normalizeIndexUrl(value));
}

/** A project name, canonicalized (PEP 503). */
export function parseProjectArgument(value: string): string {
  return asUsageError(() => parseProjectName(value));
}

/** A release version, by the one version rule (version-check.ts). */
export function parseVersionArgument(value: string): string {
  return asUsageError(() => requireVersion(value));
}
