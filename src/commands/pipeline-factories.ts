/**
 * Each pipeline built from the configuration and the adapters: the one place where
 * settings become pipeline options, shared by `run` and `once`.
 */
import { readKafkaSecurity } from '../kafka/security.js';
import { asyncScheduler, type Observable } from 'rxjs';
import { takeUntil } from 'rxjs/operators';
import { z } from 'zod';
import { dispatchPipeline, type DispatchOptions, type DispatchPorts } from '../pipelines/dispatch.js';
import { releasesPipeline, type ReleasesPorts } from '../pipelines/releases.js';
import { updatePipeline, type UpdateOptions, type UpdatePorts } from '../pipelines/update.js';
import { kafkaSource } from '../sources/kafka-source.js';
import { whileLeased } from '../operators/while-leased.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import { createProgressReporter } from '../runtime/progress-reporter.js';
import type { Metrics } from '../runtime/metrics.js';
import type { Readiness } from '../runtime/readiness.js';
import type { PipelineName } from '../runtime/settings.js';
import type { Leases, ProjectClaims } from '../domain/ports.js';
import type { Adapters } from './adapters.js';

export interface PipelineContext {
  readonly config: Config;
  readonly adapters: Adapters;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Where a long-running pipeline reports the health of its own sources (`run`). */
  readonly readiness?: Readiness;
  /** The work leases of this replica (`run` on a database replicas share). */
  readonly leases?: Leases;
  /** Its share of the update passes, by project claims (likewise). */
  readonly claims?: ProjectClaims;
}

/** Index faults are retried this way before an item goes to attention. */
export const INDEX_RETRY = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

export function indexLimits(config: Config) {
  return { concurrency: config.concurrency, retry: INDEX_RETRY };
}

/** The releases pipeline's ports; `leases` only where replicas share the database. */
export function releasesPorts({ adapters, leases }: PipelineContext, shared: boolean): ReleasesPorts {
  return {
    store: adapters.store,
    index: adapters.index.forPipeline('releases'),
    scheduler: asyncScheduler,
    ...(adapters.serialSync ? { serialSync: adapters.serialSync } : {}),
    ...(adapters.pageValidators ? { validators: adapters.pageValidators } : {}),
    ...(shared && leases ? { leases } : {}),
  };
}

export type PipelineFactory = (context: PipelineContext, stop$: Observable<void>) => Observable<unknown>;

export const PIPELINE_FACTORIES: Record<PipelineName, PipelineFactory> = {
  releases: (context, stop$) =>
    releasesPipeline(
      releasesPorts(context, true),
      {
        ...indexLimits(context.config),
        pollIntervalMs: context.config.pollInterval * 1000,
        syncIntervalMs: context.config.syncInterval * 1000,
        // A page that takes longer than one whole request is slow: it must not hold the poll.
        pageDeadlineMs: context.config.requestTimeout * 1000,
        releaseTriggers: context.config.releaseTriggers,
        metrics: context.metrics,
        logger: context.logger.child({ pipeline: 'releases' }),
        stop$,
      },
    ),
  update: (context, stop$) => updatePipeline(updatePorts(context), { ...updateOptions(context, false), intervalMs: UPDATE_PASS_INTERVAL_MS, stop: stop$ }),
  dispatch: (context, stop$) => {
    const { config, metrics, logger } = context;
    const released = config.kafkaBrokers
      ? kafkaSource({
          ...readKafkaSecurity(config).security,
          brokers: config.kafkaBrokers,
          groupId: config.kafkaGroupId,
          topics: [`${config.topicPrefix}.package-released`],
          schema: RELEASED_EVENT,
          deadLetterTopic: `${config.topicPrefix}.dead-letter`,
          logger: logger.child({ component: 'kafka-source' }),
          metrics,
          highWater: config.concurrency * 4,
          lowWater: config.concurrency,
          pipeline: 'dispatch',
        })
      : undefined;
    const lead = { held: !context.leases };
    // Without replicas (an embedded database) this process is the one dispatcher, as the
    // feeds gauge says of its feeds: 0 would read as nobody dispatching.
    if (lead.held) metrics.dispatchLeaseHeld.set(1);
    // Group membership is shown in /readyz, but joining (or a rebalance) is not a failure:
    // Kafka being reachable is the `kafka` dependency's check.
    context.readiness?.note('dispatch', () => {
      if (!lead.held) return 'standing by: another replica dispatches';
      if (!released) return 'dispatching';
      return released.isHealthy() ? 'Kafka consumer in its group' : 'Kafka consumer joining its group';
    });
    // Effects are idempotent (deterministic Job names, unacked messages come again): stopping cancels.
    const dispatch = () => dispatchPipeline(dispatchPorts(context, released), dispatchOptions(context));
    return (context.leases ? asDispatchLeader(context, context.leases, lead, stop$, dispatch) : dispatch()).pipe(takeUntil(stop$));
  },
};

