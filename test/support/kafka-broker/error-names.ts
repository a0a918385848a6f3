/** Error codes found in a response object, by name, for the broker's protocol log. */
import { ErrorCode } from './protocol.js';

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

function collect(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, found);
    return;
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
  for (const [key, field] of Object.entries(value)) {
    if (key === 'ErrorCode' && typeof field === 'number' && field !== 0) found.add(`${NAMES.get(field) ?? 'error'} (${field})`);
    else collect(field, found);
  }
}

/** '' when the response carries no error code. */
export function describeErrors(response: Record<string, unknown>): string {
  const found = new Set<string>();
  collect(response, found);
  return [...found].join(', ');
}
