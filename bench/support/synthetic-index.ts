/**
 * A cheap index for scan_memory and replica_scaling: answers `/simple/<project>/` with a
 * PEP 691 JSON page made on the fly from the name (versions 1.0 .. 1.<k-1>, a wheel and an
 * sdist each, the same sha256 the seed writes), so it holds nothing per project and is
 * never the bottleneck, whatever the table's size. Counts the project pages it served; a
 * page can be held back by a latency, and each request's arrival told to `onRequest`.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sdistFile, versionName, wheelFile } from './seed.js';

export interface SyntheticIndex {
  /** `http://127.0.0.1:<port>/simple` */
  readonly simpleUrl: string;
  readonly requests: () => number;
  stop(): Promise<void>;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

export function pageOf(project: string, versionsPerProject: number): string {
  const versions: string[] = [];
  const files: Record<string, unknown>[] = [];
  for (let j = 0; j < versionsPerProject; j += 1) {
    const version = versionName(j);
    versions.push(version);
    for (const filename of [wheelFile(project, version), sdistFile(project, version)]) {
      files.push({ filename, url: `https://files.invalid/${filename}`, hashes: { sha256: sha(`${project}/${version}/${filename}`) }, yanked: false });
    }
  }
  return JSON.stringify({ meta: { 'api-version': '1.1' }, name: project, versions, files });
}

export interface SyntheticIndexOptions {
  /** Milliseconds every project page is answered after (0: at once). */
  readonly latencyMs?: number;
  /** Called as each project request arrives, before its latency. */
  readonly onRequest?: (project: string) => void;
}

export async function startSyntheticIndex(versionsPerProject: number, options: SyntheticIndexOptions = {}): Promise<SyntheticIndex> {
  const latencyMs = options.latencyMs ?? 0;
  let requests = 0;
  const server = createServer((req, res) => {
    const match = /^\/simple\/([^/]+)\/$/.exec(req.url ?? '');
    if (!match?.[1]) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    requests += 1;
    const project = decodeURIComponent(match[1]);
    options.onRequest?.(project);
    const body = pageOf(project, versionsPerProject);
    const answer = () => res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json', 'content-length': Buffer.byteLength(body) }).end(body);
    if (latencyMs > 0) setTimeout(answer, latencyMs);
    else answer();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    simpleUrl: `http://127.0.0.1:${port}/simple`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
