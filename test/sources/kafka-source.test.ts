import { Kafka, logLevel, type Producer } from 'kafkajs';
import { filter, firstValueFrom, type Subscription } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMetrics, silentLogger, type Metrics } from '../../src/runtime/index.js';
import { kafkaSource, type KafkaSource, type KafkaSourceMessage, type KafkaSourceStatus } from '../../src/sources/kafka-source.js';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.js';

const Release = z.object({ package_name: z.string(), package_version: z.string() });
type Release = z.infer<typeof Release>;

const TUNING = { sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 3_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 200 };

let broker: KafkaTestBroker;
let producer: Producer;
const subscriptions: Subscription[] = [];

function release(n: number): string {
  return JSON.stringify({ package_name: `p${n}`, package_version: `${n}.0` });
}

function source(groupId: string, topic: string, metrics: Metrics, extra: Partial<{ highWater: number; lowWater: number; maxValueBytes: number }> = {}): KafkaSource<Release> {
  return kafkaSource({
    brokers: broker.brokers,
    groupId,
    topics: [topic],
    schema: Release,
    deadLetterTopic: `${topic}.dead-letter`,
    logger: silentLogger(),
    metrics,
    highWater: extra.highWater ?? 100,
    lowWater: extra.lowWater ?? 50,
    ...(extra.maxValueBytes === undefined ? {} : { maxValueBytes: extra.maxValueBytes }),
    tuning: TUNING,
  });
}

function collect(src: KafkaSource<Release>): KafkaSourceMessage<Release>[] {
  const received: KafkaSourceMessage<Release>[] = [];
  subscriptions.push(src.subscribe({ next: (m) => received.push(m) }));
  return received;
}

