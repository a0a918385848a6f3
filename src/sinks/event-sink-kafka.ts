/**
 * EventSink on Kafka: one acks=all produce request per publish of outbox rows, grouped by
 * topic, keyed by the row's key so that consumers can drop repeats. A failed
 * produce is counted by its error code and rethrown as a PkgstreamError the retry operator
 * reads (retriable, unless the broker's answer is one no retry can change).
 */
import { PkgstreamError, type EventSink, type OutboxEvent } from '../domain/index.js';
import type { Logger, Metrics } from '../runtime/index.js';
import { formatEventsByTopic } from './event-format.js';
import {
  createKafkaProducer,
  isPermanentKafkaError,
  kafkaErrorCode,
  type KafkaProducerPort,
} from '../kafka/producer.js';
import type { KafkaSecurity } from '../kafka/security.js';

export interface KafkaEventSinkOptions extends KafkaSecurity {
  readonly brokers: string | readonly string[];
  readonly clientId: string;
  readonly topicPrefix: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** kafkajs retries of one request before publish rejects (default 5). */
  readonly retries?: number;
}

export function createKafkaEventSink(options: KafkaEventSinkOptions): EventSink {
  const { logger, metrics } = options;
  const producer: KafkaProducerPort = createKafkaProducer(options);
  const inFlight = new Set<Promise<void>>();
  let connecting: Promise<void> | null = null;
  let closed = false;

  const connect = (): Promise<void> => {
    connecting ??= producer.connect().catch((error: unknown) => {
      connecting = null; // the next publish tries again
      throw error;
    });
    return connecting;
  };

  const send = async (events: readonly OutboxEvent[]): Promise<void> => {
    const byTopic = formatEventsByTopic(events, options.topicPrefix);
    try {
      await connect();
      await producer.sendBatch(
        [...byTopic].map(([topic, formatted]) => ({
          topic,
          messages: formatted.map(({ key, value }) => ({ key, value: JSON.stringify(value) })),
        })),
      );
    } catch (error) {
      const code = kafkaErrorCode(error);
      metrics.kafkaProduceErrors.inc({ code });
      const retriable = !isPermanentKafkaError(error);
      logger.warn({ err: error, code, events: events.length, retriable }, 'kafka produce failed');
      throw new PkgstreamError('KAFKA_PRODUCE_FAILED', `kafka produce of ${events.length} events failed: ${code}`, {
        retriable,
        cause: error,
      });
    }
    for (const event of events) metrics.events.inc({ kind: event.kind });
  };

  return {
    publish(events) {
      if (closed) return Promise.reject(new PkgstreamError('SINK_CLOSED', 'the kafka event sink is closed'));
      if (events.length === 0) return Promise.resolve();
      const sending = send(events);
      const tracked = sending.catch(() => undefined).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return sending;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(inFlight); // every acknowledged publish is on the broker
      if (connecting) {
        await connecting.catch(() => undefined);
        await producer.disconnect();
      }
    },
  };
}
