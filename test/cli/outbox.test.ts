/**
 * The transactional event outbox through the CLI: every event is written to the `event`
 * table with the change it announces and the relay publishes it (here on stdout, or to the
 * local Kafka broker), once per recording, whichever pipeline found the release.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { addProject, setIndexEnabled } from '../../src/db/index.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, exitOf, runCli, startCli, waitForLog } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { startKafkaBroker } from '../support/kafka-broker/index.js';
import { sampleSum as sample } from '../support/metrics-text.js';

const children: ChildProcess[] = [];
const indexes: IndexServer[] = [];

/** A local index of its own for each test. */
async function freshIndex(): Promise<IndexServer> {
  const index = await startIndexServer();
  indexes.push(index);
  return index;
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const index of indexes) await index.stop();
});

/**
 * A fresh database with the local index (PyPI disabled): watching `projects` (`seen`), or
 * every project of the index (`all`, where the updates and packages feeds both list a new
 * project).
 */
async function databaseWatching(index: IndexServer, watch: 'seen' | 'all', projects: readonly string[]): Promise<CliDatabase> {
  const database = await createCliDatabase();
  expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse', '--watch', watch], database.env)).code).toBe(0);
  await database.use(async (pool) => {
    await setIndexEnabled(pool, 'https://pypi.org/simple', false);
    for (const project of watch === 'seen' ? projects : []) await addProject(pool, { project, indexUrl: `${index.url}/simple` });
  });
  return database;
}

const eventLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { topic: string; key: string; value: Record<string, unknown> });

describe('pkgstream run: the event outbox', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it.each(['seen', 'all'] as const)('watching %s: announces each release once on the first poll of a new database (2 projects, 4 releases), reading each project page once', async (watch) => {
    const index = await freshIndex();
    const [one, two] = [`${watch}-one`, `${watch}-two`];
    for (const [project, version] of [[one, '1.0'], [one, '1.1'], [two, '2.0'], [two, '2.1']] as const) index.addRelease(project, version);
    const database = await databaseWatching(index, watch, [one, two]);
    try {
      const child = startCli(['run'], { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_POLL_INTERVAL: '0.5' });
      children.push(child);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const [listening] = await Promise.all([
        waitForLog(child, (line) => line.msg === 'http server listening', 60_000),
        waitForLog(child, (line) => line.msg === 'pkgstream running', 60_000),
      ]);
      const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${String(listening.port)}/metrics`)).text();
      const host = new URL(index.url).host;
      // Both pipelines have looked: the releases pipeline polled twice after recording, the
      // update pipeline completed a pass, and dispatch scheduled a solver for each release.
      let metrics = '';
      await until('4 releases found, both pipelines past them', async () => {
        metrics = await scrape();
        return (
          sample(metrics, 'pkgstream_jobs_total') >= 4 &&
          sample(metrics, 'pkgstream_feed_polls_total', { index: host }) >= 4 &&
          sample(metrics, 'pkgstream_last_successful_pass_timestamp_seconds', { pipeline: 'update' }) > 0
        );
      }, 90_000, 250);
      child.kill('SIGTERM');
      expect((await exitOf(child)).code).toBe(0);
      const released = eventLines(stdout).filter((line) => line.topic === 'pkgstream.package-released');
      const figures = {
        released: released.length,
        eventsTotal: sample(metrics, 'pkgstream_events_total', { kind: 'package-released' }),
        projectReads: sample(metrics, 'pkgstream_index_requests_total', { index: host, route: 'project' }),
      };
      console.info(`[cli/outbox] watch ${watch}, first poll of a new database: ${JSON.stringify(figures)}`);
      expect(released.map((line) => line.key).sort()).toEqual(
        [`${one}|1.0`, `${one}|1.1`, `${two}|2.0`, `${two}|2.1`].map((key) => `${index.url}/simple|${key}`),
      );
      expect(figures.eventsTotal).toBe(4);
      // The README: one read per project per poll (the releases pipeline's; the update
      // pipeline has nothing due yet: the new releases count as just checked). Watching
      // all, the updates and the packages feed each read a new project's page once.
      expect(figures.projectReads).toBe(watch === 'seen' ? 2 : 4);
    } finally {
      await database.close();
    }
  });

  it('check prints exactly the records it sent to Kafka (the same created_at)', async () => {
    const index = await freshIndex();
    index.addRelease('checked', '1.0');
    index.addRelease('checked', '1.1');
    const broker = await startKafkaBroker();
    const database = await databaseWatching(index, 'seen', ['checked']);
    try {
      const { code, stdout, stderr } = await runCli(['check', 'checked', '--index', `${index.url}/simple`], { ...database.env, KAFKA_BROKERS: broker.brokers });
      expect(code, stderr).toBe(0);
      const printed = eventLines(stdout);
      const sent = broker.records('pkgstream.package-released').map((record) => ({
        topic: 'pkgstream.package-released',
        key: record.key?.toString(),
        value: JSON.parse(record.value?.toString() ?? '{}') as Record<string, unknown>,
      }));
      console.info(`[cli/outbox] check: printed created_at ${printed.map((line) => String(line.value.created_at)).join(', ')}; Kafka ${sent.map((line) => String(line.value.created_at)).join(', ')}`);
      expect(printed).toHaveLength(2);
      // The broker's records come partition by partition (keyed), so compare in key order.
      const byKey = (a: { key?: string | undefined }, b: { key?: string | undefined }) => String(a.key).localeCompare(String(b.key));
      expect([...printed].sort(byKey)).toEqual([...sent].sort(byKey));
    } finally {
      await database.close();
      await broker.stop();
    }
  });
});
