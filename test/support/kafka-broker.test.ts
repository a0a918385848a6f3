/**
 * The in-process Kafka broker, driven by unmodified kafkajs over real sockets.
 */
import { Kafka, logLevel, CompressionTypes, type Consumer, type Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerCompressionCodecs } from '../../src/kafka/codecs.js';
import { startKafkaBroker, type KafkaTestBroker } from './kafka-broker/index.js';

const CONSUMER_TIMING = {
  sessionTimeout: 6_000,
  rebalanceTimeout: 3_000,
  heartbeatInterval: 300,
  maxWaitTimeInMs: 200,
} as const;

let broker: KafkaTestBroker;
let kafka: Kafka;
const cleanups: (() => Promise<void>)[] = [];

function client(clientId = 'broker-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.brokers],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 8 },
  });
}

async function connectedProducer(k = kafka): Promise<Producer> {
  const producer = k.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return producer;
}

function consumer(groupId: string, k = kafka): Consumer {
  const c = k.consumer({ groupId, ...CONSUMER_TIMING });
  cleanups.push(() => c.disconnect());
  return c;
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  registerCompressionCodecs();
  broker = await startKafkaBroker();
  kafka = client();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  await broker.stop();
});

describe('kafka test broker', () => {
  it('advertises 127.0.0.1 and its port, creates topics through the admin, auto-creates on metadata', async () => {
    expect(broker.brokers).toBe(`127.0.0.1:${broker.port}`);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    expect(await admin.createTopics({ topics: [{ topic: 'admin-made', numPartitions: 4 }] })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic: 'admin-made', numPartitions: 4 }] })).toBe(false);
    // The admin asks with allow_auto_topic_creation=false, a default producer with true.
    await expect(admin.fetchTopicMetadata({ topics: ['auto-made'] })).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const autoProducer = kafka.producer();
    await autoProducer.connect();
    cleanups.push(() => autoProducer.disconnect());
    await autoProducer.send({ topic: 'auto-made', messages: [{ value: 'first' }] });
    const meta = await admin.fetchTopicMetadata({ topics: ['admin-made', 'auto-made'] });
    const partitions = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
    expect(partitions).toEqual({ 'admin-made': 4, 'auto-made': 3 });
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(['admin-made', 'auto-made']));
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: broker.port }]);
  });

  it('round-trips 10,000 keyed messages over 3 partitions through a consumer group, none lost or duplicated', async () => {
    const topic = 'round-trip';
    broker.createTopic(topic, 3);
    const total = 10_000;
    const producer = await connectedProducer();
    const started = Date.now();
    for (let i = 0; i < total; i += 1_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 1_000 }, (_, j) => ({
          key: `key-${(i + j) % 500}`,
          value: JSON.stringify({ n: i + j }),
          headers: { n: String(i + j) },
        })),
      });
    }
    const produced = Date.now() - started;

    const seen = new Map<number, { key: string; partition: number }>();
    let duplicates = 0;
    const c = consumer('round-trip-group');
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachMessage: async ({ message, partition }) => {
        const n = (JSON.parse(message.value!.toString()) as { n: number }).n;
        expect(message.headers?.n?.toString()).toBe(String(n));
        if (seen.has(n)) duplicates += 1;
        seen.set(n, { key: message.key!.toString(), partition });
        return Promise.resolve();
      },
    });
    await until(() => seen.size >= total);
    const consumed = Date.now() - started - produced;
    console.log(`kafka broker round-trip: produced ${total} in ${produced} ms, consumed ${seen.size} in ${consumed} ms`);

    expect(seen.size).toBe(total);
    expect(duplicates).toBe(0);
    // One key, one partition; all three partitions used.
    const partitionOfKey = new Map<string, number>();
    for (const { key, partition } of seen.values()) {
      expect(partitionOfKey.get(key) ?? partition).toBe(partition);
      partitionOfKey.set(key, partition);
    }
    expect(new Set(partitionOfKey.values())).toEqual(new Set([0, 1, 2]));
    expect(broker.records(topic)).toHaveLength(total);
    expect([0, 1, 2].reduce((sum, p) => sum + broker.endOffset(topic, p), 0)).toBe(total);
  });

  it('splits the partitions between two consumers of one group, and gives them back when one leaves', async () => {
    const topic = 'split';
    broker.createTopic(topic, 4);
    const assignments = new Map<string, number[]>();
    const received = new Map<string, Set<number>>();
    const start = async (name: string) => {
      const c = consumer('split-group');
      c.on(c.events.GROUP_JOIN, (event) => {
        assignments.set(name, event.payload.memberAssignment[topic] ?? []);
      });
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachMessage: ({ message }) => {
          const set = received.get(name) ?? new Set<number>();
          set.add(Number(message.value!.toString()));
          received.set(name, set);
          return Promise.resolve();
        },
      });
      return c;
    };
    const first = await start('first');
    await until(() => (assignments.get('first') ?? []).length === 4);
    await start('second');
    await until(
      () =>
        (assignments.get('first') ?? []).length + (assignments.get('second') ?? []).length === 4 &&
        (assignments.get('second') ?? []).length > 0,
    );
    const a = assignments.get('first')!;
    const b = assignments.get('second')!;
    expect(a.length).toBe(2);
    expect(b.length).toBe(2);
    expect([...a, ...b].sort()).toEqual([0, 1, 2, 3]);

    const producer = await connectedProducer();
    await producer.send({
      topic,
      messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, value: String(i) })),
    });
    await until(() => (received.get('first')?.size ?? 0) + (received.get('second')?.size ?? 0) === 40);
    expect(received.get('first')!.size).toBe(20);
    expect(received.get('second')!.size).toBe(20);

    await first.disconnect(); // LeaveGroup: the second member takes every partition
    await until(() => (assignments.get('second') ?? []).length === 4);

    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const { groups } = await admin.describeGroups(['split-group']);
    expect(groups[0]).toMatchObject({ groupId: 'split-group', state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
    expect(groups[0]!.members).toHaveLength(1);
    expect((await admin.listGroups()).groups).toContainEqual({ groupId: 'split-group', protocolType: 'consumer' });
  });

  it('drops a member that does not rejoin within the rebalance timeout (join barrier), keeping the others', async () => {
    const topic = 'barrier';
    broker.createTopic(topic, 2);
    const timing = { sessionTimeout: 3_000, rebalanceTimeout: 1_000, heartbeatInterval: 200, maxWaitTimeInMs: 100 };
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const assignments = new Map<string, number[]>();
    const start = async (name: string, eachMessage: () => Promise<void>) => {
      const c = kafka.consumer({ groupId: 'barrier-group', ...timing });
      cleanups.push(async () => {
        release();
        await c.disconnect();
      });
      c.on(c.events.GROUP_JOIN, (event) => assignments.set(name, event.payload.memberAssignment[topic] ?? []));
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage });
    };
    // The first member hangs in its handler: no heartbeat, no rejoin.
    await start('stuck', () => stuck);
    await until(() => assignments.get('stuck')?.length === 2);
    const producer = await connectedProducer();
    await producer.send({ topic, messages: [{ partition: 0, value: 'x' }, { partition: 1, value: 'y' }] });
    await new Promise((r) => setTimeout(r, 300));

    const started = Date.now();
    await start('live', () => Promise.resolve());
    await until(() => assignments.get('live')?.length === 2);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(5_000);
  });

  it('restarts a consumer from its committed offset', async () => {
    const topic = 'resume';
    broker.createTopic(topic, 1);
    const producer = await connectedProducer();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: String(i) })) });

    const firstRun: number[] = [];
    const c1 = consumer('resume-group');
    await c1.connect();
    await c1.subscribe({ topic, fromBeginning: true });
    await c1.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        const n = Number(message.value!.toString());
        if (n >= 6) return; // not processed: not committed
        firstRun.push(n);
        await c1.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      },
    });
    await until(() => firstRun.length === 6 && broker.committedOffset('resume-group', topic, 0) === 6);
    await c1.disconnect();

    await producer.send({ topic, messages: [{ value: '10' }, { value: '11' }] });
    const secondRun: number[] = [];
    const c2 = consumer('resume-group');
    await c2.connect();
    await c2.subscribe({ topic, fromBeginning: true });
    await c2.run({ eachMessage: ({ message }) => Promise.resolve(void secondRun.push(Number(message.value!.toString()))) });
    await until(() => secondRun.length >= 6);
    await new Promise((r) => setTimeout(r, 300));
    expect(firstRun).toEqual([0, 1, 2, 3, 4, 5]);
    expect(secondRun).toEqual([6, 7, 8, 9, 10, 11]);

    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await until(() => broker.committedOffset('resume-group', topic, 0) === 12);
    expect(await admin.fetchOffsets({ groupId: 'resume-group', topics: [topic] })).toEqual([
      { topic, partitions: [{ partition: 0, offset: '12', metadata: null }] },
    ]);
  });

  it('keeps the log and offsets across a stop/start, and a producer with retries survives it', async () => {
    const topic = 'restart';
    broker.createTopic(topic, 2);
    const producer = await connectedProducer(client('restart-producer'));
    await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: 'before' }] });

    await broker.stop();
    const sending = producer.send({ topic, acks: -1, messages: [{ key: 'a', value: 'during' }] });
    await new Promise((r) => setTimeout(r, 400));
    await broker.start();
    await sending;
    await producer.send({ topic, messages: [{ key: 'a', value: 'after' }] });

    expect(broker.records(topic).map((r) => r.value?.toString())).toEqual(['before', 'during', 'after']);
    expect(broker.brokers).toBe(`127.0.0.1:${broker.port}`);
  });

  it('holds an empty fetch until data arrives or max wait passes', async () => {
    const topic = 'held-fetch';
    broker.createTopic(topic, 1);
    const maxWaitMs = 3_000;
    const c = kafka.consumer({ groupId: 'held-fetch-group', ...CONSUMER_TIMING, maxWaitTimeInMs: maxWaitMs });
    cleanups.push(() => c.disconnect());
    let fetches = 0;
    let joined = false;
    let receivedAt = 0;
    let fetchStartedAt = 0;
    c.on(c.events.FETCH, () => void (fetches += 1));
    // The first fetch started after a reset only: the one the message must wake.
    c.on(c.events.FETCH_START, () => void (fetchStartedAt ||= Date.now()));
    c.on(c.events.GROUP_JOIN, () => void (joined = true));
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: () => Promise.resolve(void (receivedAt = Date.now())) });
    await until(() => joined);
    await new Promise((r) => setTimeout(r, 300));
    const before = fetches;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(fetches - before).toBeLessThanOrEqual(3); // no busy polling: ~1 fetch per max wait

    const producer = await connectedProducer();
    fetchStartedAt = 0;
    await until(() => fetchStartedAt > 0);
    await new Promise((r) => setTimeout(r, 200)); // that fetch is being held now
    await producer.send({ topic, messages: [{ value: 'wake up' }] });
    await until(() => receivedAt > 0);
    // Answered on append, not at the timeout: held from its start, the fetch would only have
    // come back after the max wait. (Measured from the fetch's start, not from the send, so
    // that a slow machine's delays count against the whole max wait, not a fraction of it.)
    expect(receivedAt - fetchStartedAt).toBeLessThan(maxWaitMs);
  });

  it('serves an idempotent producer (InitProducerId)', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    broker.createTopic('idempotent', 1);
    await producer.send({ topic: 'idempotent', acks: -1, messages: [{ key: 'k', value: 'once' }] });
    expect(broker.records('idempotent').map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([['k', 'once']]);
  });

  it('stores gzip, snappy and lz4 batches as sent, and refuses a batch that is not what its codec says (CORRUPT_MESSAGE)', async () => {
    const producer = await connectedProducer();
    broker.createTopic('compressed', 1);
    for (const codec of [CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4]) {
      await producer.send({ topic: 'compressed', compression: codec, messages: [{ value: `zipped-${codec}` }] });
    }
    expect(broker.records('compressed').map((r) => r.value?.toString())).toEqual(['zipped-1', 'zipped-2', 'zipped-3']);
    expect(broker.codecs('compressed')).toEqual([1, 2, 3]);

    // A pass-through "snappy" codec on the client: the bytes are not snappy, so the broker refuses them.
    const codecs = kafkajs.CompressionCodecs as Record<number, () => unknown>;
    const snappy = codecs[CompressionTypes.Snappy]!;
    codecs[CompressionTypes.Snappy] = () => ({
      compress: (encoder: { buffer: Buffer }) => Promise.resolve(encoder.buffer),
      decompress: (buffer: Buffer) => Promise.resolve(buffer),
    });
    try {
      await expect(
        producer.send({ topic: 'compressed', compression: CompressionTypes.Snappy, messages: [{ value: 'x' }] }),
      ).rejects.toMatchObject({ cause: { type: 'CORRUPT_MESSAGE' } });
    } finally {
      codecs[CompressionTypes.Snappy] = snappy;
    }
    expect(broker.records('compressed')).toHaveLength(3);
  });
});
