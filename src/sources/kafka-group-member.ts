/**
 * One subscription of the Kafka source: a consumer-group member and its dead-letter
 * producer. Each record is tracked (offsets), counted in flight (backpressure), read, then
 * emitted with its ack or dead-lettered and acked; each group event updates the status.
 * The state lives in the pure units (OffsetTracker, ConsumerPause, ConsumerLag); this class
 * makes their calls to kafkajs, the metrics and the log.
 */
import type { Subscriber } from 'rxjs';
import type { ZodType } from 'zod';
import { PkgstreamError, errorMessage } from '../domain/errors.js';
import {
  createDeadLetterProducer,
  createKafkaConsumer,
  type ConsumedRecord,
  type ConsumerEvent,
  type ConsumerTuning,
  type DeadLetterProducerPort,
  type KafkaConsumerPort,
} from '../kafka/consumer.js';
import type { KafkaSecurity } from '../kafka/security.js';
import type { Logger, Metrics } from '../runtime/index.js';
import { ConsumerLag } from './consumer-lag.js';
import { ConsumerPause } from './consumer-pause.js';
import { deadLetterMessage, readRecord, type UnreadableRecord } from './kafka-record.js';
import type { KafkaSourceStatusBook } from './kafka-source-status.js';
import { OffsetTracker, type CommitRequest, type TrackedMessage } from './offset-tracker.js';

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

const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

export class KafkaGroupMember<T> {
  private readonly consumer: KafkaConsumerPort;
  private readonly deadLetters: DeadLetterProducerPort;
  private readonly tracker: OffsetTracker;
  private readonly pause: ConsumerPause;
  private readonly lag = new ConsumerLag();
  private readonly pipeline: string;
  private readonly maxValueBytes: number;
  private stopped = false;

