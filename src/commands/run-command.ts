import { startHttpServer } from '../runtime/http-server.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import { createMetrics } from '../runtime/metrics.js';
import { Readiness } from '../runtime/readiness.js';
import { supervise } from '../runtime/supervisor.js';
import { openAdapters } from './adapters.js';
import type { Command } from './command.js';
import { PIPELINE_FACTORIES } from './pipeline-factories.js';

export const runCommand: Command = {
  words: ['run'],
  args: '',
  summary: 'run the service: the configured pipelines, /metrics, /livez, /readyz, graceful drain',
  arity: [0, 0],
  async run({ config, logger }) {
    const readiness = new Readiness();
    const lifecycle = new Lifecycle({ logger, readiness, graceMs: config.shutdownGrace * 1000 });
    lifecycle.installSignalHandlers();
    const metrics = createMetrics();
    metrics.jobsCapacity.set(config.solverCapacity);

    const http = await startHttpServer({ port: config.httpPort, registry: metrics.registry, readiness, logger });
    lifecycle.onClose('http', () => http.close());

    const adapters = await openAdapters({ config, logger, metrics, dryRun: config.dryRun });
    lifecycle.onClose('adapters', () => adapters.close());
    adapters.relay?.start();
    // Commands run beside the service find its API here (the data directory's lock).
    adapters.database.lock?.setHttpUrl(`http://127.0.0.1:${http.port}`);
    readiness.register('database', async () => {
      await adapters.database.ping();
      return null;
    });
    const refreshAttention = async () => {
      const counts = await adapters.store.openAttentionCounts();
      metrics.attentionOpen.reset();
      for (const [pipeline, open] of Object.entries(counts)) metrics.attentionOpen.set({ pipeline }, open);
    };
    await refreshAttention();
    const attentionTimer = setInterval(() => void refreshAttention().catch((error: unknown) => logger.warn({ err: error }, 'attention count failed')), 30_000);
    lifecycle.onClose('attention gauge', async () => clearInterval(attentionTimer));

    const context = { config, adapters, metrics, logger, readiness };
    for (const name of config.pipelines) {
      const pipeline = supervise((stop$) => PIPELINE_FACTORIES[name](context, stop$), { name, logger, metrics, readiness });
      lifecycle.onDrain(`pipeline ${name}`, () => pipeline.drain());
      lifecycle.onClose(`pipeline ${name}`, async () => pipeline.stop());
    }
    logger.info({ database: adapters.database.url, pipelines: config.pipelines, dryRun: config.dryRun }, 'pkgstream running');
    return lifecycle.done;
  },
};
