/**
 * A Kafka consumer-group source: an Observable of parsed messages, each acknowledged by the
 * pipeline once its effects are durable. At-least-once:
 *
 * - offsets are committed only after ack, in order per partition (the contiguous acked
 *   prefix, offset + 1); autoCommit is off;
 * - backpressure: the consumer is paused while more than `highWater` messages are in flight
 *   (emitted, not acked) and resumed at or below `lowWater`;
 * - a message that cannot be read (not JSON, not the schema, larger than `maxValueBytes`,
 *   empty) goes to the dead-letter topic with the reason and its original value, and is
 *   then acked: it never stops or crashes the consumer;
 * - rebalances and crashes are logged and visible in `status$` / `isHealthy()`.
 *
 * One subscription is one group member; unsubscribing waits for requested commits, then
 * disconnects the consumer and the dead-letter producer.
 */
import { BehaviorSubject, Observable } from 'rxjs';
import type { ZodType } from 'zod';
import { PkgstreamError, type ErrorCodeIn } from '../domain/index.js';
import type { Logger, Metrics } from '../runtime/index.js';
import {
  createDeadLetterProducer,
  createKafkaConsumer,
  type ConsumedRecord,
  type ConsumerTuning,
  type DeadLetterProducerPort,
  type KafkaConsumerPort,
} from '../kafka/consumer.js';
import type { KafkaSecurity } from '../kafka/security.js';
import { OffsetTracker, type TrackedMessage } from './offset-tracker.js';
import { errorMessage } from '../domain/errors.js';

export interface KafkaSourceMessage<T> {
  readonly value: T;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  /**
   * Marks the message done. Resolves once the commit covering it is made, which waits for
   * every earlier message of its partition to be acked too (at once if a rebalance took the
   * partition away meanwhile: the message will be read again). Idempotent.
   */
  ack(): Promise<void>;
}

export type KafkaSourceState = 'idle' | 'connecting' | 'running' | 'rebalancing' | 'crashed' | 'stopped';

export interface KafkaSourceStatus {
  readonly state: KafkaSourceState;
  /** topic → partitions this member owns since the last rebalance. */
  readonly assignment: Readonly<Record<string, readonly number[]>>;
  readonly paused: boolean;
  readonly inFlight: number;
  readonly rebalances: number;
  readonly lastError: string | null;
}

export interface KafkaSourceOptions<T> extends KafkaSecurity {
  readonly brokers: string | readonly string[];
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly schema: ZodType<T>;
  readonly deadLetterTopic: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Pause when more than this many messages are in flight. */
  readonly highWater: number;
  /** Resume when in-flight messages fall to this many or fewer. */
  readonly lowWater: number;
  /** Default `pkgstream-<groupId>`. */
  readonly clientId?: string;
  /** Label of the `pkgstream_kafka_consumer_paused` gauge; default the group id. */
  readonly pipeline?: string;
  /** Larger values are dead-lettered unread. Default 1 MiB. */
  readonly maxValueBytes?: number;
  /** Where a group with no committed offset starts. Default true (earliest). */
  readonly fromBeginning?: boolean;
  readonly tuning?: ConsumerTuning;
}

export type KafkaSource<T> = Observable<KafkaSourceMessage<T>> & {
  readonly status$: Observable<KafkaSourceStatus>;
  /** For readiness: true while the member is in a group (running or rebalancing). */
  isHealthy(): boolean;
};

type Verdict<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: ErrorCodeIn<'kafka'>; readonly reason: string };

