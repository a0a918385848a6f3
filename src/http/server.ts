/**
 * The service's HTTP face on fastify (sharing the service's pino logger), on one port:
 * `/metrics`, `/livez`, `/readyz`, the JSON API under `/api/v1` and the web UI. The health
 * routes answer from the start; the API and the UI answer 503 until `serveApi` hands them
 * the opened database (the database opens after the server, so probes work during start-up).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../runtime/logger.js';
import type { Readiness } from '../runtime/readiness.js';
import { ApiError, errorBody, toApiError } from './api-error.js';
import { registerApiRoutes } from './api-routes.js';
import { registerHealthRoutes } from './health-routes.js';
import type { ServiceApi } from './service-api.js';
import { errorPage } from './ui/layout.js';
import { registerUiRoutes } from './ui/ui-routes.js';

export interface HttpServer {
  readonly port: number;
  /** `http://<host>:<port>` as reached on loopback. */
  readonly url: string;
  /** Starts answering the API and the UI from this database and these actions. */
  serveApi(api: ServiceApi): void;
  close(): Promise<void>;
}

const isApi = (request: FastifyRequest) => request.url.startsWith('/api/');

function answerError(request: FastifyRequest, reply: FastifyReply, error: ApiError, grafanaUrl: string | undefined) {
  if (error.status === 401) void reply.header('www-authenticate', 'Bearer');
  if (isApi(request)) return reply.code(error.status).send(errorBody(error.code, error.message));
  return reply.code(error.status).type('text/html; charset=utf-8').send(errorPage(error, grafanaUrl).text);
}

export async function startHttpServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
}): Promise<HttpServer> {
  const { registry, readiness, logger } = options;
  let api: ServiceApi | null = null;
  const context = {
    registry,
    api(): ServiceApi {
      if (api === null) throw new ApiError(503, 'starting', 'the service is starting: the database is not open yet');
      return api;
    },
  };
  const app = Fastify({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: pino's Logger and FastifyBaseLogger differ in generics
    loggerInstance: logger as FastifyBaseLogger,
    // Every scrape and probe would be two log lines; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // A scraper's keep-alive socket must not hold the drain open.
    keepAliveTimeout: 5_000,
    forceCloseConnections: true,
    bodyLimit: 64 * 1024,
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
  });
  app.setErrorHandler((error, request, reply) => {
    const answer = toApiError(error);
    if (answer.status >= 500 && !(error instanceof ApiError)) logger.error({ err: error, path: request.url.split('?')[0] }, 'http handler failed');
    return answerError(request, reply, answer, api?.grafanaUrl);
  });
  app.setNotFoundHandler((request, reply) => answerError(request, reply, new ApiError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`), api?.grafanaUrl));

  registerHealthRoutes(app, { registry, readiness });
  registerApiRoutes(app, context);
  registerUiRoutes(app, context);

  await app.listen({ port: options.port, host: options.host ?? '0.0.0.0' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  logger.info({ port }, 'http server listening');
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    serveApi(given) {
      api = given;
    },
    close: () => app.close(),
  };
}
