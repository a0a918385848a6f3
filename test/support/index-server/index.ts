/**
 * A Warehouse-like package index on node:http for tests, benchmarks and the demo: RSS
 * feeds, the JSON API, the simple API (PEP 691 JSON / PEP 503 HTML, PEP 700, PEP 792),
 * the files themselves (real wheels and sdists whose sha256 the pages give), Warehouse's
 * serials, ETags/304 on every answer, fault injection, request counters, and an admin
 * route (admin.ts) to change it while it runs.
 *
 *   const index = await startIndexServer();
 *   index.addRelease('requests', '2.32.0');
 *   index.inject({ kind: 'status', status: 503 }, { times: 2 });
 *   ... index.counters.count('simple-project', 503) ...
 *   await index.stop();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PackageIndex } from '../../../src/domain/types.js';
import { admin } from './admin.js';
import { RequestCounters } from './counters.js';
import { Delivery, etagMatches, etagOf } from './delivery.js';
import { FaultInjector, type Fault, type FaultRuleOptions } from './faults.js';
import type { FileSpec, IndexFileEntry } from './files.js';
import { IndexModel, type ProjectOptions, type ProjectStatus, type ReleaseEntry, type ReleaseOptions } from './model.js';
import { answer, matchRoute, type SimpleMode } from './routes.js';
import { applySeed, parseSeed, type SeedDocument } from './seed.js';

export type { CountersSnapshot } from './counters.js';
export type { Fault, FaultRuleOptions } from './faults.js';
export { artifactBytes, canonical, distName } from './artifacts.js';
export { defaultFiles } from './files.js';
export type { FileSpec, IndexFileEntry } from './files.js';
export { generateSeed } from './generator.js';
export type { JournalEntry } from './journal.js';
export type { ProjectEntry, ProjectStatus, ReleaseEntry, ReleaseOptions } from './model.js';
export type { RouteName, SimpleMode } from './routes.js';
export type { SeedDocument } from './seed.js';
export { etagOf, IndexModel, RequestCounters, FaultInjector };

export interface IndexServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Seed of the latency jitter and fault fractions. */
  readonly seed?: number;
  /** Time of the first upload without an explicit time (each next one is 1 s later). */
  readonly clockStart?: Date;
  /** Called once per answered request (admin requests included), e.g. to log it. */
  readonly onRequest?: (entry: { method: string; path: string; status: number }) => void;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** The client's port: requests on one kept-alive connection share it. */
  readonly remotePort: number | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface IndexServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The index as pkgstream registers it (`id` 1 unless given). */
  packageIndex(id?: number): PackageIndex;
  readonly model: IndexModel;
  readonly faults: FaultInjector;
  /** Requests to the index (admin requests not counted). */
  readonly counters: RequestCounters;
  /** The last 200 index requests (method, path, headers), oldest first; cleared by resetCounters. */
  readonly requests: readonly RecordedRequest[];

  addProject(name: string, options?: ProjectOptions): void;
  addRelease(name: string, version: string, files?: FileSpec[], options?: ReleaseOptions): ReleaseEntry;
  removeVersion(name: string, version: string): boolean;
  removeProject(name: string): boolean;
  yank(name: string, version: string, reason?: string | null): void;
  unyank(name: string, version: string): void;
  /** PEP 792 status, with an optional reason. */
  setStatus(name: string, status: ProjectStatus, reason?: string | null): void;
  /** The pages report this sha256 for the file; its bytes stay as they are. */
  setSha(name: string, version: string, filename: string, sha256: string): void;
  /** New bytes at the file's URL; the pages keep the old digest unless `rehash`. */
  setContent(name: string, version: string, filename: string, content: Uint8Array | string, options?: { rehash?: boolean }): IndexFileEntry;
  /** Adds a seed document's projects (seed.ts); throws naming the source (default `document`) and the field on a bad one. */
  seed(document: SeedDocument, source?: string): { projects: number; releases: number };
  setClock(date: Date): void;
  setSimpleMode(mode: SimpleMode): void;

  setLatency(fixedMs: number, jitterMs?: number): void;
  setRateLimit(perSecond: number | null, retryAfterSeconds?: number): void;
  inject(fault: Fault, options?: FaultRuleOptions): void;
  clearFaults(): void;
  resetCounters(): void;

  stop(): Promise<void>;
}

