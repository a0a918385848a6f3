/**
 * Process faults of `pkgstream run` (the built CLI as a child process, with the local
 * index, Kafka broker, Kubernetes API and the test database): SIGTERM during a busy poll
 * drains within the grace period, exits 0 and leaves its offsets committed; SIGKILL, then
 * releases published while it is down, then a restart: it resumes from the database
 * (feed checkpoint, then the gap backfill) and misses no release.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { addProject, setIndexEnabled } from '../../src/db/index.js';
import { exitOf, runCli, startCli, waitForLog } from '../support/cli.js';
import type { CliDatabase } from '../support/cli-database.js';
import type { IndexServer } from '../support/index-server/index.js';
import type { KafkaTestBroker } from '../support/kafka-broker/index.js';
import type { KubeApi } from '../support/kube-api/index.js';
import { startThreePeers, type ThreePeers } from '../support/three-peers.js';
import { repeated, tally, until } from './helpers.js';

const PREFIX = 'cf';
const TOPIC = `${PREFIX}.package-released`;
const GROUP = 'cf-dispatch';
const GRACE_SECONDS = 15;
const PROJECTS = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];

let peers: ThreePeers | undefined;
let index: IndexServer;
let broker: KafkaTestBroker;
let kube: KubeApi;
let database: CliDatabase;
let env: NodeJS.ProcessEnv;
const published: string[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  peers = await startThreePeers({
    PKGSTREAM_NAMESPACE: 'default',
    PKGSTREAM_SOLVERS: 'solver-fedora-38-py311',
    PKGSTREAM_SOLVER_CAPACITY: '1000',
    PKGSTREAM_POLL_INTERVAL: '0.5',
    PKGSTREAM_RATE_LIMIT: '50',
    PKGSTREAM_RATE_BURST: '20',
    PKGSTREAM_TOPIC_PREFIX: PREFIX,
    PKGSTREAM_KAFKA_GROUP: GROUP,
    PKGSTREAM_SHUTDOWN_GRACE: String(GRACE_SECONDS),
    PKGSTREAM_HTTP_PORT: '0',
    LOG_LEVEL: 'info',
  });
  ({ index, broker, kube, database, env } = peers);
  const simple = `${index.url}/simple`;
  expect((await runCli(['index', 'add', simple, '--warehouse'], env)).code).toBe(0);
  // The rest of the setup straight in the database: one child process less per project.
  await withDatabase(async (pool) => {
    await setIndexEnabled(pool, 'https://pypi.org/simple', false);
    for (const project of PROJECTS) await addProject(pool, { project, indexUrl: simple });
  });
}, 120_000);

// A test that failed leaves its service running: stop it, or it serves the next test too.
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await peers?.stop();
});

/** Runs `work` on the service's database (embedded: only while no child holds it). */
function withDatabase<T>(work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  return database.use(work);
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return withDatabase(async (pool) => (await pool.query(sql, params)).rows as T[]);
}

function publish(versions: readonly string[]): void {
  for (const version of versions) {
    for (const project of PROJECTS) {
      index.addRelease(project, version);
      published.push(`${index.url}/simple|${project}|${version}`);
    }
  }
}

const announced = () => tally(broker.records(TOPIC).map((record) => record.key?.toString() ?? ''));
const allAnnounced = () => {
  const seen = announced();
  return published.every((key) => seen.has(key));
};
const partitions = [0, 1, 2];
// A partition no key hashed to (keys hold the index's random port) has nothing to commit: 0.
const committed = () => partitions.map((p) => broker.committedOffset(GROUP, TOPIC, p) ?? 0);
const ends = () => partitions.map((p) => broker.endOffset(TOPIC, p));
const allCommitted = () => committed().every((offset, p) => offset === ends()[p]);

/** Starts `pkgstream run` and waits until it is running; keeps its stderr. */
async function start(): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = startCli(['run'], env);
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitForLog(child, (line) => line.msg === 'pkgstream running', 60_000);
  return { child, stderr: () => stderr };
}

describe('pkgstream run under process faults', () => {
  it('SIGTERM during a busy poll: drains within the grace period, exits 0, offsets committed', async () => {
    publish(['1.0', '1.1']);
    const { child, stderr } = await start();
    await until('first releases announced', allAnnounced, 60_000);
    await until('a Job per release', () => kube.jobs('default').length === published.length, 60_000);
    await until('dispatch offsets committed', allCommitted, 30_000);
    const before = committed();

    // Busy: a slow index and a poll with many new releases in flight.
    index.setLatency(800, 400);
    const asked = index.counters.count('simple-project');
    publish(['2.0', '2.1', '2.2', '2.3']);
    await until('the busy poll reading project pages', () => index.counters.count('simple-project') > asked, 30_000, 20);
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const exit = await exitOf(child);
    const drainMs = Date.now() - signalledAt;
    index.setLatency(0);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(drainMs).toBeLessThan(GRACE_SECONDS * 1000);
    expect(stderr()).not.toContain('grace period over');
    expect(stderr()).toContain('"msg":"stopped"');
    // The poll in flight was finished, not dropped: its releases were all announced before the exit.
    expect(published.filter((key) => !announced().has(key))).toEqual([]);
    const after = committed();
    for (const p of partitions) expect(after[p]).toBeGreaterThanOrEqual(before[p]!);
    console.info(`[faults/cli] SIGTERM: exit 0 after ${drainMs} ms (grace ${GRACE_SECONDS} s); committed ${JSON.stringify(after)} (before the poll ${JSON.stringify(before)}, end ${JSON.stringify(ends())})`);
  }, 120_000);

  it('SIGKILL and restart: releases published while it was down are announced after the restart (checkpoint + gap backfill)', async () => {
    const first = await start();
    await until('the releases of the previous run announced', allAnnounced, 60_000);
    first.child.kill('SIGKILL');
    expect((await exitOf(first.child)).signal).toBe('SIGKILL');

    // While it is down: more releases than the feed holds, so the next poll sees a gap.
    const beforeDown = published.length;
    publish(Array.from({ length: 22 }, (_, n) => `3.${n}`));
    const second = await start();
    await until(`${published.length} releases announced`, allAnnounced, 90_000);
    await until('a Job per release', () => kube.jobs('default').length === published.length, 60_000);
    await until('dispatch offsets committed', allCommitted, 30_000);
    second.child.kill('SIGTERM');
    expect((await exitOf(second.child)).code).toBe(0);

    expect(second.stderr()).toContain('feed gap: backfilling (known projects)');
    const seen = announced();
    expect(published.filter((key) => !seen.has(key))).toEqual([]);
    const rows = await query<{ key: string }>(`SELECT $1 || '|' || project || '|' || version AS key FROM package_version v JOIN package_index i ON i.id = v.index_id WHERE i.simple_url = $1`, [`${index.url}/simple`]);
    expect(repeated(rows.map((row) => row.key))).toEqual([]);
    expect(rows.map((row) => row.key).sort()).toEqual([...published].sort());
    const names = kube.jobs('default').map((job) => job.metadata.name);
    expect(repeated(names)).toEqual([]);
    expect(names).toHaveLength(published.length);
    const repeats = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
    console.info(
      `[faults/cli] SIGKILL: ${published.length - beforeDown} releases published while down, all ${published.length} announced ` +
        `(${repeats} repeats), ${rows.length} rows, ${names.length} Jobs; committed ${JSON.stringify(committed())} = end ${JSON.stringify(ends())}`,
    );
  }, 180_000);
});
