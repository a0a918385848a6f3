/**
 * Shared pieces of the bad-input suite: a "world" per case (a fresh local index registered
 * as the only enabled index of a shared test database, its own metrics, a log that can be
 * searched, an in-memory event sink), the releases pipeline run against it with the real
 * undici client, counters read by label, and a dump of everything written for the index.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Counter } from 'prom-client';
import { asyncScheduler, type Subscription } from 'rxjs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { addIndex, addProject } from '../../src/db/index.js';
import type { PackageIndex } from '../../src/domain/types.js';
import { releasesPipeline, type ReleasesOutcome } from '../../src/pipelines/releases.js';
import { createMetrics, type Metrics } from '../../src/runtime/metrics.js';
import { createIndexClient, type UndiciIndexClient } from '../../src/sources/index-client/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startIndexServer, type IndexServer, type RecordedRequest } from '../support/index-server/index.js';
import { MemoryEventSink, publishingStore } from '../support/outbox.js';

/** Waits until `condition` holds; generous deadline, no tight timing. */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  diagnose: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\n${diagnose()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Sum of a counter's values whose labels include `labels`. */
export async function counted(counter: Counter, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((value) => Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}

/** A pino logger whose JSON lines are kept, to find the line that names a bad item. */
export function capturingLogger(level: 'warn' | 'info' = 'warn'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** What the relay published from the store's outbox. */
export class MemorySink extends MemoryEventSink {
  released(): string[] {
    return this.events.filter((event) => event.kind === 'package-released').map((event) => `${event.project}==${event.version}`).sort();
  }
}

export interface World {
  readonly database: TestDatabase;
  readonly server: IndexServer;
  readonly index: PackageIndex;
  readonly metrics: Metrics;
  readonly client: UndiciIndexClient;
  readonly sink: MemorySink;
  readonly logs: string[];
  readonly logger: Logger;
  readonly outcomes: ReleasesOutcome[];
  /** Every path the index was asked for, in order. */
  readonly paths: string[];
  /** Starts the releases pipeline (continuous unless `onePoll`); resolves once it completed when `onePoll`. */
  run(options?: { onePoll?: boolean; concurrency?: number; pageDeadlineMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A fresh local index, registered as the only enabled index of `database` (the seeded
 * pypi.org is disabled, so nothing leaves the machine), with `known` projects seen on it.
 */
export async function createWorld(
  database: TestDatabase,
  options: { watchMode: 'all' | 'seen'; known?: readonly string[]; maxBodyBytes?: number; requestTimeoutMs?: number },
): Promise<World> {
  const server = await startIndexServer({ clockStart: new Date('2024-03-01T00:00:00Z') });
  // Cases share a database, and a new server may get an earlier one's port, hence its URL:
  // what that earlier index left (checkpoint, releases, attention) is not this one's state.
  const simpleUrl = server.packageIndex().simpleUrl;
  await database.pool.query('DELETE FROM package_index WHERE simple_url = $1', [simpleUrl]);
  await database.pool.query("DELETE FROM attention WHERE starts_with(item_key, $1 || '|')", [simpleUrl]);
  const index = await addIndex(database.pool, { simpleUrl, warehouse: true, watchMode: options.watchMode });
  await database.pool.query('UPDATE package_index SET enabled = (id = $1)', [index.id]);
  for (const project of options.known ?? []) await addProject(database.pool, { indexId: index.id, project });
  const metrics = createMetrics(undefined, { defaultMetrics: false });
  const { logger, lines } = capturingLogger();
  const client = createIndexClient({
    version: 'test',
    metrics,
    logger,
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  // The server keeps only its last 200 requests: keep every path here.
  const paths: string[] = [];
  const log = server.requests as RecordedRequest[];
  const push = log.push.bind(log);
  log.push = (...items: RecordedRequest[]) => {
    paths.push(...items.map((item) => item.path));
    return push(...items);
  };
  const sink = new MemorySink();
  const outcomes: ReleasesOutcome[] = [];
  let subscription: Subscription | undefined;

  return {
    database,
    server,
    index,
    metrics,
    client,
    sink,
    logs: lines,
    logger,
    outcomes,
    paths,
    run(runOptions = {}) {
      return new Promise<void>((resolve, reject) => {
        subscription = releasesPipeline(
          { store: publishingStore(database.pool, sink), index: client, scheduler: asyncScheduler },
          {
            pollIntervalMs: 50,
            concurrency: runOptions.concurrency ?? 4,
            retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
            metrics,
            logger,
            ...(runOptions.onePoll ? { onePoll: true } : {}),
            ...(runOptions.pageDeadlineMs === undefined ? {} : { pageDeadlineMs: runOptions.pageDeadlineMs }),
          },
        ).subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: () => resolve() });
        if (!runOptions.onePoll) resolve();
      });
    },
    async stop() {
      subscription?.unsubscribe();
      await client.close();
      await server.stop();
      await database.pool.query('UPDATE package_index SET enabled = false WHERE id = $1', [index.id]);
    },
  };
}

export type WorldOptions = Parameters<typeof createWorld>[1];

/**
 * A test file's worlds: one test database for the file (its own schema), and each case's
 * world stopped after the case. Call at the top of the file; `create` inside a case.
 */
export function useWorlds(): { create(options: WorldOptions): Promise<World>; readonly database: TestDatabase } {
  let database: TestDatabase | undefined;
  let world: World | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await world?.stop();
    world = undefined;
  });
  afterAll(async () => {
    await database?.close();
  });
  const opened = (): TestDatabase => {
    if (!database) throw new Error('useWorlds: the database is opened in beforeAll');
    return database;
  };
  return {
    async create(options) {
      await world?.stop();
      world = await createWorld(opened(), options);
      return world;
    },
    get database() {
      return opened();
    },
  };
}

/** Everything the database holds for the world's index, as one JSON string (to search for a bad item's text). */
export async function writtenFor(world: World): Promise<string> {
  const { pool } = world.database;
  const id = world.index.id;
  const rows = await Promise.all([
    pool.query<Record<string, unknown>>('SELECT project FROM package_project WHERE index_id = $1 ORDER BY project', [id]),
    pool.query('SELECT project, version, state, yanked_reason FROM package_version WHERE index_id = $1 ORDER BY project, version', [id]),
    pool.query(
      'SELECT a.filename, a.sha256 FROM artifact a JOIN package_version v ON v.id = a.package_version_id WHERE v.index_id = $1 ORDER BY a.filename',
      [id],
    ),
    pool.query('SELECT feed, etag, newest_items FROM feed_checkpoint WHERE index_id = $1 ORDER BY feed', [id]),
  ]);
  return JSON.stringify(rows.map((result): unknown[] => result.rows as unknown[]));
}

export interface AttentionRow {
  readonly itemKey: string;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export async function attentionFor(world: World): Promise<AttentionRow[]> {
  const { rows } = await world.database.pool.query<{ item_key: string; error_code: string; error_message: string }>(
    `SELECT item_key, error_code, error_message FROM attention WHERE pipeline = 'releases' AND starts_with(item_key, $1) ORDER BY id`,
    [`${world.index.simpleUrl}|`],
  );
  return rows.map((row) => ({ itemKey: row.item_key, errorCode: row.error_code, errorMessage: row.error_message }));
}

/** What a world did so far, for a timeout's message. */
export function diagnosis(world: World): string {
  return [
    `outcomes: ${JSON.stringify(world.outcomes.slice(-20))}`,
    `released: ${JSON.stringify(world.sink.released())}`,
    `paths: ${JSON.stringify(world.paths.slice(-30))}`,
    `logs:\n${world.logs.slice(-20).join('\n')}`,
  ].join('\n');
}

/** `project==version` of every release recorded on the world's index. */
export async function recordedReleases(world: World): Promise<string[]> {
  const { rows } = await world.database.pool.query<{ project: string; version: string }>(
    'SELECT project, version FROM package_version WHERE index_id = $1 ORDER BY project, version',
    [world.index.id],
  );
  return rows.map((row) => `${row.project}==${row.version}`);
}

/** Stored sha256 digests of a release's artifacts. */
export async function storedDigests(world: World, project: string, version: string): Promise<(string | null)[]> {
  const { rows } = await world.database.pool.query<{ sha256: string | null }>(
    `SELECT a.sha256 FROM artifact a JOIN package_version v ON v.id = a.package_version_id
      WHERE v.index_id = $1 AND v.project = $2 AND v.version = $3 ORDER BY a.filename`,
    [world.index.id, project, version],
  );
  return rows.map((row) => row.sha256);
}

/** Project pages the index was asked for (canonical names), in order. */
export function pagesAsked(world: World): string[] {
  return world.paths
    .map((path) => /^\/simple\/([^/]+)\/?$/.exec(path)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** Warn lines of the world's log that mention every one of `parts`. */
export function logLinesWith(world: World, ...parts: (string | RegExp)[]): string[] {
  return world.logs.filter((line) => parts.every((part) => (typeof part === 'string' ? line.includes(part) : part.test(line))));
}
