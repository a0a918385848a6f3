/**
 * Bad Kafka messages through the real kafka source against the local broker: every case
 * is produced between two good messages; the bad one must go to the dead-letter topic with
 * its code and reason (and its original value), be counted, never reach the pipeline, and
 * be committed past, while the good ones around it are delivered.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Subscription } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMetrics, type Metrics } from '../../src/runtime/metrics.js';
import { kafkaSource, type KafkaSourceMessage } from '../../src/sources/kafka-source.js';
import { startKafkaBroker, type KafkaTestBroker, type StoredRecord } from '../support/kafka-broker/index.js';
import { capturingLogger, counted, until } from './helpers.js';

/** What dispatch reads of a `package-released` event (src/commands/pipeline-factories.ts). */
const Released = z.object({ index_url: z.string().min(1), package_name: z.string().min(1), package_version: z.string().min(1) });
type Released = z.infer<typeof Released>;

const TOPIC = 'bad-input.package-released';
const DEAD = `${TOPIC}.dead-letter`;
const GROUP = 'bad-input-dispatch';
const MAX_VALUE_BYTES = 64 * 1024;

const good = (n: string) => JSON.stringify({ index_url: 'https://pypi.org/simple', package_name: `good-${n}`, package_version: '1.0' });

interface KafkaCase {
  readonly name: string;
  readonly value: string | Buffer | null;
  readonly code: 'KAFKA_BAD_JSON' | 'KAFKA_BAD_SCHEMA' | 'KAFKA_EMPTY_VALUE' | 'KAFKA_VALUE_TOO_LARGE';
  readonly reason: RegExp;
}

const CASES: readonly KafkaCase[] = [
  { name: 'plain text', value: 'package-released requests 2.0', code: 'KAFKA_BAD_JSON', reason: /^not JSON: / },
  { name: 'JSON cut short', value: '{"index_url": "https://pypi.org/simple", "package_na', code: 'KAFKA_BAD_JSON', reason: /^not JSON: / },
  { name: 'invalid UTF-8', value: Buffer.from([0xff, 0xfe, 0x7b, 0xc3, 0x28]), code: 'KAFKA_BAD_JSON', reason: /^not JSON: / },
  { name: 'HTML', value: '<script>alert(1)</script>', code: 'KAFKA_BAD_JSON', reason: /^not JSON: / },
  { name: 'empty value', value: '', code: 'KAFKA_EMPTY_VALUE', reason: /^message has no value$/ },
  { name: 'tombstone (null value)', value: null, code: 'KAFKA_EMPTY_VALUE', reason: /^message has no value$/ },
  { name: 'JSON null', value: 'null', code: 'KAFKA_BAD_SCHEMA', reason: /^does not match the schema: \(root\): / },
  { name: 'JSON array', value: JSON.stringify([JSON.parse(good('x')) as unknown]), code: 'KAFKA_BAD_SCHEMA', reason: /^does not match the schema: \(root\): / },
  { name: 'JSON string', value: JSON.stringify(good('x')), code: 'KAFKA_BAD_SCHEMA', reason: /^does not match the schema: \(root\): / },
  { name: 'package_version missing', value: JSON.stringify({ index_url: 'https://pypi.org/simple', package_name: 'x' }), code: 'KAFKA_BAD_SCHEMA', reason: /package_version: / },
  { name: 'package_name a number', value: JSON.stringify({ index_url: 'https://pypi.org/simple', package_name: 42, package_version: '1.0' }), code: 'KAFKA_BAD_SCHEMA', reason: /package_name: .*string/i },
  { name: 'index_url empty', value: JSON.stringify({ index_url: '', package_name: 'x', package_version: '1.0' }), code: 'KAFKA_BAD_SCHEMA', reason: /index_url: / },
  { name: 'every field of the wrong type', value: JSON.stringify({ index_url: {}, package_name: [], package_version: true }), code: 'KAFKA_BAD_SCHEMA', reason: /index_url: .*; package_name: .*; package_version: / },
  {
    name: 'deeply nested JSON (30 000 levels)',
    value: `${'['.repeat(30_000)}${']'.repeat(30_000)}`,
    code: 'KAFKA_BAD_SCHEMA',
    reason: /^does not match the schema: \(root\): /,
  },
  { name: 'value over the cap (100 KB)', value: JSON.stringify({ index_url: 'x', package_name: 'y'.repeat(100_000), package_version: '1' }), code: 'KAFKA_VALUE_TOO_LARGE', reason: /^value of 100\d\d\d bytes exceeds 65536$/ },
  { name: 'value one byte over the cap', value: Buffer.alloc(MAX_VALUE_BYTES + 1, 0x20), code: 'KAFKA_VALUE_TOO_LARGE', reason: /^value of 65537 bytes exceeds 65536$/ },
];

