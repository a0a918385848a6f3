/**
 * Kafka broker faults, in process with the real adapters: the releases pipeline producing
 * to the local Kafka-protocol broker, and the dispatch pipeline (under the supervisor, as
 * `run` has it) consuming `package-released` and creating Jobs on the local Kubernetes API.
 * The broker is stopped mid-run and started again (log and committed offsets kept); then
 * the dispatch consumer is replaced by a new one of the same group.
 */
import { asyncScheduler, filter, firstValueFrom, takeUntil, tap } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addIndex, setIndexEnabled } from '../../src/db/indexes.js';
import { addProject } from '../../src/db/projects.js';
import type { PackageIndex } from '../../src/domain/types.js';
import { dispatchPipeline, type DispatchPipelineOutcome } from '../../src/pipelines/dispatch.js';
import { releasesPipeline } from '../../src/pipelines/releases.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createMetrics, type Metrics } from '../../src/runtime/metrics.js';
import { Readiness } from '../../src/runtime/readiness.js';
import { supervise, type Supervised } from '../../src/runtime/supervisor.js';
import { createKafkaEventSink } from '../../src/sinks/event-sink-kafka.js';
import { createKubeJobScheduler, type KubeJobScheduler } from '../../src/sinks/job-sink.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import { createIndexClient } from '../../src/sources/index-client/index.js';
import { kafkaSource } from '../../src/sources/kafka-source.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.js';
import { startKubeApi, type KubeApi } from '../support/kube-api/index.js';
import { startRelay } from '../support/outbox.js';
import { repeated, rowCount, sleep, tally, until } from './helpers.js';

const PREFIX = 'kf';
const TOPIC = `${PREFIX}.package-released`;
const GROUP = 'kf-dispatch';
const NAMESPACE = 'default';
const SOLVERS = ['solver-fedora-38-py311', 'solver-ubi-9-py312'];
const PROJECTS = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
const RELEASED = z.object({ index_url: z.string().min(1), package_name: z.string().min(1), package_version: z.string().min(1) });
const TUNING = { sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 3_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 200 };

let db: TestDatabase;
let index: IndexServer;
let broker: KafkaTestBroker;
let kube: KubeApi;
let registered: PackageIndex;
let metrics: Metrics;
let jobs: KubeJobScheduler;
const logger = silentLogger();
const closers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  [db, index, broker, kube] = await Promise.all([createTestDatabase(), startIndexServer(), startKafkaBroker(), startKubeApi({ namespace: NAMESPACE })]);
  await setIndexEnabled(db.pool, 'https://pypi.org/simple', false);
  registered = await addIndex(db.pool, { simpleUrl: `${index.url}/simple`, warehouse: true, watchMode: 'seen' });
  for (const project of PROJECTS) await addProject(db.pool, { project, indexId: registered.id });
  metrics = createMetrics();
  jobs = createKubeJobScheduler({ kubeConfig: kube.kubeConfig(), namespace: NAMESPACE, logger, metrics, watch: { initialBackoffMs: 100, maxBackoffMs: 1_000 } });
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await jobs?.close();
  await Promise.all([index?.stop(), broker?.stop(), kube?.stop()]);
  await db?.close();
});

/** The releases pipeline producing to the broker; returns its stopper. */
function startReleases(): () => Promise<void> {
  const client = createIndexClient({ version: 'faults', metrics });
  const events = createKafkaEventSink({ brokers: broker.brokers, clientId: 'kf-releases', topicPrefix: PREFIX, logger, metrics });
  // The outbox's relay publishes what the store wrote, retrying while Kafka is down.
  const relay = startRelay(db.pool, events);
  // Supervised as `run` has it: a pipeline that fails restarts.
  const supervised = supervise(
    (stop$) =>
      releasesPipeline(
        { store: createPackageStore(db.pool, { analyzeBeforeScan: db.embedded, onEventsWritten: () => relay.wake() }), index: client, scheduler: asyncScheduler },
        { pollIntervalMs: 300, concurrency: 4, retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 }, metrics, logger, stop$ },
      ),
    { name: 'releases', logger, metrics, readiness: new Readiness(), initialBackoffMs: 200, maxBackoffMs: 2_000 },
  );
  return async () => {
    supervised.stop();
    await relay.close();
    await events.close();
    await client.close();
  };
}

interface Consumer {
  readonly supervised: Supervised;
  readonly outcomes: DispatchPipelineOutcome[];
  /** Every message the consumer handed the pipeline: partition and offset. */
  readonly delivered: { partition: number; offset: number }[];
  close(): Promise<void>;
}

/** A dispatch pipeline consuming the topic as group GROUP, supervised like `run` does it. */
function startDispatch(): Consumer {
  const outcomes: DispatchPipelineOutcome[] = [];
  const delivered: { partition: number; offset: number }[] = [];
  const events = createKafkaEventSink({ brokers: broker.brokers, clientId: 'kf-dispatch', topicPrefix: PREFIX, logger, metrics });
  const relay = startRelay(db.pool, events);
  const source = kafkaSource({
    brokers: broker.brokers,
    groupId: GROUP,
    topics: [TOPIC],
    schema: RELEASED,
    deadLetterTopic: `${PREFIX}.dead-letter`,
    logger,
    metrics,
    highWater: 16,
    lowWater: 4,
    pipeline: 'dispatch',
    tuning: TUNING,
  });
  const supervised = supervise(
    (stop$) =>
      dispatchPipeline(
        {
          store: createPackageStore(db.pool, { analyzeBeforeScan: db.embedded, onEventsWritten: () => relay.wake() }),
          jobs,
          released: source.pipe(tap((message) => delivered.push({ partition: message.partition, offset: Number(message.offset) }))),
          scheduler: asyncScheduler,
        },
        // The unsolved scan is only the safety net here: Kafka drives the Jobs.
        { solvers: SOLVERS, capacity: 100, scanIntervalMs: 5_000, pageSize: 50, concurrency: 4, maxJobAttempts: 3, reverse: false, dedupeMax: 10_000, metrics, logger },
      ).pipe(
        takeUntil(stop$),
        tap((outcome) => outcomes.push(outcome)),
      ),
    { name: 'dispatch', logger, metrics, readiness: new Readiness(), initialBackoffMs: 200, maxBackoffMs: 2_000 },
  );
  const stopped = firstValueFrom(source.status$.pipe(filter((status) => status.state === 'stopped')));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    supervised.stop();
    await Promise.race([stopped, sleep(10_000)]);
    await relay.close();
    await events.close();
  };
  closers.push(close);
  return { supervised, outcomes, delivered, close };
}

