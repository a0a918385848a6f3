/**
 * A cheap index for scan_memory, replica_scaling, combined_rate and pypi_day: answers
 * `/simple/<project>/` with a PEP 691 JSON page made on the fly from the name (versions
 * 1.0 .. 1.<k-1>, a wheel and an sdist each, the same sha256 the seed writes), so it holds
 * nothing per project and is never the bottleneck, whatever the table's size. Given a
 * SyntheticWarehouse it is Warehouse-shaped: only that model's projects, as they changed,
 * with `X-PyPI-Last-Serial`, the root listing (`/simple/`) and the RSS feeds
 * (`/rss/updates.xml`, `/rss/packages.xml`). Counts the project pages it served; a page can
 * be held back by a latency, and each request's arrival told to `onRequest` / `onArrival`.
 */
import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sdistFile, versionName, wheelFile } from './seed.js';
import type { SyntheticWarehouse } from './synthetic-warehouse.js';

export interface SyntheticIndex {
  /** `http://127.0.0.1:<port>/simple` */
  readonly simpleUrl: string;
  readonly requests: () => number;
  stop(): Promise<void>;
}

/** What a request asked for: a feed, the root listing, a project page (anything else is `other`). */
export type RequestKind = 'feed' | 'root' | 'page' | 'other';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The page of `project` listing `versions`, each with a wheel and an sdist (`yanked` ones yanked). */
export function projectPage(project: string, versions: readonly string[], yanked: ReadonlySet<string> = new Set(), serial?: number): string {
  const files = versions.flatMap((version) =>
    [wheelFile(project, version), sdistFile(project, version)].map((filename) => ({
      filename,
      url: `https://files.invalid/${filename}`,
      hashes: { sha256: sha(`${project}/${version}/${filename}`) },
      yanked: yanked.has(version) ? 'bench' : false,
    })),
  );
  const meta = serial === undefined ? { 'api-version': '1.1' } : { 'api-version': '1.1', '_last-serial': serial };
  return JSON.stringify({ meta, name: project, versions, files });
}

export function pageOf(project: string, versionsPerProject: number): string {
  return projectPage(project, Array.from({ length: versionsPerProject }, (_, j) => versionName(j)));
}

export interface SyntheticIndexOptions {
  /** Milliseconds every project page is answered after (0: at once). */
  readonly latencyMs?: number;
  /** Called as each project request arrives, before its latency. */
  readonly onRequest?: (project: string) => void;
  /** Called as each request arrives, with what it asks for. */
  readonly onArrival?: (kind: RequestKind) => void;
  /** Warehouse's shape: these projects only, with serials, a root listing and feeds. */
  readonly warehouse?: SyntheticWarehouse;
}

const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}

export async function startSyntheticIndex(versionsPerProject: number, options: SyntheticIndexOptions = {}): Promise<SyntheticIndex> {
  const latencyMs = options.latencyMs ?? 0;
  const warehouse = options.warehouse;
  let requests = 0;
  let origin = '';
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    const feed = /^\/rss\/(updates|packages)\.xml$/.exec(path)?.[1] as 'updates' | 'packages' | undefined;
    const project = /^\/simple\/([^/]+)\/$/.exec(path)?.[1];
    const root = path === '/simple/';
    options.onArrival?.(feed ? 'feed' : root ? 'root' : project ? 'page' : 'other');
    if (warehouse && feed) {
      res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(warehouse.rss(feed, origin));
      return;
    }
    if (warehouse && root) {
      res.writeHead(200, { 'content-type': JSON_TYPE });
      const chunks = warehouse.listing();
      // Written as the socket drains: 600,000 entries are never one string.
      const write = () => {
        for (let next = chunks.next(); !next.done; next = chunks.next()) if (!res.write(next.value)) return void res.once('drain', write);
        res.end();
      };
      write();
      return;
    }
    if (!project) {
      notFound(res);
      return;
    }
    requests += 1;
    const name = decodeURIComponent(project);
    options.onRequest?.(name);
    const listed = warehouse?.page(name);
    if (listed === null) {
      notFound(res);
      return;
    }
    const body = listed ? projectPage(name, listed.versions, listed.yanked, listed.serial) : pageOf(name, versionsPerProject);
    const headers = { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), ...(listed ? { 'x-pypi-last-serial': String(listed.serial) } : {}) };
    const answer = () => res.writeHead(200, headers).end(body);
    if (latencyMs > 0) setTimeout(answer, latencyMs);
    else answer();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    simpleUrl: `${origin}/simple`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
