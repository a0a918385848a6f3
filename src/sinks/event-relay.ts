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
import type pg from 'pg';
import { deleteSentBefore, lockRelay, markSent, readUnsent } from '../db/events.js';
import { withTransaction } from '../db/sql.js';
import type { OutboxEvent } from '../domain/event-record.js';
import type { EventSink } from '../domain/ports.js';
import type { Logger } from '../runtime/logger.js';
import { OutboxListener } from './outbox-listener.js';
import { PollSleep } from './poll-sleep.js';
import { PublishRetry } from './publish-retry.js';
import { SerialWork } from './serial-work.js';

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

export function createEventRelay(options: EventRelayOptions): EventRelay {
  const batchSize = options.batchSize ?? 500;
  const log = options.logger.child({ component: 'event-relay' });
  const serial = new SerialWork(); // batches and deletes, one at a time
  const sleep = new PollSleep();
  const listener = new OutboxListener(log, () => sleep.wake());
  // wake-ups (this process, NOTIFY, the poll) -> batches of unsent rows -> the sink -> marked sent
  const flush = () => publishAll(() => serial.run(() => publishBatch(options, batchSize)), batchSize);
  const cleanup = () =>
    deleteOldEvents(options, serial, () => sleep.closed, log).catch((error: unknown) => log.warn({ err: error }, 'deleting old events failed'));
  let started = false;
  let loopDone: Promise<void> = Promise.resolve();
  let cleanupTimer: NodeJS.Timeout | null = null;
  return {
    start() {
      if (started || sleep.closed) return;
      started = true;
      if (options.listenUrl) listener.start(options.listenUrl);
      loopDone = publishLoop(flush, sleep, options.pollMs ?? 1000, log);
      void cleanup();
      cleanupTimer = setInterval(() => void cleanup(), options.cleanupIntervalMs ?? 3_600_000);
      cleanupTimer.unref();
    },
    wake: () => sleep.wake(),
    flush,
    async close() {
      if (sleep.closed) return;
      if (cleanupTimer) clearInterval(cleanupTimer);
      sleep.close();
      await loopDone;
      await listener.end();
      await flush().catch((error: unknown) => log.warn({ err: error }, 'events left unsent at exit: they are published on the next start'));
    },
  };
}

/** Until closed: publish everything, then sleep until woken or `pollMs`; after a failure, back off. */
async function publishLoop(flush: () => Promise<OutboxEvent[]>, sleep: PollSleep, pollMs: number, log: Logger): Promise<void> {
  const retry = new PublishRetry();
  while (!sleep.closed) {
    try {
      const sent = await flush();
      if (sent.length > 0) log.debug({ events: sent.length }, 'events published');
      retry.succeeded();
      await sleep.sleep(pollMs);
    } catch (error) {
      const { attempt, delayMs } = retry.failed(error);
      log.warn({ err: error, attempt, retryInMs: delayMs }, 'publishing events failed: they stay in the outbox and are retried');
      await sleep.sleep(delayMs);
    }
  }
}

/** Batches until one is not full: every row unsent when it started is published. */
async function publishAll(publishOne: () => Promise<OutboxEvent[]>, batchSize: number): Promise<OutboxEvent[]> {
  const sent: OutboxEvent[] = [];
  for (;;) {
    const rows = await publishOne();
    sent.push(...rows);
    if (rows.length < batchSize) return sent;
  }
}

/** One batch: read, publish, mark sent (under the relay lock, in one transaction, when `lockRows`). */
function publishBatch(options: EventRelayOptions, batchSize: number): Promise<OutboxEvent[]> {
  const publish = async (db: pg.Pool | pg.PoolClient): Promise<OutboxEvent[]> => {
    if (options.lockRows) await lockRelay(db);
    const rows = await readUnsent(db, batchSize);
    if (rows.length === 0) return rows;
    await options.sink.publish(rows);
    await markSent(db, rows.map((row) => row.id), new Date());
    return rows;
  };
  return options.lockRows ? withTransaction(options.pool, publish) : publish(options.pool);
}

/** Sent rows past the retention, deleted in bounded batches (each queued with the publishes). */
async function deleteOldEvents(options: EventRelayOptions, serial: SerialWork, closed: () => boolean, log: Logger): Promise<void> {
  const before = new Date(Date.now() - options.retentionMs);
  const limit = options.deleteBatchSize ?? 1000;
  let deleted = 0;
  for (;;) {
    const n = await serial.run(() => deleteSentBefore(options.pool, before, limit));
    deleted += n;
    if (n < limit || closed()) break;
  }
  if (deleted > 0) log.info({ deleted, before }, 'old sent events deleted');
}
