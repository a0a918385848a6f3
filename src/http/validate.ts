/** Request input (query, params, form) parsed with a zod schema; a mismatch is a 400 naming the field. */
import type { z } from 'zod';
import { ApiError } from './api-error.js';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : what}: ${issue.message}`);
  throw new ApiError(400, 'bad_request', `bad ${what}: ${problems.join('; ')}`);
}
