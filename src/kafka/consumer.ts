/**
 * The Kafka source's side of kafkajs: a consumer-group member with manual commits and a
 * producer for the dead-letter topic, each behind a small interface.
 */
import type { Consumer, Producer } from 'kafkajs';
import { createKafkaClient, describeConnectError, type KafkaClientOptions } from './client.js';

export type KafkaConnection = KafkaClientOptions;

export interface ConsumerTuning {
  /** Default 30 000. */
  readonly sessionTimeoutMs?: number;
  /** Default 60 000. */
  readonly rebalanceTimeoutMs?: number;
  /** Default 3 000. */
  readonly heartbeatIntervalMs?: number;
  /** How long the broker may hold an empty fetch. Default 5 000. */
  readonly maxWaitTimeMs?: number;
}

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export type ConsumerEvent =
  | { readonly type: 'joined'; readonly assignment: Readonly<Record<string, readonly number[]>>; readonly isLeader: boolean }
  | { readonly type: 'rebalancing' }
  | { readonly type: 'crashed'; readonly error: unknown; readonly restarting: boolean }
  | { readonly type: 'batch-end'; readonly topic: string; readonly partition: number; readonly highWatermark: string };

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read. */
  readonly offset: string;
}

export interface KafkaConsumerPort {
  /** Connects, subscribes and starts delivering records one at a time to `handler`. */
  run(handler: (record: ConsumedRecord) => Promise<void>): Promise<void>;
  /** Stops fetching every subscribed topic (records already fetched stop after the current one). */
  pause(): void;
  resume(): void;
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  onEvent(listener: (event: ConsumerEvent) => void): void;
  disconnect(): Promise<void>;
}

export interface DeadLetterProducerPort {
  send(topic: string, message: { key: Buffer | null; value: string; headers: Record<string, string> }): Promise<void>;
  disconnect(): Promise<void>;
}

export function createKafkaConsumer(
  connection: KafkaConnection & {
    readonly groupId: string;
    readonly topics: readonly string[];
    readonly fromBeginning: boolean;
    readonly tuning?: ConsumerTuning;
  },
): KafkaConsumerPort {
  const tuning = connection.tuning ?? {};
  const consumer: Consumer = createKafkaClient(connection).consumer({
    groupId: connection.groupId,
    sessionTimeout: tuning.sessionTimeoutMs ?? 30_000,
    rebalanceTimeout: tuning.rebalanceTimeoutMs ?? 60_000,
    heartbeatInterval: tuning.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeInMs: tuning.maxWaitTimeMs ?? 5_000,
  });
  const topics = connection.topics.map((topic) => ({ topic }));
  const listeners: ((event: ConsumerEvent) => void)[] = [];
  const emit = (event: ConsumerEvent) => {
    for (const listener of listeners) listener(event);
  };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
    emit({ type: 'joined', assignment: payload.memberAssignment, isLeader: payload.isLeader }),
  );
  consumer.on(consumer.events.REBALANCING, () => emit({ type: 'rebalancing' }));
  consumer.on(consumer.events.CRASH, ({ payload }) => emit({ type: 'crashed', error: payload.error, restarting: payload.restart }));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    emit({ type: 'batch-end', topic: payload.topic, partition: payload.partition, highWatermark: payload.highWatermark }),
  );

  return {
    async run(handler) {
      await consumer.connect().catch((error: unknown) => {
        throw describeConnectError(error, connection);
      });
      await consumer.subscribe({ topics: [...connection.topics], fromBeginning: connection.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachMessage: ({ topic, partition, message }) =>
          handler({ topic, partition, offset: message.offset, key: message.key, value: message.value }),
      });
    },
    pause: () => consumer.pause(topics),
    resume: () => consumer.resume(topics),
    commit: (offsets) => consumer.commitOffsets(offsets.map((o) => ({ ...o }))),
    onEvent: (listener) => void listeners.push(listener),
    disconnect: () => consumer.disconnect(),
  };
}

export function createDeadLetterProducer(connection: KafkaConnection): DeadLetterProducerPort {
  const producer: Producer = createKafkaClient(connection).producer({ allowAutoTopicCreation: true });
  let connecting: Promise<void> | null = null;
  return {
    async send(topic, message) {
      connecting ??= producer.connect().catch((error: unknown) => {
        connecting = null;
        throw error;
      });
      await connecting;
      await producer.send({ topic, acks: -1, messages: [message] });
    },
    async disconnect() {
      if (connecting === null) return;
      await connecting.catch(() => undefined);
      await producer.disconnect();
    },
  };
}
