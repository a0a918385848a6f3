/**
 * A Kafka consumer-group source: an Observable of parsed messages, each acknowledged by the
 * pipeline once its effects are durable. At-least-once:
 *
 * - offsets are committed only after ack, in order per partition (the contiguous acked
 *   prefix, offset + 1); autoCommit is off (offset-tracker.ts);
 * - backpressure: the consumer is paused while more than `highWater` messages are in flight
 *   (emitted, not acked) and resumed at or below `lowWater` (consumer-pause.ts);
 * - a message that cannot be read (not JSON, not the schema, larger than `maxValueBytes`,
 *   empty) goes to the dead-letter topic with the reason and its original value, and is
 *   then acked: it never stops or crashes the consumer (kafka-record.ts);
 * - rebalances and crashes are logged and visible in `status$` / `isHealthy()`.
 *
 * One subscription is one group member (kafka-group-member.ts); unsubscribing waits for
 * requested commits, then disconnects the consumer and the dead-letter producer.
 */
import { Observable } from 'rxjs';
import { requireWaterMarks } from './consumer-pause.js';
import { KafkaGroupMember, type KafkaSourceMessage, type KafkaSourceOptions } from './kafka-group-member.js';
import { KafkaSourceStatusBook, type KafkaSourceStatus } from './kafka-source-status.js';

export type { KafkaSourceMessage, KafkaSourceOptions } from './kafka-group-member.js';
export type { KafkaSourceState, KafkaSourceStatus } from './kafka-source-status.js';

export type KafkaSource<T> = Observable<KafkaSourceMessage<T>> & {
  readonly status$: Observable<KafkaSourceStatus>;
  /** For readiness: true while the member is in a group (running or rebalancing). */
  isHealthy(): boolean;
};

export function kafkaSource<T>(options: KafkaSourceOptions<T>): KafkaSource<T> {
  requireWaterMarks('kafka source', options.highWater, options.lowWater);
  const status = new KafkaSourceStatusBook();
  const log = options.logger.child({ source: 'kafka', groupId: options.groupId });
  // consumer records -> offsets, backpressure, reading -> the subscriber or the dead-letter topic
  const source = new Observable<KafkaSourceMessage<T>>((subscriber) => {
    const member = new KafkaGroupMember(options, status, log, subscriber);
    member.start();
    return () => member.stop();
  });
  return Object.assign(source, { status$: status.changes, isHealthy: () => status.isHealthy() });
}
