/** Which route a path is, and the answer the index gives it (before faults and ETags). */
import { projectJsonApi, releaseJsonApi } from './json-api.js';
import { canonical, type IndexModel } from './model.js';
import { PEP691_HTML, PEP691_JSON, SIMPLE_OFFERS, TEXT_HTML, negotiate, type SimpleContentType } from './negotiate.js';
import { packagesFeed, projectReleasesFeed, updatesFeed } from './rss.js';
import { indexHtml, indexJson, projectHtml, projectJson } from './simple.js';

export type RouteName =
  | 'rss-updates'
  | 'rss-packages'
  | 'rss-project'
  | 'json-project'
  | 'json-release'
  | 'simple-index'
  | 'simple-project'
  | 'file'
  | 'other';

/** The body's format, which decides what a `malformed` fault sends. */
export type BodyFormat = 'xml' | 'json' | 'html' | 'text' | 'binary';

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly format: BodyFormat;
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/** How the simple API answers: negotiate (like PyPI), or an index that only speaks one format. */
export type SimpleMode = 'negotiate' | 'html-only' | 'json-only';

interface Matched {
  readonly route: RouteName;
  readonly name?: string;
  readonly version?: string;
  /** The file's path under /packages/. */
  readonly path?: string;
  /** The path with the canonical name, used to redirect a non-normalized name. */
  readonly canonicalPath?: (name: string) => string;
}

const XML = 'text/xml; charset=UTF-8';

const CONTENT_TYPES: Record<SimpleContentType, string> = {
  [TEXT_HTML]: 'text/html; charset=utf-8',
  [PEP691_HTML]: PEP691_HTML,
  [PEP691_JSON]: PEP691_JSON,
};

export function matchRoute(pathname: string): Matched {
  let m: RegExpExecArray | null;
  if (pathname === '/rss/updates.xml') return { route: 'rss-updates' };
  if (pathname === '/rss/packages.xml') return { route: 'rss-packages' };
  if ((m = /^\/rss\/project\/([^/]+)\/releases\.xml$/.exec(pathname))) {
    return { route: 'rss-project', name: decodeURIComponent(m[1] ?? ''), canonicalPath: (n) => `/rss/project/${n}/releases.xml` };
  }
  if ((m = /^\/pypi\/([^/]+)\/json\/?$/.exec(pathname))) {
    return { route: 'json-project', name: decodeURIComponent(m[1] ?? ''), canonicalPath: (n) => `/pypi/${n}/json` };
  }
  if ((m = /^\/pypi\/([^/]+)\/([^/]+)\/json\/?$/.exec(pathname))) {
    const version = decodeURIComponent(m[2] ?? '');
    return { route: 'json-release', name: decodeURIComponent(m[1] ?? ''), version, canonicalPath: (n) => `/pypi/${n}/${encodeURIComponent(version)}/json` };
  }
  if (pathname === '/simple/' || pathname === '/simple') return { route: 'simple-index' };
  if ((m = /^\/simple\/([^/]+)(\/?)$/.exec(pathname))) {
    return { route: 'simple-project', name: decodeURIComponent(m[1] ?? ''), canonicalPath: (n) => `/simple/${n}/` };
  }
  if ((m = /^\/packages\/(.+)$/.exec(pathname))) return { route: 'file', path: decodeURIComponent(m[1] ?? '') };
  return { route: 'other' };
}

function notFound(): Answer {
  return { status: 404, contentType: 'text/plain; charset=utf-8', format: 'text', body: '404 Not Found\n' };
}

function redirect(location: string): Answer {
  return { status: 301, contentType: 'text/plain; charset=utf-8', format: 'text', body: `Moved to ${location}\n`, headers: { location } };
}

function notAcceptable(): Answer {
  return { status: 406, contentType: 'text/plain; charset=utf-8', format: 'text', body: `406 Not Acceptable: the simple API offers ${SIMPLE_OFFERS.join(', ')}\n` };
}

/** null: the client's Accept allows none of the simple API's types. */
function simpleType(accept: string | undefined, mode: SimpleMode): SimpleContentType | null {
  if (mode === 'html-only') return TEXT_HTML;
  if (mode === 'json-only') return PEP691_JSON;
  return negotiate(accept);
}

function serialHeader(serial: number): Record<string, string> {
  return { 'x-pypi-last-serial': String(serial) };
}

function fileAnswer(model: IndexModel, path: string | undefined): Answer {
  const found = path === undefined ? undefined : model.fileAt(path);
  if (!found || found.project.status === 'quarantined') return notFound();
  return { status: 200, contentType: 'application/octet-stream', format: 'binary', body: found.file.content };
}

export function answer(
  model: IndexModel,
  matched: Matched,
  pathname: string,
  accept: string | undefined,
  origin: string,
  simpleMode: SimpleMode,
): Answer {
  const { route } = matched;
  if (route === 'rss-updates') return { status: 200, contentType: XML, format: 'xml', body: updatesFeed(model, origin) };
  if (route === 'rss-packages') return { status: 200, contentType: XML, format: 'xml', body: packagesFeed(model, origin) };
  if (route === 'file') return fileAnswer(model, matched.path);
  const type = simpleType(accept, simpleMode);
  if (route === 'simple-index') {
    if (type === null) return notAcceptable();
    const json = type === PEP691_JSON;
    return { status: 200, contentType: CONTENT_TYPES[type], format: json ? 'json' : 'html', body: json ? indexJson(model) : indexHtml(model), headers: serialHeader(model.serial) };
  }
  if (route === 'other' || matched.name === undefined || !matched.canonicalPath) return notFound();

  const project = model.project(matched.name);
  if (!project) return notFound();
  const canonicalPath = matched.canonicalPath(canonical(matched.name));
  // Warehouse answers a non-normalized name (or a missing trailing slash) with a 301.
  if (canonicalPath !== pathname) return redirect(canonicalPath);
  const headers = serialHeader(project.lastSerial);

  switch (route) {
    case 'rss-project':
      return { status: 200, contentType: XML, format: 'xml', body: projectReleasesFeed(project, origin) };
    case 'json-project':
      if (project.status === 'quarantined') return notFound();
      return { status: 200, contentType: 'application/json', format: 'json', body: projectJsonApi(project, origin), headers };
    case 'json-release': {
      const release = project.releases.find((r) => r.version === matched.version);
      if (!release || project.status === 'quarantined') return notFound();
      return { status: 200, contentType: 'application/json', format: 'json', body: releaseJsonApi(project, release, origin), headers };
    }
    case 'simple-project':
      if (type === null) return notAcceptable();
      if (type === PEP691_JSON) return { status: 200, contentType: PEP691_JSON, format: 'json', body: projectJson(project, origin), headers };
      return { status: 200, contentType: CONTENT_TYPES[type], format: 'html', body: projectHtml(project, origin), headers };
  }
}
