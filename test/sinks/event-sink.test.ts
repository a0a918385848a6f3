import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PkgstreamError, eventEnvelope, eventKey, type OutboxEvent, type PackageEvent } from '../../src/domain/index.js';
import { createMetrics, silentLogger } from '../../src/runtime/index.js';
import { createKafkaEventSink } from '../../src/sinks/event-sink-kafka.js';
import { createStdoutEventSink } from '../../src/sinks/event-sink-stdout.js';
import { eventTopic, formatEvent } from '../../src/sinks/event-format.js';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.js';

const INDEX = 'https://pypi.org/simple';
const NOW = new Date('2025-01-02T03:04:05.678Z');

const events: PackageEvent[] = [
  { kind: 'package-released', indexUrl: INDEX, project: 'requests', version: '2.32.3' },
  {
    kind: 'hash-mismatch',
    indexUrl: INDEX,
    project: 'numpy',
    version: '2.0.0',
    fields: { missing_from_source: ['aa'], missing_from_database: ['bb', 'cc'] },
  },
  { kind: 'package-released', indexUrl: INDEX, project: 'flask', version: '3.0.0' },
  { kind: 'missing-package', indexUrl: INDEX, project: 'gone', version: null },
  {
    kind: 'solver-scheduled',
    indexUrl: INDEX,
    project: 'flask',
    version: '3.0.0',
    solver: 'solver-fedora-38-py311',
    fields: { job_name: 'solver-flask-3-0-0-abc', index_url: 'ignored' },
  },
];

/** The events as the outbox stores them (what the relay hands to a sink). */
const stored = (serviceVersion: string, list: readonly PackageEvent[] = events): OutboxEvent[] =>
  list.map((event, i) => ({ id: i + 1, kind: event.kind, key: eventKey(event), record: eventEnvelope(event, serviceVersion, NOW) }));

describe('event format', () => {
  it('builds the topic, the key (with the solver for solver events) and the envelope of the replaced platform', () => {
    expect(eventTopic('thoth.pkgstream', 'hash-mismatch')).toBe('thoth.pkgstream.hash-mismatch');
    expect(eventTopic('', 'package-yanked')).toBe('package-yanked');
    expect(eventKey(events[0]!)).toBe(`${INDEX}|requests|2.32.3`);
    expect(eventKey(events[3]!)).toBe(`${INDEX}|gone|`);
    // One key per solver: a consumer dropping repeats by key keeps every solver's event.
    expect(eventKey(events[4]!)).toBe(`${INDEX}|flask|3.0.0|solver-fedora-38-py311`);
    const formatted = formatEvent(stored('1.2.3')[1]!, 'p');
    expect(formatted).toEqual({
      topic: 'p.hash-mismatch',
      key: `${INDEX}|numpy|2.0.0`,
      value: {
        component_name: 'pkgstream',
        service_version: '1.2.3',
        version: 'v1',
        index_url: INDEX,
        package_name: 'numpy',
        package_version: '2.0.0',
        missing_from_source: ['aa'],
        missing_from_database: ['bb', 'cc'],
        created_at: '2025-01-02T03:04:05.678Z',
      },
    });
    // A project-level event has no package_version; fields cannot override the envelope.
    expect(formatEvent(stored('x')[3]!, 'p').value).not.toHaveProperty('package_version');
    expect(formatEvent(stored('x')[4]!, 'p').value).toMatchObject({
      index_url: INDEX,
      solver: 'solver-fedora-38-py311',
      job_name: 'solver-flask-3-0-0-abc',
    });
  });
});

