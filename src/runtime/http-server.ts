/**
 * The service's HTTP face on a plain node:http server: `/metrics` for Prometheus, `/livez`
 * (the process answers), `/readyz` (src/runtime/readiness.ts's report: 200 when ready, else 503).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
}): Promise<HttpServer> {
  const { registry, readiness, logger } = options;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const reply = (status: number, contentType: string, body: string) => {
      response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      reply(405, 'text/plain', 'method not allowed\n');
      return;
    }
    const answer = async () => {
      if (path === '/metrics') return reply(200, registry.contentType, await registry.metrics());
      if (path === '/livez') return reply(200, 'text/plain', 'ok\n');
      if (path === '/readyz') {
        const report = await readiness.report();
        return reply(report.ready ? 200 : 503, 'application/json', JSON.stringify(report));
      }
      return reply(404, 'text/plain', 'not found\n');
    };
    answer().catch((error: unknown) => {
      logger.error({ err: error, path }, 'http handler failed');
      if (!response.headersSent) reply(500, 'text/plain', 'internal error\n');
    });
  });
  // A scraper's keep-alive socket must not hold the drain open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'http server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
