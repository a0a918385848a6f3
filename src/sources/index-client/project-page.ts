/**
 * Project pages -> IndexRelease[]: PEP 691 JSON (hand-checked shape: a wrong type is
 * INDEX_BAD_BODY naming the project and the field) and PEP 503 HTML. Versions come from the
 * filenames and, with PEP 700, from the `versions` list (a version with no files still
 * exists); spellings of one PEP 440 version group into one release. A version the one
 * version rule refuses (version-check.ts) is left out with its files: a BAD_VERSION problem,
 * once per page, and the project's other releases are read as usual. A file's PEP 700
 * `size` and `upload-time` and the project's PEP 792 status are read by page-fields.ts: a
 * bad one is a problem of its own, the value unknown.
 */
import type { ErrorCodeIn } from '../../domain/errors.js';
import { parseDistributionFilename } from '../../domain/filename.js';
import { canonicalizeName } from '../../domain/pep503.js';
import type { IndexFile, IndexRelease, ProjectStatus } from '../../domain/types.js';
import { releaseKey } from '../../domain/pep440.js';
import { quoteVersion, versionProblem } from '../../domain/version-check.js';
import { IndexError } from './errors.js';
import { htmlProjectStatus, jsonProjectStatus, readSize, readUploadTime } from './page-fields.js';

/** A problem with one part of a page that is reported and counted, not thrown. */
export interface PageProblem {
  readonly code: ErrorCodeIn<'input'>;
  readonly detail: string;
  /** BAD_VERSION: the version quoted (quoteVersion) and why it is refused. */
  readonly version?: string;
  readonly reason?: string;
}

export interface ParsedPage {
  readonly project: string;
  readonly releases: IndexRelease[];
  readonly problems: PageProblem[];
  /** PEP 792, simple-API pages only; absent when unreadable (a problem says why). */
  readonly status?: ProjectStatus;
}

const SHA256 = /^[0-9a-f]{64}$/i;

export class ShapeChecker {
  constructor(
    private readonly url: string,
    private readonly project: string,
  ) {}

  fail(field: string, expected: string, value: unknown): never {
    const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    throw new IndexError('INDEX_BAD_BODY', `${this.url}: project ${this.project}: field ${field} must be ${expected}, got ${got}`, {
      url: this.url,
      status: 200,
    });
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(field, 'an object', value);
    return value as Record<string, unknown>;
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, 'an array', value);
    return value as unknown[];
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string') this.fail(field, 'a string', value);
    return value;
  }

  optionalString(value: unknown, field: string): string | null {
    return value === undefined || value === null ? null : this.string(value, field);
  }
}

/** A simple-API answer is PEP 691 JSON by its Content-Type or, without a telling one, by its first character. */
export function isJson(contentType: string, body: string): boolean {
  const type = contentType.toLowerCase();
  if (type.includes('json')) return true;
  if (type.includes('html')) return false;
  return body.trimStart().startsWith('{');
}

export function parseJsonBody(body: string, url: string, project: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new IndexError('INDEX_BAD_BODY', `${url}: project ${project}: body is not JSON`, { url, status: 200, cause: error });
  }
}

/** A sha256 as the index gave it: lowercase when valid, null (and a problem) when not. */
export function checkSha256(value: string | null, where: string, problems: PageProblem[]): string | null {
  if (value === null) return null;
  if (SHA256.test(value)) return value.toLowerCase();
  problems.push({ code: 'BAD_SHA256', detail: `${where}: sha256 ${JSON.stringify(value.slice(0, 80))} is not 64 hex digits` });
  return null;
}

/** The entries whose version the one version rule accepts; each refused version one problem. */
export function withValidVersions<T extends { readonly version: string }>(project: string, entries: readonly T[], problems: PageProblem[]): T[] {
  const refused = new Set<string>();
  return entries.filter(({ version }) => {
    const reason = versionProblem(version);
    if (reason === null) return true;
    if (!refused.has(version)) {
      refused.add(version);
      const quoted = quoteVersion(version);
      problems.push({ code: 'BAD_VERSION', detail: `${project}: version ${quoted}: ${reason}`, version: quoted, reason });
    }
    return false;
  });
}

/** Groups files (each with the version its filename carries) into releases, `versions` first; refused versions left out. */
export function groupReleases(
  project: string,
  versions: readonly string[],
  files: readonly { version: string; file: IndexFile }[],
  problems: PageProblem[],
): IndexRelease[] {
  const entries = withValidVersions(project, [...versions.map((version) => ({ version, file: null })), ...files], problems);
  const byKey = new Map<string, { version: string; files: IndexFile[] }>();
  for (const { version, file } of entries) {
    const key = releaseKey(version);
    let release = byKey.get(key);
    if (!release) byKey.set(key, (release = { version, files: [] }));
    if (file) release.files.push(file);
  }
  return [...byKey.values()];
}

