/**
 * The outbox relay: publishes the `event` table's unsent rows, oldest first, in batches,
 * through the configured event sink (Kafka or stdout), then marks them sent. At-least-once:
 * a crash between the publish and the mark publishes the rows again after the restart,
 * with the same key and the same stored value.
 *
 * It wakes when this process wrote events (`wake`), on a Postgres NOTIFY from another
 * process (LISTEN, on a server), and at the latest every `pollMs`. A publish that fails is
 * retried with backoff; rows stay unsent meanwhile. Sent rows older than the retention are
 * deleted in bounded batches, once at start and then every `cleanupIntervalMs`.
 */
import pg from 'pg';
import { EVENT_CHANNEL, deleteSentBefore, lockRelay, markSent, readUnsent } from '../db/events.js';
import { withTransaction } from '../db/sql.js';
import { backoffDelay } from '../domain/backoff.js';
import type { OutboxEvent } from '../domain/event-record.js';
import type { EventSink } from '../domain/ports.js';
import type { Logger } from '../runtime/logger.js';

export interface EventRelayOptions {
  readonly pool: pg.Pool;
  /** A server URL to LISTEN on; unset (embedded PGlite: one process) = wake and poll only. */
  readonly listenUrl?: string;
  /** Publish under a lock (several relays on one server: one batch at a time, in order). */
  readonly lockRows: boolean;
  readonly sink: EventSink;
  readonly logger: Logger;
  /** Sent rows older than this are deleted. */
  readonly retentionMs: number;
  /** Rows per publish (default 500). */
  readonly batchSize?: number;
  /** Longest wait between looks without a wake-up (default 1 s). */
  readonly pollMs?: number;
  readonly cleanupIntervalMs?: number;
  /** Rows per delete statement (default 1000). */
  readonly deleteBatchSize?: number;
}

export interface EventRelay {
  /** Starts the background loop and the retention job (`run`). */
  start(): void;
  /** Events were written: look now. */
  wake(): void;
  /** Publishes every unsent row now; the rows published. */
  flush(): Promise<OutboxEvent[]>;
  /** Stops the loop, then publishes what is left (left unsent, with a warning, if that fails). */
  close(): Promise<void>;
}

/** The broker may be down for minutes: retry from 200 ms up to 30 s apart. */
const RELAY_BACKOFF = { baseDelayMs: 200, maxDelayMs: 30_000, random: Math.random };

export function createEventRelay(options: EventRelayOptions): EventRelay {
  const { pool, sink, logger } = options;
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 1000;
  const log = logger.child({ component: 'event-relay' });
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;
  let started = false;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  let listener: pg.Client | null = null;
  let cleanupTimer: NodeJS.Timeout | null = null;
  let loopDone: Promise<void> = Promise.resolve();

  /** One batch: read, publish, mark sent. Serialized with every other batch and the cleanup. */
  const publishBatch = (): Promise<OutboxEvent[]> => {
    const work = async (): Promise<OutboxEvent[]> => {
      const publish = async (db: pg.Pool | pg.PoolClient): Promise<OutboxEvent[]> => {
        if (options.lockRows) await lockRelay(db);
        const rows = await readUnsent(db, batchSize);
        if (rows.length === 0) return rows;
        await sink.publish(rows);
        await markSent(db, rows.map((row) => row.id), new Date());
        return rows;
      };
      return options.lockRows ? withTransaction(pool, publish) : publish(pool);
    };
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  };

  const flush = async (): Promise<OutboxEvent[]> => {
    const sent: OutboxEvent[] = [];
    for (;;) {
      const rows = await publishBatch();
      sent.push(...rows);
      if (rows.length < batchSize) return sent;
    }
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (woken || closed) {
        woken = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!closed) {
      try {
        const sent = await flush();
        if (sent.length > 0) log.debug({ events: sent.length }, 'events published');
        failures = 0;
        await sleep(pollMs);
      } catch (error) {
        failures += 1;
        const delay = Math.round(backoffDelay(failures, error, RELAY_BACKOFF));
        log.warn({ err: error, attempt: failures, retryInMs: delay }, 'publishing events failed: they stay in the outbox and are retried');
        await sleep(delay);
      }
    }
  };

  const cleanup = async (): Promise<void> => {
    const before = new Date(Date.now() - options.retentionMs);
    const limit = options.deleteBatchSize ?? 1000;
    let deleted = 0;
    for (;;) {
      const step = chain.then(() => deleteSentBefore(pool, before, limit));
      chain = step.catch(() => undefined);
      const n = await step;
      deleted += n;
      if (n < limit || closed) break;
    }
    if (deleted > 0) log.info({ deleted, before }, 'old sent events deleted');
  };
  const runCleanup = () => void cleanup().catch((error: unknown) => log.warn({ err: error }, 'deleting old events failed'));

  const listen = async (url: string): Promise<void> => {
    const client = new pg.Client({ connectionString: url, application_name: 'pkgstream-relay' });
    client.on('error', (error) => {
      log.warn({ err: error }, 'event LISTEN connection lost: polling every second');
      listener = null;
    });
    client.on('notification', () => relay.wake());
    await client.connect();
    await client.query(`LISTEN ${EVENT_CHANNEL}`);
    listener = client;
  };

  const relay: EventRelay = {
    start() {
      if (started || closed) return;
      started = true;
      if (options.listenUrl) {
        void listen(options.listenUrl).catch((error: unknown) => log.warn({ err: error }, 'cannot LISTEN for events: polling every second'));
      }
      loopDone = loop();
      runCleanup();
      cleanupTimer = setInterval(runCleanup, options.cleanupIntervalMs ?? 3_600_000);
      cleanupTimer.unref();
    },
    wake() {
      woken = true;
      wakeUp?.();
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      if (cleanupTimer) clearInterval(cleanupTimer);
      wakeUp?.();
      await loopDone;
      await listener?.end().catch(() => undefined);
      try {
        await flush();
      } catch (error) {
        log.warn({ err: error }, 'events left unsent at exit: they are published on the next start');
      }
    },
  };
  return relay;
}