  constructor(
    private readonly options: KafkaSourceOptions<T>,
    private readonly status: KafkaSourceStatusBook,
    private readonly log: Logger,
    private readonly subscriber: Subscriber<KafkaSourceMessage<T>>,
  ) {
    const connection = {
      brokers: options.brokers,
      clientId: options.clientId ?? `pkgstream-${options.groupId}`,
      logger: options.logger,
      ...(options.ssl ? { ssl: options.ssl } : {}),
      ...(options.sasl ? { sasl: options.sasl } : {}),
    };
    this.consumer = createKafkaConsumer({
      ...connection,
      groupId: options.groupId,
      topics: options.topics,
      fromBeginning: options.fromBeginning ?? true,
      ...(options.tuning ? { tuning: options.tuning } : {}),
    });
    this.deadLetters = createDeadLetterProducer(connection);
    this.pause = new ConsumerPause(options.highWater, options.lowWater);
    this.pipeline = options.pipeline ?? options.groupId;
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.tracker = new OffsetTracker(
      (requests) => this.consumer.commit(requests.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset.toString() }))),
      (error, requests) => this.commitFailed(error, requests),
      (requests) => requests.forEach((r) => this.reportLag(r.topic, r.partition)),
    );
  }

  /** Joins the group: records flow to the subscriber, group events to the status. */
  start(): void {
    // A series from the start, so a dashboard shows "not paused" rather than nothing.
    this.options.metrics.kafkaPaused.set({ pipeline: this.pipeline }, 0);
    this.consumer.onEvent((event) => this.groupEvent(event));
    this.status.connecting();
    this.consumer.run((record) => this.receive(record)).catch((error: unknown) => this.failedToStart(error));
  }

  /** Waits for the commits requested, then leaves the group. */
  stop(): void {
    this.stopped = true;
    void (async () => {
      await this.tracker.flush();
      await this.consumer.disconnect();
      await this.deadLetters.disconnect();
    })()
      .catch((error: unknown) => this.log.warn({ err: error }, 'kafka source did not disconnect cleanly'))
      .finally(() => {
        this.options.metrics.kafkaPaused.set({ pipeline: this.pipeline }, 0);
        this.status.stopped();
      });
  }

  private async receive(record: ConsumedRecord): Promise<void> {
    if (this.stopped) return;
    const { message, isNew } = this.tracker.track(record.topic, record.partition, record.offset);
    if (isNew && this.pause.delivered()) this.setPaused(true); // a redelivery is in flight once
    const verdict = readRecord(record, this.options.schema, this.maxValueBytes);
    if (!verdict.ok) {
      await this.deadLetter(record, verdict);
      void this.release(message);
      return;
    }
    if (!isNew) return; // already emitted and still in flight
    let acked: Promise<void> | null = null;
    this.subscriber.next({
      value: verdict.value,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key?.toString('utf8') ?? null,
      ack: () => (acked ??= this.release(message)),
    });
  }

  /** Throws to kafkajs if the dead-letter topic cannot be written: the record is then delivered again rather than lost. */
  private async deadLetter(record: ConsumedRecord, verdict: UnreadableRecord): Promise<void> {
    const { metrics, deadLetterTopic } = this.options;
    await this.deadLetters.send(deadLetterTopic, deadLetterMessage(record, verdict, this.maxValueBytes, new Date()));
    metrics.kafkaDeadLetters.inc({ topic: record.topic, code: verdict.code });
    metrics.badInput.inc({ source: 'kafka', code: verdict.code });
    const { topic, partition, offset } = record;
    this.log.warn({ topic, partition, offset, code: verdict.code, reason: verdict.reason }, 'kafka message dead-lettered');
  }

  private release(message: TrackedMessage): Promise<void> {
    if (this.pause.acked()) this.setPaused(false);
    this.status.inFlight(this.pause.inFlight);
    return this.tracker.ack(message);
  }

  private setPaused(paused: boolean): void {
    if (this.stopped) return;
    try {
      if (paused) this.consumer.pause();
      else this.consumer.resume();
    } catch (error) {
      this.log.warn({ err: error }, paused ? 'kafka pause failed' : 'kafka resume failed');
      return;
    }
    this.pause.confirm(paused);
    this.options.metrics.kafkaPaused.set({ pipeline: this.pipeline }, paused ? 1 : 0);
    this.log.debug({ inFlight: this.pause.inFlight }, paused ? 'kafka consumer paused' : 'kafka consumer resumed');
    this.status.backpressure(paused, this.pause.inFlight);
  }

  private groupEvent(event: ConsumerEvent): void {
    switch (event.type) {
      case 'joined':
        return this.joined(event.assignment, event.isLeader);
      case 'rebalancing':
        this.log.info('kafka consumer group is rebalancing');
        return this.status.rebalancing();
      case 'crashed':
        return this.crashed(event.error, event.restarting);
      case 'batch-end':
        this.lag.fetched(event.topic, event.partition, event.highWatermark);
        return this.reportLag(event.topic, event.partition);
    }
  }

  private joined(assignment: Readonly<Record<string, readonly number[]>>, isLeader: boolean): void {
    this.tracker.newEpoch();
    if (this.pause.paused) {
      // kafkajs forgets pauses when it restarts after a crash: pause the new member too.
      try {
        this.consumer.pause();
      } catch (error) {
        this.log.warn({ err: error }, 'kafka pause after rejoin failed');
      }
    }
    this.status.joined(assignment);
    this.log.info({ assignment, isLeader, rebalances: this.status.current.rebalances }, 'kafka consumer joined its group');
  }

  private crashed(error: unknown, restarting: boolean): void {
    const lastError = errorMessage(error);
    this.log.error({ err: error, restarting }, 'kafka consumer crashed');
    this.status.crashed(lastError);
    if (!restarting && !this.stopped) {
      this.subscriber.error(new PkgstreamError('KAFKA_CONSUMER_CRASHED', `kafka consumer crashed: ${lastError}`, { cause: error }));
    }
  }

  private failedToStart(error: unknown): void {
    if (this.stopped) return;
    const lastError = errorMessage(error);
    this.log.error({ err: error }, 'kafka consumer failed to start');
    this.status.crashed(lastError);
    this.subscriber.error(new PkgstreamError('KAFKA_CONSUMER_FAILED', `kafka consumer failed to start: ${lastError}`, { cause: error }));
  }

  /** A rebalance or a lost coordinator: the partitions are re-read from their last commit. */
  private commitFailed(error: unknown, requests: readonly CommitRequest[]): void {
    this.log.warn({ err: error, requests: requests.length }, 'kafka offset commit failed; uncommitted messages will be redelivered');
  }

  private reportLag(topic: string, partition: number): void {
    const lag = this.lag.lag(topic, partition, this.tracker.committed(topic, partition));
    if (lag !== null) this.options.metrics.kafkaConsumerLag.set({ topic, partition: String(partition) }, lag);
  }
}
