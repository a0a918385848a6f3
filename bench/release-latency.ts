/**
 * release_latency: the releases pipeline (feed polled every `--poll-interval` ms) with the
 * Kafka event sink on the local broker, and the dispatch pipeline consuming
 * `package-released` from that broker and creating Jobs on the local Kubernetes API, all
 * real adapters. K releases are published on the local index one at a time,
 * `--release-gap` ms apart; for each, the time from `addRelease` to its `package-released`
 * record on the broker and to its Job on the API server (both watched every 2 ms).
 * A first release (not counted) warms up the consumer group, the connections and the
 * feed checkpoint. The dispatch pipeline is configured as the service configures it
 * (src/commands/pipeline-factories.ts): its unsolved scan runs every poll interval too.
 * `package-released` is published before the release's row is written
 * (src/pipelines/new-releases.ts), so a message may reach dispatch before its release is
 * stored; dispatch then acks it and the scan creates the Job. The details count which way
 * each Job came.
 */
import { Registry } from 'prom-client';
import { asyncScheduler, firstValueFrom, filter, type Subscription } from 'rxjs';
import { z } from 'zod';
import { addIndex } from '../src/db/indexes.js';
import { dispatchPipeline } from '../src/pipelines/dispatch.js';
import { releasesPipeline } from '../src/pipelines/releases.js';
import { silentLogger } from '../src/runtime/logger.js';
import { createMetrics } from '../src/runtime/metrics.js';
import { createEventRelay } from '../src/sinks/event-relay.js';
import { createKafkaEventSink } from '../src/sinks/event-sink-kafka.js';
import { createKubeJobScheduler } from '../src/sinks/job-sink.js';
import { createPackageStore } from '../src/sinks/store-sink.js';
import { createIndexClient } from '../src/sources/index-client/index.js';
import { kafkaSource } from '../src/sources/kafka-source.js';
import { startIndexServer } from '../test/support/index-server/index.js';
import { startKafkaBroker } from '../test/support/kafka-broker/index.js';
import { startKubeApi } from '../test/support/kube-api/index.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase } from './support/database.js';
import { INDEX_RETRY } from './support/ports.js';
import { now, percentile, progress, round, sleep, until } from './support/util.js';

export interface ReleaseLatencyResult {
  readonly poll_interval_ms: number;
  readonly event_p50_ms: number;
  readonly event_p99_ms: number;
  readonly job_p50_ms: number;
  readonly job_p99_ms: number;
}

const PREFIX = 'bench';
const RELEASED_TOPIC = `${PREFIX}.package-released`;
const NAMESPACE = 'default';
const PROJECT = 'latency';
const RELEASED_EVENT = z.object({ index_url: z.string().min(1), package_name: z.string().min(1), package_version: z.string().min(1) });

