/**
 * The real adapters behind the pipelines' ports, chosen by the configuration: Postgres or
 * embedded PGlite; the outbox relay publishing to Kafka or JSON lines on stdout; a
 * Kubernetes cluster or logged Jobs; and, in a dry run, a store that logs what it would
 * write (and no relay: a dry run publishes nothing). One index client serves every
 * pipeline of the process, so each index host has one rate limit and one 429 pause.
 */
import { readKafkaSecurity } from '../kafka/security.js';
import type { Writable } from 'node:stream';
import { migrate, openDatabase, type Database } from '../db/index.js';
import { priorityForRecheckInterval, type PriorityOptions } from '../db/priority.js';
import type { EventSink, IndexClient, SerialSyncStore, PackageStore, PageValidatorStore } from '../domain/ports.js';
import { politeIndexClient, type PoliteIndexClient } from '../sources/index-client/polite-client.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { packageVersion } from '../runtime/version.js';
import { dryRunStore } from '../sinks/dry-run-store.js';
import { createEventRelay, type EventRelay } from '../sinks/event-relay.js';
import { createKafkaEventSink } from '../sinks/event-sink-kafka.js';
import { createStdoutEventSink } from '../sinks/event-sink-stdout.js';
import { createKubeJobScheduler, type KubeJobScheduler } from '../sinks/job-sink.js';
import { createSerialSyncStore, createPackageStore, createPageValidatorStore } from '../sinks/store-sink.js';
import { createIndexClient } from '../sources/index-client/index.js';
import { loadKubeConfig } from './kube-config.js';

export interface Adapters {
  readonly database: Database;
  readonly store: PackageStore;
  /** The validators of the project pages last checked; absent in a dry run (it reads every page whole). */
  readonly pageValidators?: PageValidatorStore;
  /** Absent in a dry run: a gap backfill then reads every project and stores nothing. */
  readonly serialSync?: SerialSyncStore;
  /** The process's one index client: `index.forPipeline(name)` for each caller. */
  readonly index: PoliteIndexClient;
  /** Publishes the outbox; null in a dry run. `run` starts it; every command's close flushes it. */
  readonly relay: EventRelay | null;
  readonly jobs: KubeJobScheduler;
  /** Closes in the safe order: stop producing, then the clients, then the database. */
  close(): Promise<void>;
}

export interface AdapterOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Log every effect instead of having it (PKGSTREAM_DRY_RUN, `check --dry-run`). */
  readonly dryRun: boolean;
  /** Where events go without Kafka (default stdout). */
  readonly eventsOut?: Writable;
  /** Where a dry run's store also hands the events it would write (check --dry-run prints them). */
  readonly dryRunEvents?: EventSink;
  /** Wraps the network client under the rate limit (`run` watches index health there). */
  readonly observeIndex?: (client: IndexClient) => IndexClient;
  /** Pipelines held to a fraction of the rate (`run`: the update pipeline, PKGSTREAM_VERIFY_SHARE). */
  readonly rateShares?: Readonly<Record<string, number>>;
}

function eventSinkOf({ config, logger, metrics, eventsOut }: AdapterOptions): EventSink {
  if (config.kafkaBrokers) {
    return createKafkaEventSink({ ...readKafkaSecurity(config).security, brokers: config.kafkaBrokers, clientId: 'pkgstream', topicPrefix: config.topicPrefix, logger, metrics });
  }
  return createStdoutEventSink(eventsOut ?? process.stdout, { topicPrefix: config.topicPrefix, metrics });
}

const DAY_MS = 86_400_000;

/** The priority every due time is computed with, and every shown priority read with. */
export function configuredPriority(config: Config): PriorityOptions {
  return priorityForRecheckInterval(config.recheckInterval * 1000);
}

/** Solver Jobs on the configured cluster; only logged in a dry run or without one. */
function jobSchedulerOf({ config, logger, metrics, dryRun }: AdapterOptions) {
  const kubeConfig = loadKubeConfig(config, logger);
  if (kubeConfig === null && !dryRun) logger.warn('no Kubernetes configuration found: solver Jobs are only logged');
  return createKubeJobScheduler({
    kubeConfig,
    namespace: config.namespace,
    templatePath: config.jobTemplate ?? null,
    reverseTemplatePath: config.reverseJobTemplate ?? null,
    dryRun: dryRun || kubeConfig === null,
    logger,
    metrics,
  });
}

/** The process's one index client: the network's, observed (the dependency monitor), behind the polite buckets. */
function indexClientOf(options: AdapterOptions) {
  const { config, logger, metrics } = options;
  const network = createIndexClient({
    version: packageVersion(),
    metrics,
    logger,
    requestTimeoutMs: config.requestTimeout * 1000,
    maxRetryAfterMs: config.maxBackoff * 1000,
    redirectOrigins: config.redirectOrigins.map((origin) => new URL(origin).origin),
  });
  return politeIndexClient(options.observeIndex?.(network) ?? network, { rate: config.rateLimit, burst: config.rateBurst, metrics, ...(options.rateShares ? { shares: options.rateShares } : {}) });
}

export async function openAdapters(options: AdapterOptions): Promise<Adapters> {
  const { config, logger, dryRun } = options;
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger });
  try {
    await migrate(database.pool, logger);
    const sink = dryRun ? null : eventSinkOf(options);
    const relay = sink
      ? createEventRelay({
          pool: database.pool,
          ...(database.embedded || !config.databaseUrl ? {} : { listenUrl: config.databaseUrl }),
          lockRows: !database.embedded,
          sink,
          logger,
          retentionMs: config.eventRetention * DAY_MS,
        })
      : null;
    const realStore = createPackageStore(database.pool, {
      priority: configuredPriority(config),
      analyzeBeforeScan: database.embedded,
      serviceVersion: packageVersion(),
      onEventsWritten: () => relay?.wake(),
    });
    const jobs = jobSchedulerOf(options);
    const index = indexClientOf(options);
    return {
      database,
      store: dryRun ? dryRunStore(realStore, logger, options.dryRunEvents) : realStore,
      ...(dryRun ? {} : { pageValidators: createPageValidatorStore(database.pool), serialSync: createSerialSyncStore(database.pool) }),
      index,
      relay,
      jobs,
      async close() {
        await relay?.close();
        await sink?.close();
        await jobs.close();
        await index.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