const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function kafkaSource<T>(options: KafkaSourceOptions<T>): KafkaSource<T> {
  const { logger, metrics, highWater, lowWater } = options;
  if (!(Number.isInteger(highWater) && highWater >= 1 && Number.isInteger(lowWater) && lowWater >= 0 && lowWater < highWater)) {
    throw new PkgstreamError('OPTION_RANGE', `kafka source needs 0 <= lowWater < highWater, got ${lowWater} and ${highWater}`);
  }
  const pipeline = options.pipeline ?? options.groupId;
  const maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  const connection = { brokers: options.brokers, clientId: options.clientId ?? `pkgstream-${options.groupId}`, logger, ...(options.ssl ? { ssl: options.ssl } : {}), ...(options.sasl ? { sasl: options.sasl } : {}) };
  const status$ = new BehaviorSubject<KafkaSourceStatus>({
    state: 'idle',
    assignment: {},
    paused: false,
    inFlight: 0,
    rebalances: 0,
    lastError: null,
  });
  const setStatus = (change: Partial<KafkaSourceStatus>) => status$.next({ ...status$.value, ...change });
  const log = logger.child({ source: 'kafka', groupId: options.groupId });

  const parse = (record: ConsumedRecord): Verdict<T> => {
    const raw = record.value;
    if (raw === null || raw.length === 0) return { ok: false, code: 'KAFKA_EMPTY_VALUE', reason: 'message has no value' };
    if (raw.length > maxValueBytes) {
      return { ok: false, code: 'KAFKA_VALUE_TOO_LARGE', reason: `value of ${raw.length} bytes exceeds ${maxValueBytes}` };
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      return { ok: false, code: 'KAFKA_BAD_JSON', reason: `not JSON: ${(error as Error).message}` };
    }
    const result = options.schema.safeParse(json);
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      return { ok: false, code: 'KAFKA_BAD_SCHEMA', reason: `does not match the schema: ${issues}` };
    }
    return { ok: true, value: result.data };
  };

  const deadLetterValue = (record: ConsumedRecord, code: string, reason: string): string => {
    const raw = record.value ?? Buffer.alloc(0);
    const kept = raw.length > maxValueBytes ? raw.subarray(0, maxValueBytes) : raw;
    let text: string | null = null;
    try {
      text = utf8.decode(kept);
    } catch {
      text = null;
    }
    return JSON.stringify({
      code,
      reason,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key?.toString('utf8') ?? null,
      ...(text !== null ? { value: text } : { value_base64: kept.toString('base64') }),
      ...(kept.length < raw.length ? { value_truncated_from: raw.length } : {}),
      dead_lettered_at: new Date().toISOString(),
    });
  };

  const source = new Observable<KafkaSourceMessage<T>>((subscriber) => {
    const consumer: KafkaConsumerPort = createKafkaConsumer({
      ...connection,
      groupId: options.groupId,
      topics: options.topics,
      fromBeginning: options.fromBeginning ?? true,
      ...(options.tuning ? { tuning: options.tuning } : {}),
    });
    const deadLetters: DeadLetterProducerPort = createDeadLetterProducer(connection);
    let inFlight = 0;
    let paused = false;
    // A series from the start, so a dashboard shows "not paused" rather than nothing.
    metrics.kafkaPaused.set({ pipeline: options.pipeline ?? options.groupId }, 0);
    let stopped = false;
    const highWatermarks = new Map<string, { topic: string; partition: number; hw: bigint }>();

    const updateLag = (topic: string, partition: number) => {
      const hw = highWatermarks.get(`${topic}\u0000${partition}`)?.hw;
      const committed = tracker.committed(topic, partition);
      if (hw === undefined || committed === null) return;
      metrics.kafkaConsumerLag.set({ topic, partition: String(partition) }, Number(hw - committed));
    };

    const tracker = new OffsetTracker(
      (requests) => consumer.commit(requests.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset.toString() }))),
      (error, requests) => {
        // A rebalance or a lost coordinator: the partitions are re-read from their last commit.
        log.warn({ err: error, requests: requests.length }, 'kafka offset commit failed; uncommitted messages will be redelivered');
      },
      (requests) => {
        for (const r of requests) updateLag(r.topic, r.partition);
      },
    );

    const setPaused = (value: boolean) => {
      if (paused === value || stopped) return;
      try {
        if (value) consumer.pause();
        else consumer.resume();
      } catch (error) {
        log.warn({ err: error }, value ? 'kafka pause failed' : 'kafka resume failed');
        return;
      }
      paused = value;
      metrics.kafkaPaused.set({ pipeline }, value ? 1 : 0);
      log.debug({ inFlight }, value ? 'kafka consumer paused' : 'kafka consumer resumed');
      setStatus({ paused, inFlight });
    };

    const release = (message: TrackedMessage): Promise<void> => {
      inFlight -= 1;
      if (paused && inFlight <= lowWater) setPaused(false);
      setStatus({ inFlight });
      return tracker.ack(message);
    };

    const handle = async (record: ConsumedRecord): Promise<void> => {
      if (stopped) return;
      const { message, isNew } = tracker.track(record.topic, record.partition, record.offset);
      if (isNew) {
        inFlight += 1;
        if (inFlight > highWater) setPaused(true);
      }
      const verdict = parse(record);
      if (!verdict.ok) {
        // Throws to kafkajs if the dead-letter topic cannot be written: the message is then
        // delivered again rather than lost.
        await deadLetters.send(options.deadLetterTopic, {
          key: record.key,
          value: deadLetterValue(record, verdict.code, verdict.reason),
          headers: { 'pkgstream-dead-letter-code': verdict.code, 'pkgstream-source-topic': record.topic },
        });
        metrics.kafkaDeadLetters.inc({ topic: record.topic, code: verdict.code });
        metrics.badInput.inc({ source: 'kafka', code: verdict.code });
        log.warn(
          { topic: record.topic, partition: record.partition, offset: record.offset, code: verdict.code, reason: verdict.reason },
          'kafka message dead-lettered',
        );
        void release(message);
        return;
      }
      if (!isNew) return; // already emitted and still in flight
      let acked: Promise<void> | null = null;
      subscriber.next({
        value: verdict.value,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        key: record.key?.toString('utf8') ?? null,
        ack: () => (acked ??= release(message)),
      });
    };

    consumer.onEvent((event) => {
      switch (event.type) {
        case 'joined': {
          tracker.newEpoch();
          if (paused) {
            // kafkajs forgets pauses when it restarts after a crash: pause the new member too.
            try {
              consumer.pause();
            } catch (error) {
              log.warn({ err: error }, 'kafka pause after rejoin failed');
            }
          }
          const rebalances = status$.value.rebalances + 1;
          log.info({ assignment: event.assignment, isLeader: event.isLeader, rebalances }, 'kafka consumer joined its group');
          setStatus({ state: 'running', assignment: event.assignment, rebalances, lastError: null });
          break;
        }
        case 'rebalancing':
          log.info('kafka consumer group is rebalancing');
          setStatus({ state: 'rebalancing' });
          break;
        case 'crashed': {
          const lastError = errorMessage(event.error);
          log.error({ err: event.error, restarting: event.restarting }, 'kafka consumer crashed');
          setStatus({ state: 'crashed', lastError });
          if (!event.restarting && !stopped) {
            subscriber.error(
              new PkgstreamError('KAFKA_CONSUMER_CRASHED', `kafka consumer crashed: ${lastError}`, { cause: event.error }),
            );
          }
          break;
        }
        case 'batch-end':
          highWatermarks.set(`${event.topic}\u0000${event.partition}`, {
            topic: event.topic,
            partition: event.partition,
            hw: BigInt(event.highWatermark),
          });
          updateLag(event.topic, event.partition);
          break;
      }
    });

    setStatus({ state: 'connecting', paused: false, inFlight: 0, assignment: {} });
    consumer.run(handle).catch((error: unknown) => {
      if (stopped) return;
      const lastError = errorMessage(error);
      log.error({ err: error }, 'kafka consumer failed to start');
      setStatus({ state: 'crashed', lastError });
      subscriber.error(new PkgstreamError('KAFKA_CONSUMER_FAILED', `kafka consumer failed to start: ${lastError}`, { cause: error }));
    });

    return () => {
      stopped = true;
      void (async () => {
        await tracker.flush();
        await consumer.disconnect();
        await deadLetters.disconnect();
      })()
        .catch((error: unknown) => log.warn({ err: error }, 'kafka source did not disconnect cleanly'))
        .finally(() => {
          metrics.kafkaPaused.set({ pipeline }, 0);
          setStatus({ state: 'stopped', paused: false, assignment: {} });
        });
    };
  });

  return Object.assign(source, {
    status$: status$.asObservable(),
    isHealthy: () => status$.value.state === 'running' || status$.value.state === 'rebalancing',
  });
}
