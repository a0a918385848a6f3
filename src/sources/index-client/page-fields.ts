/**
 * The PEP 700 and PEP 792 fields of a project page, read so that a bad value is bad input
 * for that file or that project only: a one-line problem (counted like every page problem)
 * and the value left unknown, never the whole page refused.
 *
 * - `size`: a non-negative integer of bytes.
 * - `upload-time`: an ISO 8601 UTC date-time (`yyyy-mm-ddThh:mm:ss[.ffffff]Z`, PEP 700; an
 *   explicit offset is read too), a real calendar time.
 * - `project-status` (JSON: `{status, reason}`; HTML: the `pypi:project-status` and
 *   `pypi:project-status-reason` meta tags): no marker is `active`; a marker PEP 792 does
 *   not define is a problem and the status unknown (the stored one stands).
 */
import { asciiJson, quoteText } from '../../domain/quote.js';
import { ACTIVE, PROJECT_STATUSES, isProjectStatusName } from '../../domain/project-status.js';
import type { ProjectStatus } from '../../domain/types.js';
import type { PageProblem } from './project-page.js';

/** A value as a problem names it: short, quoted, whatever its type. */
function shown(value: unknown): string {
  if (typeof value === 'string') return quoteText(value.slice(0, 80));
  return asciiJson((JSON.stringify(value) as string | undefined)?.slice(0, 80) ?? typeof value);
}

export function readSize(value: unknown, where: string, problems: PageProblem[]): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  problems.push({ code: 'BAD_SIZE', detail: `${where}: size ${shown(value)} is not a non-negative integer` });
  return null;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** Whether the matched fields name a real time (no 30 February, no hour 24): Date.UTC would roll them over. */
function isCalendarTime(fields: readonly (string | undefined)[]): boolean {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = fields.map((field) => Number(field ?? 0));
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year); // Date.UTC reads years 0-99 as 1900-1999
  const same = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()];
  return year >= 1 && same.every((value, i) => value === [year, month, day, hour, minute, second][i]) && offsetHours < 24 && offsetMinutes < 60;
}

/** The time as the index wrote it (Postgres keeps its microseconds), or null and a problem. */
export function readUploadTime(value: unknown, where: string, problems: PageProblem[]): string | null {
  if (value === undefined || value === null) return null;
  const fields = typeof value === 'string' ? ISO_TIME.exec(value) : null;
  if (fields && isCalendarTime(fields.slice(1))) return value as string;
  problems.push({ code: 'BAD_UPLOAD_TIME', detail: `${where}: upload-time ${shown(value)} is not an ISO 8601 UTC date-time` });
  return null;
}

function statusProblem(project: string, what: string, value: unknown, problems: PageProblem[]): undefined {
  problems.push({ code: 'BAD_PROJECT_STATUS', detail: `${project}: ${what} ${shown(value)} is not one of ${PROJECT_STATUSES.join(', ')}` });
  return undefined;
}

/** The status from a marker and a reason as found (undefined: not given). */
function fromMarker(project: string, status: unknown, reason: unknown, problems: PageProblem[]): ProjectStatus | undefined {
  const name = status ?? 'active';
  if (!isProjectStatusName(name)) return statusProblem(project, 'project status', name, problems);
  if (reason !== undefined && reason !== null && typeof reason !== 'string') {
    problems.push({ code: 'BAD_PROJECT_STATUS', detail: `${project}: project status reason ${shown(reason)} is not a string` });
  }
  return { status: name, reason: typeof reason === 'string' && reason !== '' ? reason : null };
}

/** PEP 691 JSON (api-version 1.4): the top-level `project-status` object. */
export function jsonProjectStatus(value: unknown, project: string, problems: PageProblem[]): ProjectStatus | undefined {
  if (value === undefined || value === null) return ACTIVE;
  if (typeof value !== 'object' || Array.isArray(value)) return statusProblem(project, 'project-status', value, problems);
  const { status, reason } = value as Record<string, unknown>;
  return fromMarker(project, status, reason, problems);
}

/** PEP 503 HTML: the head's `pypi:project-status` and `pypi:project-status-reason` meta tags, the first of each. */
export function htmlProjectStatus(
  html: string,
  project: string,
  attributes: (tag: string) => Map<string, string>,
  problems: PageProblem[],
): ProjectStatus | undefined {
  const bodyAt = html.search(/<body[\s>]/i);
  const head = bodyAt < 0 ? html : html.slice(0, bodyAt);
  let status: string | undefined;
  let reason: string | undefined;
  for (const m of head.matchAll(/<meta\s([^>]*)>/gi)) {
    const attrs = attributes(m[1] ?? '');
    const name = attrs.get('name')?.toLowerCase();
    if (name === 'pypi:project-status') status ??= (attrs.get('content') ?? '').trim();
    else if (name === 'pypi:project-status-reason') reason ??= attrs.get('content') ?? '';
  }
  return fromMarker(project, status, reason, problems);
}
