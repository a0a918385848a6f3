/**
 * A cheap index for scan_memory: answers `/simple/<project>/` with a PEP 691 JSON page made
 * on the fly from the name (versions 1.0 .. 1.<k-1>, a wheel and an sdist each, the same
 * sha256 the seed writes), so it holds nothing per project and is never the bottleneck,
 * whatever the table's size. Counts the project pages it served.
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

export async function startSyntheticIndex(versionsPerProject: number): Promise<SyntheticIndex> {
  let requests = 0;
  const server = createServer((req, res) => {
    const match = /^\/simple\/([^/]+)\/$/.exec(req.url ?? '');
    if (!match?.[1]) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    requests += 1;
    const body = pageOf(decodeURIComponent(match[1]), versionsPerProject);
    res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json', 'content-length': Buffer.byteLength(body) }).end(body);
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
