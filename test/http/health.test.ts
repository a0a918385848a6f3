import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createMetrics } from '../../src/runtime/metrics.js';
import { Readiness } from '../../src/runtime/readiness.js';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(readiness = new Readiness()) {
  const metrics = createMetrics();
  server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, readiness, logger: silentLogger() });
  const base = `http://127.0.0.1:${server.port}`;
  return { metrics, base };
}

describe('http server', () => {
  it('serves Prometheus text on /metrics with the project prefix and process metrics', async () => {
    const { metrics, base } = await start();
    metrics.events.inc({ kind: 'package-released' }, 3);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const body = await response.text();
    expect(body).toContain('pkgstream_events_total{kind="package-released"} 3');
    expect(body).toContain('pkgstream_process_cpu_seconds_total');
    expect(body).toContain('pkgstream_nodejs_eventloop_lag_seconds');
  });

  it('answers /livez 200 and unknown paths 404', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('answers /readyz 200 when every check passes, 503 naming what is not ready', async () => {
    const readiness = new Readiness();
    let databaseUp = true;
    readiness.register('database', () => (databaseUp ? null : 'connection refused'));
    readiness.setPipeline('update', 'running');
    readiness.startupDone();
    const { base } = await start(readiness);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    databaseUp = false;
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ ready: false, startup: 'done', pipelines: { update: { state: 'running' } }, failures: { database: 'connection refused' } });
  });

  it('answers /readyz 503 from the moment shutdown begins', async () => {
    const readiness = new Readiness();
    const { base } = await start(readiness);
    readiness.beginShutdown();
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ failures: { shutdown: 'shutting down' } });
  });

  it('reports a throwing check as not ready instead of failing the probe', async () => {
    const readiness = new Readiness();
    readiness.register('kafka', () => {
      throw new Error('broker unreachable');
    });
    const { base } = await start(readiness);
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ failures: { kafka: 'broker unreachable' } });
  });
});
