/**
 * The simple API as Warehouse renders it (warehouse/packaging/utils.py and its templates):
 * PEP 691 JSON and PEP 503 HTML at api-version 1.4 — PEP 700 `versions`, `size`,
 * `upload-time`; PEP 792 `project-status`; `_last-serial` (PyPI's extension). A quarantined
 * project is left out of the root listing and its page lists no files.
 */
import { compareParsed, tryParseVersion } from '../../../src/domain/pep440.js';
import type { IndexFileEntry } from './files.js';
import type { IndexModel, ProjectEntry, ReleaseEntry } from './model.js';
import { escapeXml } from './rss.js';

export const API_VERSION = '1.4';

export function fileUrl(origin: string, file: IndexFileEntry): string {
  return `${origin}/packages/${file.path}`;
}

/** Python's `datetime.isoformat() + "Z"`: microseconds, left out when zero. */
export function pythonIsoTime(date: Date): string {
  const ms = date.getUTCMilliseconds();
  return `${date.toISOString().slice(0, 19)}${ms === 0 ? '' : `.${String(ms).padStart(3, '0')}000`}Z`;
}

/** PEP 440 order; versions that are not PEP 440 first (as packaging_legacy sorts them), by string. */
export function compareVersionStrings(a: string, b: string): number {
  const pa = tryParseVersion(a);
  const pb = tryParseVersion(b);
  if (pa && pb) return compareParsed(pa, pb) || (a < b ? -1 : a > b ? 1 : 0);
  if (pa || pb) return pa ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The releases a page shows: none for a quarantined project. */
function visibleReleases(project: ProjectEntry): ReleaseEntry[] {
  return project.status === 'quarantined' ? [] : [...project.releases].sort((a, b) => compareVersionStrings(a.version, b.version));
}

function filesOf(project: ProjectEntry): { release: ReleaseEntry; file: IndexFileEntry }[] {
  return visibleReleases(project).flatMap((release) =>
    [...release.files].sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0)).map((file) => ({ release, file })),
  );
}

function yankedValue(release: ReleaseEntry): boolean | string {
  if (!release.yanked) return false;
  return release.yankedReason || true;
}

function projectStatus(project: ProjectEntry): { status: string; reason?: string } {
  return project.statusReason ? { status: project.status, reason: project.statusReason } : { status: project.status };
}

export function projectJson(project: ProjectEntry, origin: string): string {
  return `${JSON.stringify({
    meta: { 'api-version': API_VERSION, '_last-serial': project.lastSerial },
    name: project.canonical,
    'project-status': projectStatus(project),
    // PEP 700: every version uploaded, one without files included.
    versions: visibleReleases(project).map((r) => r.version),
    files: filesOf(project).map(({ release, file }) => ({
      filename: file.filename,
      url: fileUrl(origin, file),
      hashes: { sha256: file.sha256 },
      'requires-python': file.requiresPython,
      size: file.size,
      'upload-time': pythonIsoTime(file.uploadTime),
      yanked: yankedValue(release),
      'data-dist-info-metadata': false,
      'core-metadata': false,
      provenance: null,
    })),
  })}\n`;
}

export function projectHtml(project: ProjectEntry, origin: string): string {
  const links = filesOf(project).map(({ release, file }) => {
    let attrs = `href="${escapeXml(`${fileUrl(origin, file)}#sha256=${file.sha256}`)}" `;
    if (file.requiresPython) attrs += `data-requires-python="${escapeXml(file.requiresPython)}" `;
    if (release.yanked) attrs += `data-yanked="${escapeXml(release.yankedReason ?? '')}" `;
    return `    <a ${attrs}>${escapeXml(file.filename)}</a><br />\n`;
  });
  const reason = project.statusReason ? `\n    <meta name="pypi:project-status-reason" content="${escapeXml(project.statusReason)}">` : '';
  return (
    `<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta name="pypi:repository-version" content="${API_VERSION}">\n` +
    `    <meta name="pypi:project-status" content="${project.status}">${reason}\n` +
    `    <title>Links for ${escapeXml(project.canonical)}</title>\n  </head>\n  <body>\n` +
    `    <h1>Links for ${escapeXml(project.canonical)}</h1>\n${links.join('')}  </body>\n</html>\n<!--SERIAL ${project.lastSerial}-->\n`
  );
}

/** The root listing's projects: every one but the quarantined. */
function listed(model: IndexModel): ProjectEntry[] {
  return model.allProjects().filter((p) => p.status !== 'quarantined');
}

export function indexJson(model: IndexModel): string {
  return `${JSON.stringify({
    meta: { 'api-version': API_VERSION, '_last-serial': model.serial },
    projects: listed(model).map((p) => ({ name: p.name, '_last-serial': p.lastSerial })),
  })}\n`;
}

export function indexHtml(model: IndexModel): string {
  const links = listed(model).map((p) => `    <a href="/simple/${p.canonical}/">${escapeXml(p.name)}</a>\n`);
  return (
    `<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta name="pypi:repository-version" content="${API_VERSION}">\n` +
    `    <title>Simple index</title>\n  </head>\n  <body>\n${links.join('')}  </body>\n</html>\n`
  );
}
