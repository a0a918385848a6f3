/**
 * The event sink's producer behind a small interface (one acks=all request per batch), and
 * kafkajs errors read as (code, permanent).
 */
import type { Producer } from 'kafkajs';
import { createKafkaClient, describeConnectError, type KafkaClientOptions } from './client.js';

export interface OutgoingMessage {
  readonly key: string;
  readonly value: string;
}

export interface TopicBatch {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
}

/** What a sink needs from a producer: one acks=all request per batch. */
export interface KafkaProducerPort {
  connect(): Promise<void>;
  sendBatch(batches: readonly TopicBatch[]): Promise<void>;
  disconnect(): Promise<void>;
}

export function createKafkaProducer(options: KafkaClientOptions): KafkaProducerPort {
  const producer: Producer = createKafkaClient(options).producer({ allowAutoTopicCreation: true, idempotent: false });
  return {
    connect: () =>
      producer.connect().catch((error: unknown) => {
        throw describeConnectError(error, options);
      }),
    async sendBatch(batches) {
      await producer.sendBatch({
        acks: -1,
        topicMessages: batches.map(({ topic, messages }) => ({
          topic,
          messages: messages.map(({ key, value }) => ({ key, value })),
        })),
      });
    },
    disconnect: () => producer.disconnect(),
  };
}

/**
 * A bounded label for an error from kafkajs: the broker's error type when the broker
 * answered (`UNKNOWN_TOPIC_OR_PARTITION`, `NOT_LEADER_FOR_PARTITION`...), else the kind of
 * client failure (`CONNECTION`, `REQUEST_TIMEOUT`, ...), looking through retry wrappers.
 */
export function kafkaErrorCode(error: unknown): string {
  const root = rootCause(error);
  const type = (root as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && type !== '') return type;
  const name = root instanceof Error ? root.name : '';
  const known: Record<string, string> = {
    KafkaJSConnectionError: 'CONNECTION',
    KafkaJSConnectionClosedError: 'CONNECTION_CLOSED',
    KafkaJSRequestTimeoutError: 'REQUEST_TIMEOUT',
    KafkaJSBrokerNotFound: 'BROKER_NOT_FOUND',
    KafkaJSMetadataNotLoaded: 'METADATA_NOT_LOADED',
    KafkaJSTopicMetadataNotLoaded: 'METADATA_NOT_LOADED',
    KafkaJSNonRetriableError: 'NON_RETRIABLE',
  };
  return known[name] ?? 'UNKNOWN';
}

/** A broker answer that no retry can change (e.g. MESSAGE_TOO_LARGE, INVALID_TOPIC_EXCEPTION). */
export function isPermanentKafkaError(error: unknown): boolean {
  const root = rootCause(error) as { name?: unknown; retriable?: unknown } | null;
  return root?.name === 'KafkaJSProtocolError' && root.retriable === false;
}

function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    const wrapper = current as { originalError?: unknown; cause?: unknown } | null;
    const next = wrapper?.originalError ?? wrapper?.cause;
    if (next === undefined || next === null) return current;
    current = next;
  }
  return current;
}