export async function releaseLatency(options: BenchOptions): Promise<ReleaseLatencyResult & { readonly details: Record<string, unknown> }> {
  const logger = silentLogger();
  const metrics = createMetrics(new Registry(), { defaultMetrics: false });
  const db = await createBenchDatabase();
  const [index, broker, kube] = await Promise.all([startIndexServer({ clockStart: new Date() }), startKafkaBroker(), startKubeApi({ namespace: NAMESPACE })]);
  broker.createTopic(RELEASED_TOPIC, 1);
  const client = createIndexClient({ version: 'bench' });
  const events = createKafkaEventSink({ brokers: broker.brokers, clientId: 'pkgstream-bench', topicPrefix: PREFIX, logger, metrics });
  // The relay publishes what the store writes to the outbox, woken by each write.
  const relay = createEventRelay({ pool: db.pool, sink: events, logger, lockRows: false, retentionMs: 86_400_000, pollMs: 50 });
  const jobs = createKubeJobScheduler({ kubeConfig: kube.kubeConfig(), namespace: NAMESPACE, logger, metrics });
  const released = kafkaSource({
    brokers: broker.brokers,
    groupId: 'pkgstream-bench-dispatch',
    topics: [RELEASED_TOPIC],
    schema: RELEASED_EVENT,
    deadLetterTopic: `${PREFIX}.dead-letter`,
    logger,
    metrics,
    highWater: 32,
    lowWater: 8,
    pipeline: 'dispatch',
  });
  const subscriptions: Subscription[] = [];
  const fail = (what: string) => (error: unknown) => progress(`release_latency: the ${what} pipeline failed: ${String(error)}`);

  // Times (performance.now) per version: published, record seen, Job seen.
  const publishedAt = new Map<string, number>();
  const eventAt = new Map<string, number>();
  const jobAt = new Map<string, number>();
  let recordsSeen = 0;
  // How the dispatch pipeline met the releases: a released message whose release it found
  // stored, one it did not (yet), and items found by its periodic unsolved scan.
  const viaKafka = { resolved: 0, notYetStored: 0 };
  let scanItems = 0;
  const watcher = setInterval(() => {
    const t = now();
    const records = broker.records(RELEASED_TOPIC);
    for (; recordsSeen < records.length; recordsSeen += 1) {
      const value = JSON.parse(records[recordsSeen]?.value?.toString() ?? '{}') as { package_version?: string };
      if (value.package_version !== undefined && !eventAt.has(value.package_version)) eventAt.set(value.package_version, t);
    }
    if (jobAt.size < publishedAt.size) {
      for (const job of kube.jobs(NAMESPACE)) {
        const version = job.metadata.annotations?.['pkgstream.dev/version'];
        if (version !== undefined && !jobAt.has(version)) jobAt.set(version, t);
      }
    }
  }, 2);

  try {
    const registered = await addIndex(db.pool, { simpleUrl: `${index.url}/simple`, warehouse: true, watchMode: 'all' });
    const store = createPackageStore(db.pool, { analyzeBeforeScan: db.embedded, onEventsWritten: () => relay.wake() });
    relay.start();
    subscriptions.push(
      releasesPipeline(
        { store, index: client, scheduler: asyncScheduler },
        { pollIntervalMs: options.pollInterval, concurrency: 8, retry: INDEX_RETRY },
      ).subscribe({ error: fail('releases') }),
    );
    subscriptions.push(
      dispatchPipeline(
        { store, jobs, released, scheduler: asyncScheduler },
        { solvers: ['solver-bench'], capacity: 1000, scanIntervalMs: options.pollInterval, pageSize: 100, concurrency: 8, maxJobAttempts: 3, reverse: false, dedupeMax: 10_000 },
      ).subscribe({
        next: (outcome) => {
          if (outcome.type === 'released') viaKafka[outcome.items > 0 ? 'resolved' : 'notYetStored'] += 1;
          if (outcome.type === 'scan') scanItems += outcome.items;
        },
        error: fail('dispatch'),
      }),
    );
    await firstValueFrom(released.status$.pipe(filter((status) => status.state === 'running')));
    progress(`release_latency: pipelines up (index ${registered.simpleUrl}); a warm-up release, then ${options.releases} releases ${options.releaseGap} ms apart`);

    const publish = (version: string) => {
      index.addRelease(PROJECT, version);
      publishedAt.set(version, now());
    };
    publish('0.0.1');
    await until(() => jobAt.has('0.0.1'), 'the warm-up release to become a Job', 60_000);

    const versions: string[] = [];
    for (let i = 1; i <= options.releases; i += 1) {
      const version = `1.${i}`;
      versions.push(version);
      publish(version);
      await sleep(options.releaseGap);
    }
    await until(() => versions.every((version) => jobAt.has(version)), 'every release to become a Job', 60_000);

    const eventMs = versions.map((version) => (eventAt.get(version) ?? Number.NaN) - (publishedAt.get(version) ?? Number.NaN));
    const jobMs = versions.map((version) => (jobAt.get(version) ?? Number.NaN) - (publishedAt.get(version) ?? Number.NaN));
    const result = {
      poll_interval_ms: options.pollInterval,
      event_p50_ms: round(percentile(eventMs, 50), 1),
      event_p99_ms: round(percentile(eventMs, 99), 1),
      job_p50_ms: round(percentile(jobMs, 50), 1),
      job_p99_ms: round(percentile(jobMs, 99), 1),
    };
    progress(`release_latency: event p50 ${result.event_p50_ms} ms p99 ${result.event_p99_ms} ms; Job p50 ${result.job_p50_ms} ms p99 ${result.job_p99_ms} ms`);
    return {
      ...result,
      details: {
        releases: versions.length,
        release_gap_ms: options.releaseGap,
        event_max_ms: round(Math.max(...eventMs), 1),
        job_max_ms: round(Math.max(...jobMs), 1),
        kafka_to_job_p50_ms: round(percentile(versions.map((v) => (jobAt.get(v) ?? 0) - (eventAt.get(v) ?? 0)), 50), 1),
        jobs_created: kube.jobs(NAMESPACE).length,
        released_messages_resolved: viaKafka.resolved,
        released_messages_not_yet_stored: viaKafka.notYetStored,
        jobs_from_unsolved_scan: scanItems,
      },
    };
  } finally {
    clearInterval(watcher);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await sleep(100); // the Kafka consumer disconnects in the background
    await relay.close();
    await events.close();
    await jobs.close();
    await client.close();
    await Promise.all([index.stop(), broker.stop(), kube.stop()]);
    await db.close();
  }
}