describe('kafka event sink', () => {
  let broker: KafkaTestBroker;

  beforeAll(async () => {
    broker = await startKafkaBroker();
  });

  afterAll(async () => {
    await broker.stop();
  });

  it('publishes a batch to one topic per kind with keys and JSON values, acks=all', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const sink = createKafkaEventSink({
      brokers: broker.brokers,
      clientId: 'sink-test',
      topicPrefix: 'test.pkgstream',
      logger: silentLogger(),
      metrics,
    });
    await sink.publish(stored('0.1.0'));
    await sink.publish([]);
    await sink.close();

    const released = broker.records('test.pkgstream.package-released');
    expect(released.map((r) => r.key?.toString())).toEqual([`${INDEX}|requests|2.32.3`, `${INDEX}|flask|3.0.0`]);
    expect(JSON.parse(released[0]!.value!.toString())).toEqual({
      component_name: 'pkgstream',
      service_version: '0.1.0',
      version: 'v1',
      index_url: INDEX,
      package_name: 'requests',
      package_version: '2.32.3',
      created_at: NOW.toISOString(),
    });
    const mismatch = broker.records('test.pkgstream.hash-mismatch');
    expect(mismatch).toHaveLength(1);
    expect(JSON.parse(mismatch[0]!.value!.toString())).toMatchObject({
      package_name: 'numpy',
      missing_from_source: ['aa'],
      missing_from_database: ['bb', 'cc'],
    });
    const missing = broker.records('test.pkgstream.missing-package');
    expect(missing.map((r) => r.key?.toString())).toEqual([`${INDEX}|gone|`]);
    expect(broker.records('test.pkgstream.solver-scheduled')).toHaveLength(1);

    const counted = await metrics.events.get();
    expect(Object.fromEntries(counted.values.map((v) => [v.labels.kind, v.value]))).toEqual({
      'package-released': 2,
      'hash-mismatch': 1,
      'missing-package': 1,
      'solver-scheduled': 1,
    });
    await expect(sink.publish(stored('0.1.0'))).rejects.toMatchObject({ code: 'SINK_CLOSED' });
  });

  it('close waits for publishes in flight, then disconnects', async () => {
    const sink = createKafkaEventSink({
      brokers: broker.brokers,
      clientId: 'sink-close-test',
      topicPrefix: 'closing',
      logger: silentLogger(),
      metrics: createMetrics(undefined, { defaultMetrics: false }),
    });
    const publishing = sink.publish(stored('0.1.0').slice(0, 3));
    await sink.close();
    expect(broker.records('closing.package-released')).toHaveLength(2);
    expect(broker.records('closing.hash-mismatch')).toHaveLength(1);
    await publishing;
  });

  it('counts a failed produce by code and rethrows it as a retriable PkgstreamError; the next publish recovers', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const sink = createKafkaEventSink({
      brokers: broker.brokers,
      clientId: 'sink-failure-test',
      topicPrefix: 'failing',
      logger: silentLogger(),
      metrics,
      retries: 1,
    });
    await broker.stop();
    try {
      const error = await sink.publish(stored('0.1.0').slice(0, 1)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PkgstreamError);
      expect(error).toMatchObject({ code: 'KAFKA_PRODUCE_FAILED', retriable: true });
      const errors = await metrics.kafkaProduceErrors.get();
      expect(errors.values).toHaveLength(1);
      expect(errors.values[0]!.labels.code).toBe('CONNECTION');
    } finally {
      await broker.start();
    }
    await sink.publish(stored('0.1.0').slice(0, 1));
    expect(broker.records('failing.package-released')).toHaveLength(1);
    await sink.close();
  });

  it('marks a broker answer no retry can change as not retriable', async () => {
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const sink = createKafkaEventSink({
      brokers: broker.brokers,
      clientId: 'sink-permanent-test',
      topicPrefix: 'not a topic!',
      logger: silentLogger(),
      metrics,
      retries: 0,
    });
    await expect(sink.publish(stored('0.1.0').slice(0, 1))).rejects.toMatchObject({ code: 'KAFKA_PRODUCE_FAILED', retriable: false });
    expect((await metrics.kafkaProduceErrors.get()).values[0]!.labels.code).toBe('INVALID_TOPIC_EXCEPTION');
    await sink.close();
  });
});

describe('stdout event sink', () => {
  it('writes one JSON line {topic,key,value} per event, in order, resolving after the write', async () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const sink = createStdoutEventSink(stream, { topicPrefix: 'local', metrics });
    await sink.publish(stored('9.9.9').slice(0, 2));
    await sink.publish(stored('9.9.9').slice(3, 4));
    await sink.close();

    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((p) => Object.keys(p))).toEqual([
      ['topic', 'key', 'value'],
      ['topic', 'key', 'value'],
      ['topic', 'key', 'value'],
    ]);
    expect(parsed[0]).toEqual({
      topic: 'local.package-released',
      key: `${INDEX}|requests|2.32.3`,
      value: {
        component_name: 'pkgstream',
        service_version: '9.9.9',
        version: 'v1',
        index_url: INDEX,
        package_name: 'requests',
        package_version: '2.32.3',
        created_at: NOW.toISOString(),
      },
    });
    expect(parsed[1]).toMatchObject({ topic: 'local.hash-mismatch', value: { missing_from_database: ['bb', 'cc'] } });
    expect(parsed[2]).toMatchObject({ topic: 'local.missing-package', key: `${INDEX}|gone|` });
    expect((await metrics.events.get()).values.reduce((sum, v) => sum + v.value, 0)).toBe(3);
  });

  it('rejects with a retriable error when the stream fails the write', async () => {
    const stream = new PassThrough({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    stream.on('error', () => undefined);
    const sink = createStdoutEventSink(stream);
    await expect(sink.publish(stored('0.1.0').slice(0, 1))).rejects.toMatchObject({ code: 'STDOUT_WRITE_FAILED', retriable: true });
  });
});