async function stop(src: KafkaSource<Release>, subscription: Subscription): Promise<void> {
  const stopped = firstValueFrom(src.status$.pipe(filter((s) => s.state === 'stopped')));
  subscription.unsubscribe();
  await stopped;
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function currentStatus(src: KafkaSource<Release>): KafkaSourceStatus {
  let status: KafkaSourceStatus | undefined;
  src.status$.subscribe((s) => (status = s)).unsubscribe();
  return status!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gauge(metrics: Metrics, name: 'kafkaPaused'): Promise<number> {
  return (await metrics[name].get()).values[0]?.value ?? 0;
}

beforeAll(async () => {
  broker = await startKafkaBroker();
  producer = new Kafka({ clientId: 'source-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
});

afterEach(() => {
  for (const s of subscriptions.splice(0)) s.unsubscribe();
});

afterAll(async () => {
  await producer.disconnect();
  await sleep(100);
  await broker.stop();
});

describe('kafka source', () => {
  it('commits only the acked prefix; a restarted member gets every unacked message again', async () => {
    const topic = 'src-resume';
    broker.createTopic(topic, 1);
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, n) => ({ key: `k${n}`, value: release(n) })) });
    const metrics = createMetrics(undefined, { defaultMetrics: false });

    const first = source('resume', topic, metrics);
    const received = collect(first);
    const subscription = subscriptions[subscriptions.length - 1]!;
    await until(() => received.length === 10);
    expect(first.isHealthy()).toBe(true);
    expect(received.map((m) => m.offset)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(received[2]).toMatchObject({ topic, partition: 0, key: 'k2', value: { package_name: 'p2', package_version: '2.0' } });

    // 0, 1, 2 and 4 acked; 3 not: the commit stops at 3 and the ack of 4 waits.
    await Promise.all([received[0]!.ack(), received[2]!.ack(), received[1]!.ack()]);
    let fourDone = false;
    void received[4]!.ack().then(() => (fourDone = true));
    await sleep(200);
    expect(broker.committedOffset('resume', topic, 0)).toBe(3);
    expect(fourDone).toBe(false);
    await stop(first, subscription);
    expect(first.isHealthy()).toBe(false);
    expect(broker.committedOffset('resume', topic, 0)).toBe(3);

    const second = source('resume', topic, metrics);
    const again = collect(second);
    await until(() => again.length === 7);
    expect(again.map((m) => m.offset)).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    // Acked out of order: the commit follows the contiguous prefix to the end.
    await Promise.all([...again].reverse().map((m) => m.ack()));
    expect(broker.committedOffset('resume', topic, 0)).toBe(10);
    const lag = (await metrics.kafkaConsumerLag.get()).values.find((v) => v.labels.topic === topic);
    expect(lag?.value).toBe(0);
  });

  it('dead-letters non-JSON, wrong-schema, oversized and empty messages with the reason and original value, then acks them', async () => {
    const topic = 'src-bad';
    broker.createTopic(topic, 1);
    const oversized = JSON.stringify({ package_name: 'y'.repeat(300), package_version: '1' });
    await producer.send({
      topic,
      messages: [
        { key: 'a', value: 'not json {' },
        { key: 'b', value: JSON.stringify({ package_name: 'x' }) },
        { key: 'c', value: release(1) },
        { key: 'd', value: oversized },
        { key: 'e', value: null },
      ],
    });
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const src = source('bad', topic, metrics, { maxValueBytes: 200 });
    const received = collect(src);
    await until(() => received.length === 1 && broker.records(`${topic}.dead-letter`).length === 4);
    expect(received[0]!.value).toEqual({ package_name: 'p1', package_version: '1.0' });
    await received[0]!.ack();
    await until(() => broker.committedOffset('bad', topic, 0) === 5);

    const dead = broker.records(`${topic}.dead-letter`);
    expect(dead.map((r) => r.key?.toString())).toEqual(['a', 'b', 'd', 'e']);
    const bodies = dead.map((r) => JSON.parse(r.value!.toString()) as Record<string, unknown>);
    expect(bodies.map((b) => b.code)).toEqual(['KAFKA_BAD_JSON', 'KAFKA_BAD_SCHEMA', 'KAFKA_VALUE_TOO_LARGE', 'KAFKA_EMPTY_VALUE']);
    expect(bodies[0]).toMatchObject({ topic, partition: 0, offset: '0', value: 'not json {' });
    expect(bodies[1]).toMatchObject({ offset: '1', value: '{"package_name":"x"}' });
    expect(bodies[1]!.reason).toContain('package_version');
    expect(bodies[2]).toMatchObject({ offset: '3', value_truncated_from: oversized.length, value: oversized.slice(0, 200) });
    expect(dead[0]!.headers['pkgstream-dead-letter-code']?.toString()).toBe('KAFKA_BAD_JSON');

    const deadLetters = (await metrics.kafkaDeadLetters.get()).values;
    expect(Object.fromEntries(deadLetters.map((v) => [v.labels.code, v.value]))).toEqual({
      KAFKA_BAD_JSON: 1,
      KAFKA_BAD_SCHEMA: 1,
      KAFKA_VALUE_TOO_LARGE: 1,
      KAFKA_EMPTY_VALUE: 1,
    });
    expect((await metrics.badInput.get()).values.reduce((sum, v) => sum + v.value, 0)).toBe(4);
  });

  it('pauses the consumer while more than highWater messages are unacked and resumes at lowWater', async () => {
    const topic = 'src-pause';
    broker.createTopic(topic, 1);
    const total = 60;
    await producer.send({ topic, messages: Array.from({ length: total }, (_, n) => ({ value: release(n) })) });
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const src = source('pause', topic, metrics, { highWater: 5, lowWater: 2 });
    const statuses: boolean[] = [];
    subscriptions.push(src.status$.subscribe((s) => statuses.push(s.paused)));
    const received = collect(src);

    await until(() => received.length >= 6);
    await sleep(500); // fetches keep coming back empty-handed while paused
    expect(received).toHaveLength(6);
    expect(await gauge(metrics, 'kafkaPaused')).toBe(1);

    // Down to 3 in flight: still paused. Down to 2: resumed.
    await Promise.all(received.slice(0, 3).map((m) => m.ack()));
    await sleep(300);
    expect(received).toHaveLength(6);
    await received[3]!.ack();
    await until(() => received.length > 6);
    // Paused at 6 in flight, resumed at 2 (and paused again once 4 more arrived).
    const transitions = statuses.filter((p, i) => i === 0 || p !== statuses[i - 1]);
    expect(transitions.slice(0, 3)).toEqual([false, true, false]);

    // Ack everything as it comes: all arrive, never more than highWater + 1 unacked.
    let maxInFlight = 0;
    const acked = new Set<string>(received.slice(0, 4).map((m) => m.offset));
    while (acked.size < total) {
      await until(() => received.length > acked.size);
      maxInFlight = Math.max(maxInFlight, received.length - acked.size);
      for (const m of received) {
        if (!acked.has(m.offset)) {
          acked.add(m.offset);
          void m.ack();
        }
      }
    }
    expect(maxInFlight).toBeLessThanOrEqual(6);
    expect(new Set(received.map((m) => m.offset)).size).toBe(total);
    await until(() => broker.committedOffset('pause', topic, 0) === total);
    await until(() => statuses[statuses.length - 1] === false);
    expect(await gauge(metrics, 'kafkaPaused')).toBe(0);
  });

  it('shows rebalances in status$, splits partitions between members, and comes back after a broker restart', async () => {
    const topic = 'src-rebalance';
    broker.createTopic(topic, 2);
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const a = source('rebalance', topic, metrics);
    const b = source('rebalance', topic, metrics);
    const fromA = collect(a);
    await until(() => a.isHealthy());
    let statusA = await firstValueFrom(a.status$);
    expect(statusA.assignment).toEqual({ [topic]: [0, 1] });

    const fromB = collect(b);
    await until(() => {
      statusA = currentStatus(a);
      return statusA.state === 'running' && statusA.assignment[topic]?.length === 1 && b.isHealthy();
    });
    expect(statusA.rebalances).toBeGreaterThanOrEqual(2);
    expect([...statusA.assignment[topic]!, ...currentStatus(b).assignment[topic]!].sort()).toEqual([0, 1]);

    const send = (from: number, count: number) =>
      producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ partition: (from + i) % 2, value: release(from + i) })) });
    const ackAll = async () => Promise.all([...fromA, ...fromB].map((m) => m.ack()));
    await send(0, 10);
    await until(() => fromA.length === 5 && fromB.length === 5);
    await ackAll();
    expect([broker.committedOffset('rebalance', topic, 0), broker.committedOffset('rebalance', topic, 1)]).toEqual([5, 5]);

    await broker.stop();
    await sleep(300);
    await broker.start();
    await send(10, 4);
    // Both members rejoin one after the other: messages delivered between the two
    // rebalances are delivered again (at-least-once), so keep acking what arrives.
    await until(() => {
      void ackAll();
      return broker.committedOffset('rebalance', topic, 0) === 7 && broker.committedOffset('rebalance', topic, 1) === 7;
    });
    const values = [...fromA, ...fromB].map((m) => m.value.package_name);
    expect(new Set(values).size).toBe(14);
    expect(a.isHealthy() && b.isHealthy()).toBe(true);
  });

  it('rejects a lowWater that is not below highWater', () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    expect(() => source('x', 'x', metrics, { highWater: 5, lowWater: 5 })).toThrow(/lowWater/);
  });
});