const MAX_ADMIN_BODY = 50 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ADMIN_BODY) req.destroy(new Error('admin body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startIndexServer(options: IndexServerOptions = {}): Promise<IndexServer> {
  const model = new IndexModel(options.clockStart);
  const faults = new FaultInjector(options.seed ?? 1);
  const counters = new RequestCounters();
  const timers = new Set<NodeJS.Timeout>();
  let simpleMode: SimpleMode = 'negotiate';
  const requests: RecordedRequest[] = [];
  let origin = '';

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  const delivery = new Delivery(counters, sleep);
  const send = delivery.send.bind(delivery);

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const result = admin(model, req.method ?? 'GET', url, await readBody(req), origin);
    const body = `${JSON.stringify(result.body)}\n`;
    res.writeHead(result.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    counters.started(Date.now());
    res.once('close', () => counters.ended());
    requests.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, remotePort: req.socket.remotePort, headers: { ...req.headers } });
    if (requests.length > 200) requests.shift();
    const matched = matchRoute(url.pathname);
    const { route } = matched;

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, route, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }, 'method not allowed\n');
    }
    const limited = faults.overLimit(Date.now());
    if (limited !== null) {
      return send(res, route, 429, { 'retry-after': String(limited), 'content-type': 'text/plain' }, 'too many requests\n');
    }
    await sleep(faults.delayMs());
    if (res.destroyed) return;

    const fault = faults.pick(route, 'name' in matched ? matched.name : undefined);
    if (fault?.kind === 'status') {
      return send(res, route, fault.status, { 'content-type': 'text/plain' }, `${fault.status} injected\n`);
    }
    if (fault?.kind === 'rate-limited') {
      return send(res, route, 429, { 'retry-after': String(fault.retryAfter ?? 1), 'content-type': 'text/plain' }, 'too many requests\n');
    }

    const ans = answer(model, matched, url.pathname, req.headers.accept, origin, simpleMode);
    const etag = etagOf(ans.contentType, ans.body);
    const vary: Record<string, string> = route === 'file' ? {} : { vary: 'Accept' };
    const headers: Record<string, string> = { 'content-type': ans.contentType, etag, ...vary, ...ans.headers };
    if (ans.status === 200 && etagMatches(req.headers['if-none-match'], etag)) {
      const unchanged = { ...headers };
      delete unchanged['content-type'];
      return send(res, route, 304, unchanged);
    }
    if (req.method === 'HEAD') return send(res, route, ans.status, headers);
    if (ans.status !== 200) return send(res, route, ans.status, headers, ans.body);
    return delivery.withFault(res, route, ans, headers, fault);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (options.onRequest) {
      const onRequest = options.onRequest;
      res.once('finish', () => onRequest({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, status: res.statusCode }));
    }
    const work = url.pathname.startsWith('/_admin/') ? handleAdmin(req, res, url) : handle(req, res, url);
    work.catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`index-server error: ${String(error)}\n`);
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  return {
    url: origin,
    port,
    packageIndex: (id = 1) => ({
      id,
      simpleUrl: `${origin}/simple`,
      jsonApiUrl: `${origin}/pypi`,
      rssUrl: `${origin}/rss`,
      verifyTls: true,
      enabled: true,
      watchMode: 'all',
    }),
    model,
    faults,
    counters,
    requests,
    addProject: (name, opts) => void model.addProject(name, opts),
    addRelease: (name, version, files, opts) => model.addRelease(name, version, files, opts),
    removeVersion: (name, version) => model.removeVersion(name, version),
    removeProject: (name) => model.removeProject(name),
    yank: (name, version, reason) => model.yank(name, version, reason),
    unyank: (name, version) => model.unyank(name, version),
    setStatus: (name, status, reason) => model.setStatus(name, status, reason),
    setSha: (name, version, filename, sha256) => model.setSha(name, version, filename, sha256),
    setContent: (name, version, filename, content, opts) => model.setContent(name, version, filename, content, opts),
    seed: (document, source = 'document') => applySeed(model, parseSeed(document, source)),
    setClock: (date) => model.setClock(date),
    setSimpleMode: (mode) => {
      simpleMode = mode;
    },
    setLatency: (fixedMs, jitterMs) => faults.setLatency(fixedMs, jitterMs),
    setRateLimit: (perSecond, retryAfterSeconds) => faults.setRateLimit(perSecond, retryAfterSeconds),
    inject: (fault, opts) => faults.inject(fault, opts),
    clearFaults: () => faults.clear(),
    resetCounters: () => {
      counters.reset();
      requests.length = 0;
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