/**
 * The solver capacity is global: among replicas only the holder of the `dispatch` lease
 * dispatches (and consumes `package-released`, so the group is this one consumer); it
 * counts every active Job of the namespace, the previous leader's included.
 */
function asDispatchLeader(context: PipelineContext, leases: Leases, lead: { held: boolean }, stop$: Observable<void>, dispatch: () => Observable<unknown>): Observable<unknown> {
  const { metrics, logger } = context;
  return whileLeased(
    {
      take: () => leases.take('dispatch'),
      renewEveryMs: leases.ttlMs / 3,
      stop$,
      onChange: (held, error) => {
        lead.held = held;
        metrics.dispatchLeaseHeld.set(held ? 1 : 0);
        if (held) logger.info({ pipeline: 'dispatch' }, 'dispatching solver Jobs (this replica holds the dispatch lease)');
        else logger.info({ pipeline: 'dispatch', err: error }, 'standing by for dispatch (another replica holds its lease)');
      },
    },
    dispatch,
  );
}

/** A new update pass starts this long after the previous one completed. */
const UPDATE_PASS_INTERVAL_MS = 60_000;

/** What dispatch reads of a `package-released` event; the rest of the envelope is ignored. */
const RELEASED_EVENT = z.object({ index_url: z.string().min(1), package_name: z.string().min(1), package_version: z.string().min(1) });

export function updatePorts({ adapters, claims }: PipelineContext): UpdatePorts {
  return {
    store: adapters.store,
    index: adapters.index.forPipeline('update'),
    // The re-checks a serial sync queued are the index's news, not verification: outside its share.
    changes: adapters.index.forPipeline('update-changes'),
    scheduler: asyncScheduler,
    ...(adapters.pageValidators ? { validators: adapters.pageValidators } : {}),
    ...(claims ? { claims } : {}),
  };
}

export function updateOptions({ config, metrics, logger }: PipelineContext, all: boolean): UpdateOptions {
  return {
    ...indexLimits(config),
    pageSize: config.scanPageSize,
    all,
    deferOnFailureMs: 60 * 60_000,
    metrics,
    logger,
    progress: { intervalMs: config.progressInterval * 1000, report: createProgressReporter({ logger, terminal: process.stderr }) },
  };
}

export function dispatchPorts({ adapters }: PipelineContext, released?: DispatchPorts['released']): DispatchPorts {
  return { store: adapters.store, jobs: adapters.jobs, scheduler: asyncScheduler, ...(released ? { released } : {}) };
}

export function dispatchOptions({ config, metrics, logger }: PipelineContext): DispatchOptions {
  return {
    solvers: config.solvers,
    capacity: config.solverCapacity,
    scanIntervalMs: config.pollInterval * 1000,
    pageSize: config.scanPageSize,
    concurrency: config.concurrency,
    maxJobAttempts: 3,
    reverse: config.reverseJobTemplate !== undefined,
    dedupeMax: 100_000,
    metrics,
    logger: logger.child({ pipeline: 'dispatch' }),
  };
}
