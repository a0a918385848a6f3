/** Writing an answer to the socket: ETags, and the faults that change how a body arrives. */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RequestCounters } from './counters.js';
import type { Fault } from './faults.js';
import type { Answer, BodyFormat, RouteName } from './routes.js';

/** Strong ETag of a representation. */
export function etagOf(contentType: string, body: string | Uint8Array): string {
  return `"${createHash('sha256').update(contentType).update('\0').update(body).digest('hex').slice(0, 32)}"`;
}

export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

const MALFORMED: Record<BodyFormat, string> = {
  xml: '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><item><title>broken 1.0</title></item></chanel></rss>\n',
  json: '{"meta": {"api-version": "1.1"}, "name": "broken", "files": [{"filename": ',
  html: '<!DOCTYPE html><html><body><a href="/packages/x/broken-1.0.tar.gz#sha256=zz',
  text: '\u0000\u0001 not what you asked for',
  binary: 'PK\u0003\u0004 not a whole archive',
};

export class Delivery {
  constructor(
    private readonly counters: RequestCounters,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  send(res: ServerResponse, route: RouteName, status: number, headers: Record<string, string | number>, body: string | Uint8Array = ''): void {
    this.counters.answered(route, status);
    const buffer = Buffer.from(body);
    res.writeHead(status, { 'content-length': buffer.length, ...headers });
    res.end(buffer);
  }

  /** Sends a 200 answer as the fault (one of the body faults, or none) says. */
  async withFault(res: ServerResponse, route: RouteName, ans: Answer, headers: Record<string, string>, fault: Fault | null): Promise<void> {
    const body = Buffer.from(ans.body);
    if (!fault || fault.kind === 'status' || fault.kind === 'rate-limited') return this.send(res, route, ans.status, headers, body);
    switch (fault.kind) {
      case 'malformed': {
        const broken = MALFORMED[ans.format];
        return this.send(res, route, ans.status, { ...headers, etag: etagOf(ans.contentType, broken) }, broken);
      }
      case 'body':
        return this.send(res, route, ans.status, { ...headers, 'content-type': fault.contentType ?? ans.contentType, ...fault.headers }, fault.body);
      case 'truncate': {
        this.counters.answered(route, ans.status);
        res.writeHead(ans.status, { 'content-length': body.length, ...headers });
        const keep = Math.min(fault.keepBytes ?? Math.floor(body.length / 2), Math.max(0, body.length - 1));
        res.write(body.subarray(0, keep));
        await this.sleep(20);
        res.socket?.destroy();
        return;
      }
      case 'drip': {
        this.counters.answered(route, ans.status);
        res.writeHead(ans.status, { 'content-length': body.length, ...headers });
        const step = Math.max(1, fault.chunkBytes ?? 16);
        for (let at = 0; at < body.length; at += step) {
          if (res.destroyed) return;
          res.write(body.subarray(at, at + step));
          await this.sleep(fault.intervalMs);
        }
        res.end();
        return;
      }
      case 'oversize':
        return this.oversize(res, route, ans.status, headers, fault.bytes, fault.declareLength ?? false);
    }
  }

  private async oversize(res: ServerResponse, route: RouteName, status: number, headers: Record<string, string>, bytes: number, declareLength: boolean): Promise<void> {
    this.counters.answered(route, status);
    res.writeHead(status, declareLength ? { ...headers, 'content-length': bytes } : headers);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    while (sent < bytes && !res.destroyed) {
      const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
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
  }
}
