import { BadInputError } from './errors.js';

/** PEP 508 name: letters/digits, inner runs of `-_.`, starting and ending alphanumeric. */
const VALID_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** PEP 503 normalization: runs of `-`, `_`, `.` become one `-`, lower case. */
export function canonicalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

export function isValidProjectName(name: string): boolean {
  return name.length <= 200 && VALID_NAME.test(name);
}

/** Canonical name of a name from outside; throws `BAD_PROJECT_NAME` naming it when invalid. */
export function parseProjectName(name: string): string {
  if (!isValidProjectName(name)) {
    throw new BadInputError('BAD_PROJECT_NAME', `not a valid project name: ${JSON.stringify(name.slice(0, 200))}`);
  }
  return canonicalizeName(name);
}
