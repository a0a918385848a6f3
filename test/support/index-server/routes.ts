/** Which route a path is, and the answer the index gives it (before faults and ETags). */
import { projectJsonApi, releaseJsonApi } from './json-api.js';
import { canonical, type IndexModel } from './model.js';
import { packagesFeed, projectReleasesFeed, updatesFeed } from './rss.js';
import { PEP691_HTML, PEP691_JSON, indexHtml, indexJson, negotiate, projectHtml, projectJson } from './simple.js';

export type RouteName =
  | 'rss-updates'
  | 'rss-packages'
  | 'rss-project'
  | 'json-project'
  | 'json-release'
  | 'simple-index'
  | 'simple-project'
  | 'other';

/** The body's format, which decides what a `malformed` fault sends. */
export type BodyFormat = 'xml' | 'json' | 'html' | 'text';

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly format: BodyFormat;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** How the simple API answers: negotiate (like PyPI), or an index that only speaks one format. */
export type SimpleMode = 'negotiate' | 'html-only' | 'json-only';

interface Matched {
  readonly route: RouteName;
  readonly name?: string;
  readonly version?: string;
  /** The path with the canonical name, used to redirect a non-normalized name. */
  readonly canonicalPath?: (name: string) => string;
}

const XML = 'text/xml; charset=UTF-8';

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
  return { route: 'other' };
}

function notFound(): Answer {
  return { status: 404, contentType: 'text/plain; charset=utf-8', format: 'text', body: '404 Not Found\n' };
}

function redirect(location: string): Answer {
  return { status: 301, contentType: 'text/plain; charset=utf-8', format: 'text', body: `Moved to ${location}\n`, headers: { location } };
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
  const format = simpleMode === 'negotiate' ? negotiate(accept) : simpleMode === 'json-only' ? 'json' : 'html';
  if (route === 'simple-index') {
    return format === 'json'
      ? { status: 200, contentType: PEP691_JSON, format: 'json', body: indexJson(model) }
      : { status: 200, contentType: 'text/html; charset=utf-8', format: 'html', body: indexHtml(model) };
  }
  if (route === 'other' || matched.name === undefined || !matched.canonicalPath) return notFound();

  const project = model.project(matched.name);
  if (!project) return notFound();
  const canonicalPath = matched.canonicalPath(canonical(matched.name));
  // Warehouse answers a non-normalized name (or a missing trailing slash) with a 301.
  if (canonicalPath !== pathname) return redirect(canonicalPath);

  switch (route) {
    case 'rss-project':
      return { status: 200, contentType: XML, format: 'xml', body: projectReleasesFeed(project, origin) };
    case 'json-project':
      return { status: 200, contentType: 'application/json', format: 'json', body: projectJsonApi(model, project, origin) };
    case 'json-release': {
      const release = project.releases.find((r) => r.version === matched.version);
      if (!release) return notFound();
      return { status: 200, contentType: 'application/json', format: 'json', body: releaseJsonApi(model, project, release, origin) };
    }
    case 'simple-project':
      if (format === 'json') return { status: 200, contentType: PEP691_JSON, format: 'json', body: projectJson(model, project, origin) };
      return {
        status: 200,
        contentType: accept?.includes(PEP691_HTML) ? PEP691_HTML : 'text/html; charset=utf-8',
        format: 'html',
        body: projectHtml(model, project, origin),
      };
  }
}
