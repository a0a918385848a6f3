/** `/metrics` for Prometheus, `/livez` (the process answers), `/readyz` (src/runtime/readiness.ts's report: 200 when ready, else 503). */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Readiness } from '../runtime/readiness.js';

export function registerHealthRoutes(app: FastifyInstance, options: { registry: Registry; readiness: Readiness }): void {
  const { registry, readiness } = options;
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get('/livez', async (_request, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_request, reply) => {
    const report = await readiness.report();
    return reply.code(report.ready ? 200 : 503).type('application/json').send(JSON.stringify(report));
  });
}
