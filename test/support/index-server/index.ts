/**
 * A Warehouse-like package index on node:http for tests and benchmarks: RSS feeds, the
 * JSON API and the simple API (PEP 691 JSON / PEP 503 HTML), with ETags, content set
 * programmatically, fault injection and request counters.
 *
 *   const index = await startIndexServer();
 *   index.addRelease('requests', '2.32.0');
 *   index.inject({ kind: 'status', status: 503 }, { times: 2 });
 *   ... index.counters.count('simple-project', 503) ...
 *   await index.stop();
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PackageIndex } from '../../../src/domain/types.js';
import { RequestCounters } from './counters.js';
import { FaultInjector, type Fault, type FaultRuleOptions } from './faults.js';
import { IndexModel, type FileSpec, type ProjectOptions, type ReleaseEntry, type ReleaseOptions } from './model.js';
import { answer, matchRoute, type Answer, type BodyFormat, type RouteName, type SimpleMode } from './routes.js';

export type { CountersSnapshot } from './counters.js';
export type { Fault, FaultRuleOptions } from './faults.js';
export { canonical, defaultFiles, deterministicSha256 } from './model.js';
export type { FileSpec, IndexFileEntry, ProjectEntry, ReleaseEntry, ReleaseOptions } from './model.js';
export type { RouteName, SimpleMode } from './routes.js';
export { IndexModel, RequestCounters, FaultInjector };

export interface IndexServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Seed of the latency jitter and fault fractions. */
  readonly seed?: number;
  /** Time of the first upload without an explicit time (each next one is 1 s later). */
  readonly clockStart?: Date;
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
  readonly counters: RequestCounters;
  /** The last 200 requests (method, path, headers), oldest first; cleared by resetCounters. */
  readonly requests: readonly RecordedRequest[];

  addProject(name: string, options?: ProjectOptions): void;
  addRelease(name: string, version: string, files?: FileSpec[], options?: ReleaseOptions): ReleaseEntry;
  removeVersion(name: string, version: string): boolean;
  removeProject(name: string): boolean;
  yank(name: string, version: string, reason?: string | null): void;
  unyank(name: string, version: string): void;
  setSha(name: string, version: string, filename: string, sha256: string): void;
  setClock(date: Date): void;
  setSimpleMode(mode: SimpleMode): void;

  setLatency(fixedMs: number, jitterMs?: number): void;
  setRateLimit(perSecond: number | null, retryAfterSeconds?: number): void;
  inject(fault: Fault, options?: FaultRuleOptions): void;
  clearFaults(): void;
  resetCounters(): void;

  stop(): Promise<void>;
}

/** Strong ETag of a body. */
export function etagOf(contentType: string, body: string): string {
  return `"${createHash('sha256').update(contentType).update('\0').update(body).digest('hex').slice(0, 32)}"`;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

const MALFORMED: Record<BodyFormat, string> = {
  xml: '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><item><title>broken 1.0</title></item></chanel></rss>\n',
  json: '{"meta": {"api-version": "1.1"}, "name": "broken", "files": [{"filename": ',
  html: '<!DOCTYPE html><html><body><a href="/packages/x/broken-1.0.tar.gz#sha256=zz',
  text: '\u0000\u0001 not what you asked for',
};

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

  function send(res: ServerResponse, route: RouteName, status: number, headers: Record<string, string | number>, body: string | Uint8Array = '') {
    counters.answered(route, status);
    const buffer = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
    res.writeHead(status, { 'content-length': buffer.length, ...headers });
    res.end(buffer);
  }

  async function sendWithFault(res: ServerResponse, route: RouteName, ans: Answer, headers: Record<string, string>, fault: Fault | null) {
    const body = Buffer.from(ans.body);
    if (!fault || fault.kind === 'status' || fault.kind === 'rate-limited') return send(res, route, ans.status, headers, body);
    switch (fault.kind) {
      case 'malformed': {
        const broken = MALFORMED[ans.format];
        return send(res, route, ans.status, { ...headers, etag: etagOf(ans.contentType, broken) }, broken);
      }
      case 'body':
        return send(res, route, ans.status, { ...headers, 'content-type': fault.contentType ?? ans.contentType }, fault.body);
      case 'truncate': {
        counters.answered(route, ans.status);
        res.writeHead(ans.status, { 'content-length': body.length, ...headers });
        const keep = Math.min(fault.keepBytes ?? Math.floor(body.length / 2), Math.max(0, body.length - 1));
        res.write(body.subarray(0, keep));
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      case 'drip': {
        counters.answered(route, ans.status);
        res.writeHead(ans.status, { 'content-length': body.length, ...headers });
        const step = Math.max(1, fault.chunkBytes ?? 16);
        for (let at = 0; at < body.length; at += step) {
          if (res.destroyed) return;
          res.write(body.subarray(at, at + step));
          await sleep(fault.intervalMs);
        }
        res.end();
        return;
      }
      case 'oversize': {
        counters.answered(route, ans.status);
        res.writeHead(ans.status, fault.declareLength ? { ...headers, 'content-length': fault.bytes } : headers);
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        while (sent < fault.bytes && !res.destroyed) {
          const piece = chunk.subarray(0, Math.min(chunk.length, fault.bytes - sent));
          sent += piece.length;
          if (!res.write(piece)) {
            await new Promise<void>((resolve) => {
              const done = () => {
                res.off('drain', done);
                res.off('close', done);
                resolve();
              };
              res.on('drain', done);
              res.on('close', done);
            });
          }
        }
        if (!res.destroyed) res.end();
        return;
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.started(Date.now());
    res.once('close', () => counters.ended());
    const url = new URL(req.url ?? '/', origin);
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

    const fault = faults.pick(route);
    if (fault?.kind === 'status') {
      return send(res, route, fault.status, { 'content-type': 'text/plain' }, `${fault.status} injected\n`);
    }
    if (fault?.kind === 'rate-limited') {
      return send(res, route, 429, { 'retry-after': String(fault.retryAfter ?? 1), 'content-type': 'text/plain' }, 'too many requests\n');
    }

    const ans = answer(model, matched, url.pathname, req.headers.accept, origin, simpleMode);
    const etag = etagOf(ans.contentType, ans.body);
    const headers: Record<string, string> = { 'content-type': ans.contentType, etag, vary: 'Accept', ...ans.headers };
    if (ans.status === 200 && etagMatches(req.headers['if-none-match'], etag)) {
      return send(res, route, 304, { etag, vary: 'Accept' });
    }
    if (req.method === 'HEAD') return send(res, route, ans.status, headers);
    if (ans.status !== 200) return send(res, route, ans.status, headers, ans.body);
    return sendWithFault(res, route, ans, headers, fault);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
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
    setSha: (name, version, filename, sha256) => model.setSha(name, version, filename, sha256),
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
