/** The simple API: PEP 691 JSON (api-version 1.1, PEP 700 fields) and PEP 503 HTML. */
import type { IndexFileEntry, IndexModel, ProjectEntry, ReleaseEntry } from './model.js';
import { escapeXml } from './rss.js';

export const PEP691_JSON = 'application/vnd.pypi.simple.v1+json';
export const PEP691_HTML = 'application/vnd.pypi.simple.v1+html';

export type SimpleFormat = 'json' | 'html';

/**
 * Content negotiation as Warehouse does it: the highest-q of the PEP 691 JSON type and the
 * HTML types wins; JSON wins a tie only if listed first. No Accept (or `*\/*`) means HTML.
 */
export function negotiate(accept: string | undefined): SimpleFormat {
  if (!accept) return 'html';
  let json = -1;
  let html = -1;
  let jsonAt = Infinity;
  let htmlAt = Infinity;
  accept.split(',').forEach((part, at) => {
    const [type = '', ...params] = part.trim().split(';').map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const quality = Number.isFinite(q) ? q : 0;
    if (type === PEP691_JSON) {
      json = Math.max(json, quality);
      jsonAt = Math.min(jsonAt, at);
    } else if (type === PEP691_HTML || type === 'text/html' || type === '*/*') {
      html = Math.max(html, quality);
      htmlAt = Math.min(htmlAt, at);
    }
  });
  if (json > 0 && (json > html || (json === html && jsonAt < htmlAt))) return 'json';
  return 'html';
}

export function fileUrl(origin: string, file: IndexFileEntry): string {
  return `${origin}/packages/${file.sha256.slice(0, 2)}/${file.sha256.slice(2, 4)}/${file.sha256.slice(4)}/${file.filename}`;
}

function filesOf(project: ProjectEntry): { release: ReleaseEntry; file: IndexFileEntry }[] {
  return project.releases.flatMap((release) => release.files.map((file) => ({ release, file })));
}

function yankedValue(release: ReleaseEntry): boolean | string {
  if (!release.yanked) return false;
  return release.yankedReason ?? true;
}

export function projectJson(model: IndexModel, project: ProjectEntry, origin: string): string {
  return JSON.stringify({
    meta: { 'api-version': '1.1', '_last-serial': model.serial },
    name: project.canonical,
    versions: project.releases.map((r) => r.version),
    files: filesOf(project).map(({ release, file }) => ({
      filename: file.filename,
      url: fileUrl(origin, file),
      hashes: { sha256: file.sha256 },
      'requires-python': file.requiresPython,
      'core-metadata': false,
      'data-dist-info-metadata': false,
      yanked: yankedValue(release),
      size: file.size,
      'upload-time': file.uploadTime.toISOString(),
    })),
  });
}

export function projectHtml(model: IndexModel, project: ProjectEntry, origin: string): string {
  const links = filesOf(project).map(({ release, file }) => {
    const attrs = [`href="${escapeXml(`${fileUrl(origin, file)}#sha256=${file.sha256}`)}"`];
    if (file.requiresPython) attrs.push(`data-requires-python="${escapeXml(file.requiresPython)}"`);
    if (release.yanked) attrs.push(`data-yanked="${escapeXml(release.yankedReason ?? '')}"`);
    return `    <a ${attrs.join(' ')}>${escapeXml(file.filename)}</a><br />`;
  });
  return (
    `<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.1">\n` +
    `    <title>Links for ${escapeXml(project.canonical)}</title>\n  </head>\n  <body>\n` +
    `    <h1>Links for ${escapeXml(project.canonical)}</h1>\n${links.join('\n')}\n  </body>\n</html>\n<!--SERIAL ${model.serial}-->\n`
  );
}

export function indexJson(model: IndexModel): string {
  return JSON.stringify({
    meta: { 'api-version': '1.1', '_last-serial': model.serial },
    projects: model.allProjects().map((p) => ({ name: p.name, '_last-serial': model.serial })),
  });
}

export function indexHtml(model: IndexModel): string {
  const links = model.allProjects().map((p) => `    <a href="/simple/${p.canonical}/">${escapeXml(p.name)}</a><br />`);
  return (
    `<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.1">\n` +
    `    <title>Simple index</title>\n  </head>\n  <body>\n${links.join('\n')}\n  </body>\n</html>\n`
  );
}