function fileVersion(filename: string, project: string, problems: PageProblem[]): string | null {
  const parsed = parseDistributionFilename(filename, project);
  if (!parsed) problems.push({ code: 'BAD_FILENAME', detail: `no version in filename ${JSON.stringify(filename.slice(0, 200))}` });
  return parsed?.version ?? null;
}

export function parsePep691(data: unknown, url: string, requested: string): ParsedPage {
  const project = canonicalizeName(requested);
  const check = new ShapeChecker(url, project);
  const root = check.object(data, '(root)');
  const meta = check.object(root.meta, 'meta');
  const apiVersion = check.string(meta['api-version'], 'meta.api-version');
  if (!/^1(\.\d+)?$/.test(apiVersion)) check.fail('meta.api-version', 'a 1.x version', apiVersion);
  const name = check.string(root.name, 'name');
  if (canonicalizeName(name) !== project) check.fail('name', `the project ${project}`, name);
  const versions = root.versions === undefined ? [] : check.array(root.versions, 'versions').map((v, i) => check.string(v, `versions[${i}]`));
  const problems: PageProblem[] = [];
  const files: { version: string; file: IndexFile }[] = [];
  check.array(root.files, 'files').forEach((value, i) => {
    const field = `files[${i}]`;
    const entry = check.object(value, field);
    const filename = check.string(entry.filename, `${field}.filename`);
    check.string(entry.url, `${field}.url`);
    const hashes = check.object(entry.hashes, `${field}.hashes`);
    const sha256 = checkSha256(check.optionalString(hashes.sha256, `${field}.hashes.sha256`), `${project} ${filename}`, problems);
    const yanked = entry.yanked;
    if (yanked !== undefined && typeof yanked !== 'boolean' && typeof yanked !== 'string') check.fail(`${field}.yanked`, 'a boolean or a string', yanked);
    const version = fileVersion(filename, project, problems);
    if (version === null) return;
    files.push({
      version,
      file: {
        filename,
        sha256,
        yanked: yanked === true || typeof yanked === 'string',
        yankedReason: typeof yanked === 'string' && yanked !== '' ? yanked : null,
        uploadTime: readUploadTime(entry['upload-time'], `${project} ${filename}`, problems),
        size: readSize(entry.size, `${project} ${filename}`, problems),
      },
    });
  });
  const status = jsonProjectStatus(root['project-status'], project, problems);
  return { project, releases: groupReleases(project, versions, files, problems), problems, ...(status ? { status } : {}) };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

export function attributes(tag: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const pattern = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of tag.matchAll(pattern)) {
    const [, name = '', dq, sq, bare] = m;
    attrs.set(name.toLowerCase(), decodeHtmlEntities(dq ?? sq ?? bare ?? ''));
  }
  return attrs;
}

/** PEP 503 HTML: one `<a>` per file, the sha256 in the URL fragment, PEP 592 `data-yanked`. */
export function parsePep503(html: string, url: string, requested: string): ParsedPage {
  const project = canonicalizeName(requested);
  const problems: PageProblem[] = [];
  const files: { version: string; file: IndexFile }[] = [];
  for (const m of html.matchAll(/<a\s([^>]*)>([\s\S]*?)<\/a\s*>/gi)) {
    const attrs = attributes(m[1] ?? '');
    const href = attrs.get('href');
    if (href === undefined) continue;
    let target: URL;
    try {
      target = new URL(href, url);
    } catch {
      problems.push({ code: 'BAD_FILENAME', detail: `unreadable href ${JSON.stringify(href.slice(0, 200))}` });
      continue;
    }
    const lastSegment = target.pathname.slice(target.pathname.lastIndexOf('/') + 1);
    let filename: string;
    try {
      filename = decodeURIComponent(lastSegment) || decodeHtmlEntities((m[2] ?? '').trim());
    } catch {
      filename = decodeHtmlEntities((m[2] ?? '').trim());
    }
    const fragment = new URLSearchParams(target.hash.slice(1));
    const sha256 = checkSha256(fragment.get('sha256'), `${project} ${filename}`, problems);
    const version = fileVersion(filename, project, problems);
    if (version === null) continue;
    const yanked = attrs.get('data-yanked');
    files.push({
      version,
      file: {
        filename,
        sha256,
        yanked: yanked !== undefined,
        yankedReason: yanked ? yanked : null,
        uploadTime: null,
        size: null,
      },
    });
  }
  const status = htmlProjectStatus(html, project, attributes, problems);
  return { project, releases: groupReleases(project, [], files, problems), problems, ...(status ? { status } : {}) };
}
