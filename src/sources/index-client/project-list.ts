/**
 * An index's root listing -> ProjectListing: PEP 691 JSON (`projects[].name`, with
 * Warehouse's `_last-serial` per project and in `meta`) or PEP 503 HTML (one `<a>` per
 * project, its text the name; no serials). A malformed entry is a problem, counted and
 * skipped; the rest of the listing is read. A body that is not a listing at all is
 * INDEX_BAD_BODY.
 */
import { canonicalizeName } from '../../domain/pep503.js';
import type { ListedProject, ProjectListing } from '../../domain/types.js';
import { IndexError } from './errors.js';
import { decodeHtmlEntities } from './project-page.js';

export interface ListingProblem {
  readonly code: 'BAD_PROJECT_NAME';
  readonly detail: string;
}

export interface ParsedListing {
  readonly listing: ProjectListing;
  readonly problems: ListingProblem[];
}

/** PEP 508's name rule: what a project name may be at all. */
const PROJECT_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;
const MAX_NAME_LENGTH = 200;

function serialOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function bad(url: string, why: string): IndexError {
  return new IndexError('INDEX_BAD_BODY', `${url}: root listing ${why}`, { url, status: 200 });
}

class ListingBuilder {
  readonly projects: ListedProject[] = [];
  readonly problems: ListingProblem[] = [];
  private readonly seen = new Set<string>();

  add(name: unknown, lastSerial: number | null, position: number): void {
    if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !PROJECT_NAME.test(name)) {
      const why = typeof name === 'string' ? `${JSON.stringify(name.slice(0, 100))} is not a project name` : 'no name';
      this.problems.push({ code: 'BAD_PROJECT_NAME', detail: `root listing entry ${position}: ${why}` });
      return;
    }
    const project = canonicalizeName(name);
    if (this.seen.has(project)) return;
    this.seen.add(project);
    this.projects.push({ project, lastSerial });
  }
}

/** PEP 691 JSON root listing. */
export function parseJsonListing(body: unknown, url: string): ParsedListing {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad(url, 'is not a JSON object');
  const { meta, projects } = body as { meta?: unknown; projects?: unknown };
  if (!Array.isArray(projects)) throw bad(url, 'has no projects array');
  const builder = new ListingBuilder();
  projects.forEach((entry: unknown, position) => {
    const fields = entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>) : {};
    builder.add(fields.name, serialOf(fields['_last-serial']), position);
  });
  const metaSerial = meta !== null && typeof meta === 'object' ? serialOf((meta as Record<string, unknown>)['_last-serial']) : null;
  return { listing: { projects: builder.projects, lastSerial: metaSerial }, problems: builder.problems };
}

/** PEP 503 HTML root listing: the anchors' text are the names. */
export function parseHtmlListing(html: string): ParsedListing {
  const builder = new ListingBuilder();
  let position = 0;
  for (const m of html.matchAll(/<a\s[^>]*>([\s\S]*?)<\/a\s*>/gi)) {
    builder.add(decodeHtmlEntities((m[1] ?? '').trim()), null, position++);
  }
  return { listing: { projects: builder.projects, lastSerial: null }, problems: builder.problems };
}
