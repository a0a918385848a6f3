/**
 * The Kafka peer driven by a client nobody here wrote: Debian's kcat (librdkafka), and the
 * same scenarios with the project's own client (src/kafka, kafkajs), against the same
 * broker. kcat runs with `-d protocol` and its stderr must show no protocol parse failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.js';
import { kcat, type Ran } from '../support/kcat.js';
import { runsWith } from '../support/tools.js';

const USERS = { alice: 'wonder-land:1' };
const CODECS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
/** librdkafka sends a batch uncompressed when compressing does not make it smaller. */
const WORDS = ['one', 'two', 'three'].map((w) => w.repeat(60));

function expectCleanProtocol(ran: Ran): void {
  expect(ran.stderr).not.toMatch(/PROTOERR|parse failure|UNSUPPORTED/i);
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

/** The groups kafkajs's deleteGroups refused, with the broker's error name. */
async function refusal(deleting: Promise<unknown>): Promise<{ groupId: string; type: string }[]> {
  const error = await deleting.then(
    () => ({ groups: [] }),
    (e: unknown) => e as { groups?: { groupId: string; error: { type: string } }[] },
  );
  return (error.groups ?? []).map(({ groupId, error: { type } }) => ({ groupId, type }));
}

describe.skipIf(!runsWith('kcat'))('kcat (librdkafka) and kafkajs against the Kafka peer', () => {
  let broker: KafkaTestBroker;
  let secured: KafkaTestBroker;
  const brokerLog: string[] = [];
  const securedLog: string[] = [];

  beforeAll(async () => {
    broker = await startKafkaBroker({ log: (m) => brokerLog.push(m) });
    secured = await startKafkaBroker({ saslUsers: USERS, log: (m) => securedLog.push(m) });
  });

  afterAll(async () => {
    await broker?.stop();
    await secured?.stop();
  });

  it('kcat -L: the broker and a topic with its partitions, ApiVersions v3 parsed', async () => {
    broker.createTopic('meta', 3);
    const ran = await kcat(['-b', broker.brokers, '-L', '-t', 'meta', '-d', 'protocol']);
    expect(ran.status).toBe(0);
    expect(ran.stdout).toContain(`broker 0 at ${broker.brokers}`);
    expect(ran.stdout).toContain('topic "meta" with 3 partitions');
    expect(ran.stderr).toContain('Received ApiVersionResponse (v3');
    expectCleanProtocol(ran);
  });

  for (const [codec, id] of Object.entries(CODECS)) {
    it(`kcat -z ${codec}: produced, stored as sent, consumed by kcat and by kafkajs`, async () => {
      const topic = `codec-${codec}`;
      broker.createTopic(topic, 1);
      const produced = await kcat(['-b', broker.brokers, '-P', '-t', topic, '-p', '0', '-z', codec, '-d', 'protocol'], `${WORDS.join('\n')}\n`);
      expect(produced.status).toBe(0);
      expectCleanProtocol(produced);
      expect(new Set(broker.codecs(topic))).toEqual(new Set([id]));
      const consumed = await kcat(['-b', broker.brokers, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-d', 'protocol']);
      expect(lines(consumed.stdout)).toEqual(WORDS);
      expectCleanProtocol(consumed);

      const kafka = createKafkaClient({ brokers: broker.brokers, clientId: 'conformance', logger: silentLogger() });
      const consumer = kafka.consumer({ groupId: `kafkajs-${codec}`, maxWaitTimeInMs: 100 });
      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
      await expect.poll(() => seen, { timeout: 20_000 }).toEqual(WORDS);
      await consumer.disconnect();
    });
  }

  it('kcat -G: a group consumes, commits, stops, and resumes from its committed offset on rejoin', async () => {
    broker.createTopic('grouped', 1);
    await kcat(['-b', broker.brokers, '-P', '-t', 'grouped', '-p', '0'], 'm1\nm2\nm3\n');
    const base = ['-b', broker.brokers, '-X', 'auto.offset.reset=earliest', '-q', '-d', 'protocol'];
    const first = await kcat([...base, '-c', '2', '-G', 'kcat-group', 'grouped']);
    expect(lines(first.stdout)).toEqual(['m1', 'm2']);
    expectCleanProtocol(first);
    expect(broker.committedOffset('kcat-group', 'grouped', 0)).toBe(2);
    await kcat(['-b', broker.brokers, '-P', '-t', 'grouped', '-p', '0'], 'm4\n');
    const rejoined = await kcat([...base, '-e', '-G', 'kcat-group', 'grouped']);
    expect(lines(rejoined.stdout)).toEqual(['m3', 'm4']);
    expectCleanProtocol(rejoined);
    expect(broker.committedOffset('kcat-group', 'grouped', 0)).toBe(4);
    // The committed offsets came back through OffsetFetch v2+ (the group's offsets in one request).
    expect(Number(/Sent OffsetFetchRequest \(v(\d+)/.exec(rejoined.stderr)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('kcat -G with group.instance.id: a static member joins without MEMBER_ID_REQUIRED, keeps its place, resumes', async () => {
    broker.createTopic('static', 1);
    await kcat(['-b', broker.brokers, '-P', '-t', 'static', '-p', '0'], 's1\ns2\n');
    const staticMember = ['-b', broker.brokers, '-X', 'auto.offset.reset=earliest', '-X', 'group.instance.id=static-a', '-q', '-d', 'protocol'];
    const before = brokerLog.length;
    const first = await kcat([...staticMember, '-c', '1', '-G', 'kcat-static', 'static']);
    expect(lines(first.stdout)).toEqual(['s1']);
    expect(Number(/Sent JoinGroupRequest \(v(\d+)/.exec(first.stderr)?.[1])).toBeGreaterThanOrEqual(5);
    // A static member does not leave on close: it keeps its place for its session timeout.
    expect(first.stderr).not.toContain('Sent LeaveGroupRequest');
    const again = await kcat([...staticMember, '-e', '-G', 'kcat-static', 'static']);
    expect(lines(again.stdout)).toEqual(['s2']);
    expectCleanProtocol(again);
    expect(brokerLog.slice(before).filter((line) => line.includes('MEMBER_ID_REQUIRED'))).toEqual([]);
    expect(broker.committedOffset('kcat-static', 'static', 0)).toBe(2);
  });

  it('DeleteGroups (kafkajs admin): a group kcat left goes with its offsets; a group with a static member stays', async () => {
    broker.createTopic('deleted', 1);
    await kcat(['-b', broker.brokers, '-P', '-t', 'deleted', '-p', '0'], 'd1\nd2\n');
    const consume = (extra: string[] = []) =>
      kcat(['-b', broker.brokers, '-X', 'auto.offset.reset=earliest', ...extra, '-q', '-e', '-G', 'kcat-deleted', 'deleted']);
    expect(lines((await consume()).stdout)).toEqual(['d1', 'd2']);
    expect(broker.committedOffset('kcat-deleted', 'deleted', 0)).toBe(2);
    await kcat(['-b', broker.brokers, '-X', 'auto.offset.reset=earliest', '-X', 'group.instance.id=stays', '-q', '-e', '-G', 'kcat-kept', 'deleted']);

    const kafka = createKafkaClient({ brokers: broker.brokers, clientId: 'conformance', logger: silentLogger() });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await expect(admin.deleteGroups(['kcat-deleted'])).resolves.toEqual([{ groupId: 'kcat-deleted', errorCode: 0 }]);
      expect(await refusal(admin.deleteGroups(['kcat-kept']))).toEqual([{ groupId: 'kcat-kept', type: 'NON_EMPTY_GROUP' }]);
      expect(await refusal(admin.deleteGroups(['never-was']))).toEqual([{ groupId: 'never-was', type: 'GROUP_ID_NOT_FOUND' }]);
    } finally {
      await admin.disconnect();
    }
    expect(broker.committedOffset('kcat-deleted', 'deleted', 0)).toBeNull();
    // Deleted with its offsets: the group reads from the beginning again.
    expect(lines((await consume()).stdout)).toEqual(['d1', 'd2']);
  });

  it('api.version.request=false (broker.version.fallback=0.9.0): message format 0 both ways', async () => {
    broker.createTopic('legacy', 1);
    const legacy = ['-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0'];
    const produced = await kcat(['-b', broker.brokers, ...legacy, '-P', '-t', 'legacy', '-p', '0', '-z', 'gzip', '-d', 'protocol'], 'old1\nold2\n');
    expect(produced.status).toBe(0);
    expect(produced.stderr).toContain('Sent ProduceRequest (v1');
    expectCleanProtocol(produced);
    const consumed = await kcat(['-b', broker.brokers, ...legacy, '-C', '-t', 'legacy', '-p', '0', '-o', 'beginning', '-e', '-q']);
    expect(lines(consumed.stdout)).toEqual(['old1', 'old2']);
    // Stored up-converted as a v2 batch, so a current client reads it too.
    const current = await kcat(['-b', broker.brokers, '-C', '-t', 'legacy', '-p', '0', '-o', 'beginning', '-e', '-q']);
    expect(lines(current.stdout)).toEqual(['old1', 'old2']);
  });

  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    it(`SASL ${mechanism}: kcat and kafkajs authenticate; a wrong password is refused`, async () => {
      const sasl = (password: string) => [
        '-b', secured.brokers, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`,
        '-X', 'sasl.username=alice', '-X', `sasl.password=${password}`,
      ];
      const topic = `sasl-${mechanism.toLowerCase()}`;
      const produced = await kcat([...sasl(USERS.alice), '-P', '-t', topic, '-p', '0'], 'secret-hello\n');
      expect(produced.status).toBe(0);
      expect(secured.records(topic).map((r) => r.value?.toString())).toEqual(['secret-hello']);
      const refused = await kcat([...sasl('wrong'), '-L', '-m', '3']);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`);
      expect(securedLog.join('\n')).toContain('SASL authentication failed');

      const saslOption = { mechanism: mechanism.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512', username: 'alice', password: USERS.alice };
      const kafka = createKafkaClient({ brokers: secured.brokers, clientId: 'conformance', logger: silentLogger(), sasl: saslOption });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'from-kafkajs' }] });
      await producer.disconnect();
      expect(secured.records(topic).map((r) => r.value?.toString())).toEqual(['secret-hello', 'from-kafkajs']);
    });
  }

  it('logs nothing but the expected protocol errors for the plain broker', () => {
    // MEMBER_ID_REQUIRED is how a v4+ JoinGroup gets its member id (KIP-394), and the
    // DeleteGroups refusals are the test's own: not faults.
    const expected = /MEMBER_ID_REQUIRED|DeleteGroups v\d+: (NON_EMPTY_GROUP|GROUP_ID_NOT_FOUND)/;
    expect(brokerLog.filter((line) => !expected.test(line))).toEqual([]);
  });
});