let broker: KafkaTestBroker;
let producer: Producer;
let metrics: Metrics;
let subscription: Subscription;
const received: KafkaSourceMessage<Released>[] = [];
let deadLetters: StoredRecord[] = [];
let logs: string[];

const keyOf = (record: { key: Buffer | string | null }) => (Buffer.isBuffer(record.key) ? record.key.toString('utf8') : record.key);

beforeAll(async () => {
  broker = await startKafkaBroker();
  broker.createTopic(TOPIC, 1);
  broker.createTopic(DEAD, 1);
  producer = new Kafka({ clientId: 'bad-input', brokers: [broker.brokers], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    messages: CASES.flatMap((c, i) => [
      { key: `${i}:before`, value: good(`${i}-before`) },
      { key: `${i}:bad`, value: c.value },
      { key: `${i}:after`, value: good(`${i}-after`) },
    ]),
  });
  metrics = createMetrics(undefined, { defaultMetrics: false });
  const captured = capturingLogger();
  logs = captured.lines;
  const source = kafkaSource({
    brokers: broker.brokers,
    groupId: GROUP,
    topics: [TOPIC],
    schema: Released,
    deadLetterTopic: DEAD,
    logger: captured.logger,
    metrics,
    highWater: 8,
    lowWater: 4,
    maxValueBytes: MAX_VALUE_BYTES,
    tuning: { sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 3_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 200 },
  });
  subscription = source.subscribe({
    next: (message) => {
      received.push(message);
      // The pipeline's effects for a good message are durable at once here.
      void message.ack();
    },
  });
  const total = CASES.length * 3;
  await until('every message consumed and committed', () => broker.committedOffset(GROUP, TOPIC, 0) === total, 45_000);
  deadLetters = broker.records(DEAD);
}, 60_000);

afterAll(async () => {
  subscription?.unsubscribe();
  await producer?.disconnect();
  await new Promise((resolve) => setTimeout(resolve, 200));
  await broker?.stop();
});

describe('kafka: bad messages between good ones', () => {
  it.each(CASES.map((c, i) => ({ ...c, i })))('$name', async (c) => {
    // Dead-lettered once, with its code, its reason and its original value.
    const mine = deadLetters.filter((record) => keyOf(record) === `${c.i}:bad`);
    expect(mine).toHaveLength(1);
    const letter = JSON.parse(mine[0]?.value?.toString('utf8') ?? 'null') as Record<string, unknown>;
    expect(letter).toMatchObject({ code: c.code, topic: TOPIC, partition: 0, key: `${c.i}:bad` });
    expect(String(letter.reason)).toMatch(c.reason);
    expect(String(mine[0]?.headers['pkgstream-dead-letter-code'])).toBe(c.code);
    const original = c.value === null ? Buffer.alloc(0) : Buffer.from(c.value);
    const kept = original.subarray(0, MAX_VALUE_BYTES);
    if (typeof letter.value === 'string') expect(letter.value).toBe(kept.toString('utf8'));
    else expect(Buffer.from(String(letter.value_base64), 'base64').equals(kept)).toBe(true);
    if (original.length > MAX_VALUE_BYTES) expect(letter.value_truncated_from).toBe(original.length);
    // A log line names the message and the reason.
    expect(logs.filter((line) => line.includes('kafka message dead-lettered') && line.includes(`"offset":"${c.i * 3 + 1}"`) && line.includes(c.code))).toHaveLength(1);
    // Counted (every case with this code).
    const withCode = CASES.filter((other) => other.code === c.code).length;
    expect(await counted(metrics.kafkaDeadLetters, { topic: TOPIC, code: c.code })).toBe(withCode);
    expect(await counted(metrics.badInput, { source: 'kafka', code: c.code })).toBe(withCode);
    // Never reached the pipeline; the good ones around it did, with their values.
    const keys = received.map((message) => message.key);
    expect(keys).not.toContain(`${c.i}:bad`);
    expect(received.find((message) => message.key === `${c.i}:before`)?.value.package_name).toBe(`good-${c.i}-before`);
    expect(received.find((message) => message.key === `${c.i}:after`)?.value.package_name).toBe(`good-${c.i}-after`);
  });

  it('the consumer went on past every bad message: all good ones delivered once, the offset committed to the end', () => {
    expect(received.map((message) => message.key)).toEqual(CASES.flatMap((_, i) => [`${i}:before`, `${i}:after`]));
    expect(deadLetters).toHaveLength(CASES.length);
    expect(broker.committedOffset(GROUP, TOPIC, 0)).toBe(broker.endOffset(TOPIC, 0));
  });
});
