/**
 * Issue 7, live: the built `pkgstream run` against the local index, Kafka broker and
 * Kubernetes API, doing real work (polls, new releases, a feed gap and its backfill, a
 * 404 project going to attention, a 429, a hash mismatch, Jobs created, finished and
 * failed, dead-lettered and repeated Kafka messages, a Kafka outage, a pipeline restart),
 * scraped every second by a real Prometheus on 127.0.0.1. Then every PromQL expression of
 * the Grafana dashboard and of the alert rules is sent to Prometheus's /api/v1/query, and
 * each must return at least one series. Skipped when /usr/bin/prometheus is absent.
 */
import type { ChildProcess } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import type { CliDatabase } from '../support/cli-database.js';
import type { IndexServer } from '../support/index-server/index.js';
import type { KafkaTestBroker } from '../support/kafka-broker/index.js';
import type { KubeApi } from '../support/kube-api/index.js';
import { addIndex, addProject, setIndexEnabled } from '../../src/db/index.js';
import { allExpressions, namesOf, type PromqlExpression } from './promql-expressions.js';
import { runsWith } from '../support/tools.js';
import { startThreePeers, type ThreePeers } from '../support/three-peers.js';
import { LogTail, sampledMetricNames, startPrometheus, stopChild, thresholdsAsBool, until, type Prometheus } from './support-live.js';

const JOB = 'pkgstream'; // the scrape job the alert PkgstreamDown names
const SCRAPE_SECONDS = 1;
const PREFIX = 'live';
const NAMESPACE = 'default';

let peers: ThreePeers | undefined;
let index: IndexServer;
let broker: KafkaTestBroker;
let kube: KubeApi;
let database: CliDatabase;
let env: NodeJS.ProcessEnv;
let child: ChildProcess | undefined;
let logs: LogTail;
let metricsUrl: string;
let prometheus: Prometheus | undefined;
/** What the scenario did not manage, reported by the checks (the queries say which expressions it costs). */
const scenarioProblems: string[] = [];

