/**
 * `pkgstream run`: the service. Start-up, in order: the shutdown signal is watched (a
 * SIGTERM at any point stops cleanly, and nothing starts after it); /metrics, /livez and
 * /readyz listen (503 until start-up is done); the database is opened and migrated,
 * retried while unreachable; the dependencies are checked; the pipelines start.
 */
import { listIndexes, refuseIfLocked } from '../db/index.js';
import { PkgstreamError, errorMessage } from '../domain/errors.js';
import { startHttpServer, type HttpServer } from '../http/server.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import type { Logger } from '../runtime/logger.js';
import { createMetrics, type Metrics } from '../runtime/metrics.js';
import { Readiness } from '../runtime/readiness.js';
import { supervise } from '../runtime/supervisor.js';
import type { Adapters } from './adapters.js';
import type { Command, CommandContext } from './command.js';
import { openAdaptersWithRetry } from './database-start.js';
import { monitorDependencies } from './dependency-monitor.js';
import { PIPELINE_FACTORIES } from './pipeline-factories.js';
import { serviceApi } from './service-actions.js';
import type { Config } from '../runtime/config.js';
import { budgetWarnings, verificationBudgets } from '../runtime/verification-budget.js';
import { listIndexOverviews } from '../db/index-overview.js';
import { joinReplicas } from '../runtime/membership.js';
import { logWatched } from './watch-summary.js';

const ATTENTION_REFRESH_MS = 30_000;

export const runCommand: Command = {
  words: ['run'],
  args: '',
  summary: 'run the service: the configured pipelines, /metrics, /livez, /readyz, /api/v1 and the web UI, graceful drain',
  arity: [0, 0],
  async run(context) {
    const { config, logger, signal } = context;
    // Before the port opens: a second `run` on a held data directory says who holds it.
    if (!config.databaseUrl) refuseIfLocked(config.dataDir);
    const metrics = createMetrics();
    const readiness = new Readiness(metrics.dependencyUp);
    const lifecycle = new Lifecycle({ logger, readiness, graceMs: config.shutdownGrace * 1000 });
    lifecycle.watch(signal);
    metrics.jobsCapacity.set(config.solverCapacity);
    // A SIGTERM that came while the commands loaded: nothing is started.
    if (lifecycle.stopping) return lifecycle.done;

    const http = await startHttpServer({ port: config.httpPort, registry: metrics.registry, readiness, logger }).catch((error: unknown) => {
      throw new PkgstreamError('HTTP_PORT_UNAVAILABLE', `HTTP port ${config.httpPort} (PKGSTREAM_HTTP_PORT): ${errorMessage(error)}`, { cause: error });
    });
    lifecycle.onClose('http', () => http.close());
    if (lifecycle.stopping) {
      await http.close(); // the signal came while the port opened: the stop has already run
      return lifecycle.done;
    }

    // A stop during start-up waits (within the grace period) for start-up to give up.
    const startup = startService(context, { lifecycle, readiness, metrics, http });
    lifecycle.onDrain('start-up', () => startup.then(() => undefined, () => undefined));
    try {
      await startup;
    } catch (error) {
      await lifecycle.stop('start-up failed');
      throw error;
    }
    return lifecycle.done;
  },
};

async function startService(context: CommandContext, service: { lifecycle: Lifecycle; readiness: Readiness; metrics: Metrics; http: HttpServer }): Promise<void> {
  const { config, logger, signal } = context;
  const { lifecycle, readiness, metrics } = service;
  const dependencies = monitorDependencies({ config, readiness, logger });
  lifecycle.onClose('dependency checks', () => dependencies.close());

  // Listed from the start, so that the body says what is still to come.
  for (const name of config.pipelines) readiness.setPipeline(name, 'starting', 'waiting for start-up');
  readiness.setStartup('opening the database');
  // Beside the feeds and serial syncs, the update pipeline's re-checks (verification) get their share of the rate.
  const rateShares = { update: config.verifyShare };
  const opened = await openAdaptersWithRetry({ config, logger, metrics, dryRun: config.dryRun, observeIndex: (client) => dependencies.watchIndex(client), rateShares }, signal, (reason) =>
    readiness.setDependency('database', false, reason),
  );
  if (opened === null) return;
  lifecycle.onClose('adapters', () => opened.close());
  // Publishes what earlier runs left unsent, then every event as it is written.
  opened.relay?.start();
  const adapters = opened;
  await logWatched(adapters.database.pool, logger);

  readiness.setStartup('checking the dependencies');
  await dependencies.start(await listIndexes(adapters.database.pool, { enabledOnly: true }));
  await startStoreGauges(adapters, config, metrics, logger, lifecycle);
  if (lifecycle.stopping) return;

  // Replicas on one server share the work; an embedded database has one process (its lock).
  readiness.setStartup('joining the replicas of this database');
  const membership = adapters.database.embedded
    ? null
    : await joinReplicas({ db: adapters.database.pool, ttlMs: config.leaseTtl * 1000, metrics, logger, signal, onLive: (live) => adapters.index.shareAmong(live) });
  if (membership) lifecycle.onClose('replica membership', () => membership.close());
  else metrics.replicasLive.set(1);
  if (lifecycle.stopping) return;

  readiness.setStartup('starting the pipelines');
  const pipelineContext = { config, adapters, metrics, logger, readiness, ...(membership ? { leases: membership.leases, claims: membership.claims } : {}) };
  service.http.serveApi(serviceApi(pipelineContext));
  // Commands run beside the service find its API here, instead of opening the locked files.
  adapters.database.lock?.setHttpUrl(service.http.url);
  for (const name of config.pipelines) {
    const pipeline = supervise((stop$) => PIPELINE_FACTORIES[name](pipelineContext, stop$), { name, logger, metrics, readiness });
    lifecycle.onDrain(`pipeline ${name}`, () => pipeline.drain());
    lifecycle.onClose(`pipeline ${name}`, async () => pipeline.stop());
  }
  readiness.startupDone();
  logger.info({ database: adapters.database.url, pipelines: config.pipelines, dryRun: config.dryRun }, 'pkgstream running');
}

/** The gauges read from the store: open attention items, and the verification cycle of each index host (PKGSTREAM_VERIFY_SHARE). */
async function startStoreGauges(adapters: Adapters, config: Config, metrics: Metrics, logger: Logger, lifecycle: Lifecycle): Promise<void> {
  const settings = { rate: config.rateLimit, share: config.verifyShare, recheckIntervalSeconds: config.recheckInterval };
  const warn = budgetWarnings((budget) =>
    logger.warn({ ...budget, ...settings }, 'verification cycle longer than PKGSTREAM_RECHECK_INTERVAL: raise PKGSTREAM_VERIFY_SHARE or PKGSTREAM_RATE_LIMIT, or the interval'),
  );
  const refresh = async () => {
    const counts = await adapters.store.openAttentionCounts();
    metrics.attentionOpen.reset();
    for (const [pipeline, open] of Object.entries(counts)) metrics.attentionOpen.set({ pipeline }, open);
    const budgets = verificationBudgets(await listIndexOverviews(adapters.database.pool), settings);
    for (const budget of budgets) metrics.verificationCycle.set({ index: budget.index }, budget.cycleSeconds);
    warn(budgets);
  };
  await refresh();
  const timer = setInterval(() => void refresh().catch((error: unknown) => logger.warn({ err: error }, 'reading the store gauges (attention, verification cycle) failed')), ATTENTION_REFRESH_MS);
  lifecycle.onClose('store gauges', async () => clearInterval(timer));
}