function publish(versions: readonly string[]): string[] {
  const keys: string[] = [];
  for (const project of PROJECTS) {
    for (const version of versions) {
      index.addRelease(project, version);
      keys.push(`${registered.simpleUrl}|${project}|${version}`);
    }
  }
  return keys;
}

function announced(): string[] {
  return broker.records(TOPIC).map((record) => record.key?.toString() ?? '');
}

function jobName(key: string, solver: string): string {
  const [indexUrl = '', project = '', version = ''] = key.split('|');
  return jobs.buildJob({ indexUrl, project, version, solver, template: 'solver' }).metadata?.name ?? '';
}

async function createdJobs(): Promise<number> {
  const { values } = await metrics.jobs.get();
  return values.filter((value) => value.labels.outcome === 'created').reduce((sum, value) => sum + value.value, 0);
}

const partitions = () => [0, 1, 2];
const committed = () => partitions().map((p) => broker.committedOffset(GROUP, TOPIC, p) ?? 0);
const ends = () => partitions().map((p) => broker.endOffset(TOPIC, p));

describe('Kafka broker faults', () => {
  it('broker stopped mid-run and restarted: no event lost, one Job per (release, solver), the consumer resumes at its committed offset', async () => {
    const stopReleases = startReleases();
    closers.push(stopReleases);
    const first = startDispatch();
    const allKeys: string[] = [];
    const jobsFor = (keys: readonly string[]) => keys.length * SOLVERS.length;
    const everyAnnounced = (keys: readonly string[]) => () => {
      const seen = new Set(announced());
      return keys.every((key) => seen.has(key));
    };

    // 1. Normal operation.
    allKeys.push(...publish(['1.0']));
    await until('wave 1 announced', everyAnnounced(allKeys));
    await until('wave 1 Jobs', () => kube.jobs(NAMESPACE).length === jobsFor(allKeys));

    // 2. The broker goes away for a while, with releases arriving meanwhile.
    await broker.stop();
    allKeys.push(...publish(['2.0']));
    await sleep(4_000);
    await broker.start();
    await until('wave 2 announced after the restart', everyAnnounced(allKeys), 60_000);
    await until('wave 2 Jobs', () => kube.jobs(NAMESPACE).length === jobsFor(allKeys), 60_000);
    await until('every message committed', () => committed().every((offset, p) => offset === ends()[p]), 30_000);

    // 3. The consumer is replaced: the new one starts at the committed offsets.
    await first.close();
    const before = committed();
    allKeys.push(...publish(['3.0']));
    await until('wave 3 announced', everyAnnounced(allKeys));
    const second = startDispatch();
    await until('wave 3 Jobs', () => kube.jobs(NAMESPACE).length === jobsFor(allKeys), 60_000);
    await until('every message committed again', () => committed().every((offset, p) => offset === ends()[p]), 30_000);
    for (const p of partitions()) {
      const offsets = second.delivered.filter((message) => message.partition === p).map((message) => message.offset);
      if (offsets.length > 0) expect(Math.min(...offsets)).toBe(before[p]);
    }
    expect(second.delivered.length).toBe(ends().reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0));
    await sleep(500);
    await second.close();
    await stopReleases();

    // No event lost: every release announced at least once.
    const seen = tally(announced());
    expect(allKeys.filter((key) => !seen.has(key))).toEqual([]);
    // One Job name per (release, solver), each created once.
    const names = kube.jobs(NAMESPACE).map((job) => job.metadata.name);
    expect(repeated(names)).toEqual([]);
    expect([...names].sort()).toEqual(allKeys.flatMap((key) => SOLVERS.map((solver) => jobName(key, solver))).sort());
    expect(await createdJobs()).toBe(jobsFor(allKeys));
    expect(await rowCount(db.pool, 'SELECT 1 FROM solver_run')).toBe(jobsFor(allKeys));
    expect(await rowCount(db.pool, 'SELECT 1 FROM attention')).toBe(0);

    const handled = [...first.outcomes, ...second.outcomes].filter((outcome) => outcome.type === 'released').length;
    const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
    console.info(
      `[faults/kafka] ${allKeys.length} releases, ${broker.records(TOPIC).length} package-released records (${duplicates} repeats), ` +
        `${handled} messages handled by dispatch (${first.delivered.length} + ${second.delivered.length} delivered), ` +
        `${names.length} Jobs, ${kube.requestCount('create')} create calls, committed ${JSON.stringify(committed())} = end ${JSON.stringify(ends())}, ` +
        `second consumer started at ${JSON.stringify(before)}`,
    );
  }, 120_000);
});