async function cli(args: string[]): Promise<void> {
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`pkgstream ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
}

async function scrape(): Promise<string> {
  return (await fetch(metricsUrl)).text();
}

/** Waits until pkgstream's own /metrics has a sample of `metric`. */
async function untilSampled(metric: string, what: string, timeoutMs = 30_000): Promise<void> {
  await until(async () => sampledMetricNames(await scrape()).has(metric), what, timeoutMs, 200);
}

/** Adds `count` releases of an unseen project at once: more than the updates feed's 100 items. */
function releaseBurst(project: string, count: number): void {
  for (let n = 1; n <= count; n += 1) index.addRelease(project, `${n}.0`);
}

/** Every metric name the expressions use, but Prometheus's own `up`. */
function metricsOfExpressions(expressions: readonly PromqlExpression[]): string[] {
  return [...new Set(expressions.flatMap((e) => namesOf(e.promql).selectors.map((s) => s.metric)))].filter((name) => name !== 'up').sort();
}

/** Produces a not-JSON message and repeats of an already dispatched release to package-released. */
async function produceOutsideMessages(): Promise<void> {
  const kafka = new Kafka({ clientId: 'prometheus-live-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const released = { index_url: `${index.url}/simple`, package_name: 'alpha', package_version: '1.0' };
    await producer.send({
      topic: `${PREFIX}.package-released`,
      messages: [
        { key: 'not-json', value: 'this is not a package-released event' },
        ...Array.from({ length: 12 }, () => ({ key: `${released.index_url}|alpha|1.0`, value: JSON.stringify(released) })),
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

describe.skipIf(!runsWith('prometheus'))('a live Prometheus scraping pkgstream', () => {
  beforeAll(async () => {
    peers = await startThreePeers({
      PKGSTREAM_NAMESPACE: NAMESPACE,
      PKGSTREAM_SOLVERS: 'solver-fedora-38-py311,solver-ubi-9-py312',
      PKGSTREAM_POLL_INTERVAL: '0.5',
      PKGSTREAM_RATE_LIMIT: '50',
      PKGSTREAM_TOPIC_PREFIX: PREFIX,
      // Kafka's high-water mark is 4 × this: a dozen messages at once pause the consumer.
      PKGSTREAM_CONCURRENCY: '1',
    });
    ({ index, broker, kube, database, env } = peers);

    // --- before `run` (in this process, as `pkgstream index add --warehouse`, `index disable`
    // and `package add` do, to spare three CLI starts): the local index, watching the seen
    // projects alpha (with releases), ghost (its page answers 404 once) and phantom (not on it).
    const simple = `${index.url}/simple`;
    await database.use(async (pool) => {
      await addIndex(pool, { simpleUrl: simple, warehouse: true });
      await setIndexEnabled(pool, 'https://pypi.org/simple', false);
      for (const project of ['alpha', 'ghost', 'phantom']) await addProject(pool, { indexUrl: simple, project });
    });
    index.addRelease('ghost', '0.1');
    const alpha10 = index.addRelease('alpha', '1.0');
    index.addRelease('alpha', '1.1');
    // One pass of the releases pipeline: it records alpha 1.0 and 1.1 and stores the feed
    // checkpoint; ghost's page (read first: the oldest item, one project at a time) answers
    // 404, so an attention item is open when `run` starts (pkgstream_attention_open is read
    // from the database at start, then every 30 s).
    index.inject({ kind: 'status', status: 404 }, { routes: ['simple-project'], times: 1 });
    await cli(['once', 'releases']);
    // The index now lists another sha256 for a file of alpha 1.0, and both releases are made
    // due (as if their recheck time had come): the first update pass of `run` checks them and
    // finds a hash mismatch.
    index.setSha('alpha', '1.0', alpha10.files[0]?.filename ?? '', 'f'.repeat(64));
    await database.use(async (pool) => {
      const open = await pool.query(`SELECT 1 FROM attention WHERE resolved_at IS NULL`);
      const due = await pool.query(`UPDATE package_version SET next_due_at = now() - interval '1 hour'`);
      if (open.rowCount !== 1 || due.rowCount !== 2) scenarioProblems.push(`before run: ${open.rowCount} open attention items (want 1), ${due.rowCount} releases (want 2)`);
    });
    // The Jobs watch's first list is refused (403, not retried): the dispatch pipeline fails
    // and the supervisor restarts it (pkgstream_pipeline_restarts_total).
    kube.failNext(1, { status: 403, verbs: ['list'] });

    // --- `run`, and Prometheus scraping it ---
    child = startCli(['run', '--http-port', '0'], { ...env, LOG_LEVEL: 'info', PKGSTREAM_SHUTDOWN_GRACE: '5' });
    logs = new LogTail(child.stderr);
    child.stdout?.resume();
    const listening = await logs.waitFor((line) => line.msg === 'http server listening', 'http server listening', 60_000);
    const port = Number(listening.port);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    prometheus = await startPrometheus({ target: `127.0.0.1:${port}`, job: JOB, scrapeIntervalSeconds: SCRAPE_SECONDS });
    await logs.waitFor((line) => line.msg === 'pkgstream running', 'pkgstream running', 60_000);

    // --- activity while it runs ---
    // Kafka: a message dispatch cannot read (dead letter, bad input) and a dozen repeats
    // (dedupe drops; more in flight than the high-water mark pauses the consumer).
    await produceOutsideMessages();
    // The index: one 429, then a new alpha release among more than 100 others at once: the
    // feed does not overlap the previous poll (a gap); the backfill reads every seen project,
    // finds alpha 2.0 and ghost 0.1, and phantom's 404 (attention recorded).
    index.inject({ kind: 'rate-limited', retryAfter: 1 }, { times: 1 });
    index.addRelease('alpha', '2.0');
    releaseBurst('noise-during', 101);
    await untilSampled('pkgstream_backfilled_releases_total', 'a backfill');
    await untilSampled('pkgstream_attention_recorded_total', 'an attention item recorded');

    // Kubernetes: one Job runs and succeeds, another runs and fails (it is re-run).
    await until(() => kube.jobs(NAMESPACE).length >= 2, 'two solver Jobs');
    const [first, second] = kube.jobs(NAMESPACE);
    kube.startJob(NAMESPACE, first?.metadata.name ?? '');
    kube.succeedJob(NAMESPACE, first?.metadata.name ?? '');
    kube.startJob(NAMESPACE, second?.metadata.name ?? '');
    kube.failJob(NAMESPACE, second?.metadata.name ?? '');

    // Kafka down while a new release is announced: the produce fails, connection refused
    // (pkgstream_kafka_produce_errors_total); then the broker is back and the publish is retried.
    await broker.stop();
    index.addRelease('alpha', '3.0');
    try {
      await untilSampled('pkgstream_kafka_produce_errors_total', 'a failed Kafka produce', 40_000);
    } catch (error) {
      scenarioProblems.push((error as Error).message);
    } finally {
      await broker.start();
    }

    // Every metric the expressions use has a sample on /metrics (or the wait gives up and the
    // queries report what is missing); then three successful scrapes more, so that rate(),
    // increase(), delta() and deriv() over their windows (5m and up) have at least two samples
    // of each series. (Prometheus scrapes a new target only ~5 s after it starts.)
    const wanted = metricsOfExpressions(allExpressions());
    let missing: string[] = [];
    try {
      await until(
        async () => {
          const sampled = sampledMetricNames(await scrape());
          missing = wanted.filter((name) => !sampled.has(name));
          return missing.length === 0;
        },
        'every metric of the expressions on /metrics',
        20_000,
        250,
      );
    } catch {
      scenarioProblems.push(`never sampled on /metrics: ${missing.join(', ')}`);
    }
    const readyAt = Date.now() / 1000;
    await until(
      async () => {
        const answer = await prometheus!.query(`up{job="${JOB}"}[5m]`);
        const samples = answer.ok ? ((answer.result[0] as { values?: [number, string][] } | undefined)?.values ?? []) : [];
        return samples.filter(([at, value]) => at >= readyAt && value === '1').length >= 3;
      },
      'three successful scrapes after the activity',
      30_000,
      250,
    );
  }, 150_000);

  afterAll(async () => {
    await prometheus?.stop();
    await stopChild(child, 15_000);
    await peers?.stop();
  }, 60_000);

  /** Each expression sent to Prometheus; the ones without a series (or refused) listed by name. */
  async function emptyOnes(expressions: readonly PromqlExpression[], transform: (promql: string) => string = (promql) => promql) {
    const empty: string[] = [];
    for (const expression of expressions) {
      const promql = transform(expression.promql);
      const answer = await prometheus!.query(promql);
      if (!answer.ok) empty.push(`${expression.source} ${expression.where}: ${answer.error}: ${promql}`);
      else if (answer.series === 0) empty.push(`${expression.source} ${expression.where}: no series: ${promql}`);
    }
    return empty;
  }

  function context(): string {
    return [...scenarioProblems, `pkgstream's last log lines:\n${logs.tail(15)}`].join('\n');
  }

  it('scrapes pkgstream (job "pkgstream" up)', async () => {
    const answer = await prometheus!.query(`up{job="${JOB}"} == 1`);
    expect(answer.ok && answer.series, `${JSON.stringify(answer)}\n${prometheus!.log()}`).toBe(1);
  });

  it('every expression of the dashboard returns at least one series', async () => {
    const expressions = allExpressions().filter((e) => e.source !== 'alert');
    expect(expressions.length).toBeGreaterThan(30);
    expect(await emptyOnes(expressions), context()).toEqual([]);
  });

  it('every alert expression, its threshold comparisons made `bool`, returns at least one series', async () => {
    const expressions = allExpressions().filter((e) => e.source === 'alert');
    expect(expressions.length).toBe(15);
    // Every alert is a threshold comparison: the transform changes each one.
    for (const e of expressions) expect(thresholdsAsBool(e.promql), e.where).not.toBe(e.promql);
    expect(await emptyOnes(expressions, thresholdsAsBool), context()).toEqual([]);
  });

  it('every pipeline an alert names has the series that alert reads', async () => {
    // An alert that reads `metric{pipeline="x"}` never fires for x if x never sets it.
    const selectors = [
      ...new Set(
        allExpressions()
          .filter((e) => e.source === 'alert')
          .flatMap((e) => [...e.promql.matchAll(/[a-zA-Z_:][\w:]*\{[^}]*\bpipeline\s*=\s*"[^"]*"[^}]*\}/g)].map((m) => m[0])),
      ),
    ];
    expect(selectors.length).toBeGreaterThan(0);
    const empty: string[] = [];
    for (const selector of selectors) {
      const answer = await prometheus!.query(selector);
      if (!answer.ok || answer.series === 0) empty.push(`${selector}: ${answer.ok ? 'no series' : answer.error}`);
    }
    expect(empty, 'selectors of the alert rules no pipeline of the running service sets: the alert cannot fire for that pipeline').toEqual([]);
  });
});
