/**
 * The zod schemas of the API's query strings and path parameters, shared by the routes,
 * the UI and the CLI (which sends the same values), so one rule reads each input.
 */
import { z } from 'zod';

export const limitParam = (fallback: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from 1 to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`))
    .optional()
    .transform((value) => value ?? fallback);

const DURATION = /^(\d+)([smhd])$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO time, or a duration back from `now` (`30m`, `24h`, `7d`). */
export function parseSince(value: string, now: Date = new Date()): Date | null {
  const duration = DURATION.exec(value);
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time);
}

export const sinceParam = z
  .string()
  .transform((value, context) => {
    const since = parseSince(value);
    if (since === null) {
      context.addIssue({ code: 'custom', message: 'must be an ISO time (2026-01-31T12:00:00Z) or a duration (30m, 24h, 7d)' });
      return z.NEVER;
    }
    return since;
  })
  .optional();

const text = (max: number) => z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const projectsQuery = z.object({
  q: z.string().max(200).optional(),
  index: text(2000).optional(),
  state: z.enum(['present', 'missing', 'yanked']).optional(),
  cursor: text(1000).optional(),
  limit: limitParam(50, 500),
});

export const projectQuery = z.object({ index: text(2000).optional() });
export const projectParams = z.object({ name: text(300) });
export const releaseParams = z.object({ name: text(300), version: text(300) });

export const eventsQuery = z.object({
  project: text(300).optional(),
  version: text(300).optional(),
  kind: text(100).optional(),
  since: sinceParam,
  cursor: z.string().regex(/^\d{1,18}$/, 'must be the `next` of a previous page').transform(Number).optional(),
  limit: limitParam(100, 1000),
});

export const attentionQuery = z.object({
  pipeline: text(100).optional(),
  open: z.enum(['true', 'false']).optional().transform((value) => value !== 'false'),
  limit: limitParam(100, 1000),
});

export const attentionParams = z.object({ id: z.string().regex(/^\d{1,18}$/, 'must be an attention id (a whole number)').transform(Number) });

export const addProjectQuery = z.object({ index: text(2000) });

export const checkQuery = z.object({
  index: text(2000).optional(),
  dry_run: z.enum(['true', 'false', '1', '0']).optional().transform((value) => value === 'true' || value === '1'),
});

/** The projects cursor: the last (project, index id) of a page, opaque to clients. */
export function encodeProjectCursor(next: { project: string; indexId: number }): string {
  return Buffer.from(JSON.stringify([next.project, next.indexId])).toString('base64url');
}

const cursorShape = z.tuple([z.string(), z.number().int().positive()]);

export function decodeProjectCursor(cursor: string): { project: string; indexId: number } | null {
  try {
    const parsed = cursorShape.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? { project: parsed.data[0], indexId: parsed.data[1] } : null;
  } catch {
    return null;
  }
}
