/**
 * An in-process, single-node Kafka broker on node:net that speaks the wire protocol as a
 * Kafka 3.x broker does for the APIs it implements (every version, flexible ones included),
 * for unmodified kafkajs 2.x and librdkafka clients: producers, consumer groups, admins,
 * SASL (PLAIN, SCRAM-SHA-256/512) and TLS. The log and committed offsets survive
 * stop()/start(), so tests can restart "the broker" under a client.
 */
import type { AddressInfo } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { BrokerContext } from './apis/api.js';
import { GroupCoordinator } from './groups.js';
import { LogStore, type StoredRecord } from './log.js';
import { OffsetStore } from './offsets.js';
import { isLegalTopicName } from './protocol.js';
import { SaslUsers } from './sasl.js';
import { listen, type BrokerLog, type RunningServer } from './server.js';

export type { StoredRecord } from './log.js';

export interface KafkaBrokerOptions {
  /** 0 or absent: a free port, kept across restarts. */
  readonly port?: number;
  /** Partitions of an auto-created topic (metadata or produce for an unknown topic). Default 3. */
  readonly defaultPartitions?: number;
  /** Default true. */
  readonly autoCreateTopics?: boolean;
  /** Protocol trouble (unsupported API or version, undecodable request, error codes); silent by default. */
  readonly log?: BrokerLog;
  /** user → password: SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) is required when given. */
  readonly saslUsers?: Readonly<Record<string, string>>;
  /** Key and certificate (PEM): the listener speaks TLS. */
  readonly tls?: Pick<TlsOptions, 'key' | 'cert' | 'ca' | 'requestCert'>;
}

export interface KafkaTestBroker {
  /** `127.0.0.1:<port>`, for kafkajs's `brokers`. */
  readonly brokers: string;
  readonly port: number;
  /** Closes the listener and every connection; the log and committed offsets stay. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Every record of a topic, partition by partition, in offset order. */
  records(topic: string): StoredRecord[];
  /** The compression codec of every stored batch of a topic (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
  codecs(topic: string): number[];
  createTopic(name: string, partitions: number): void;
  /** The offset a group committed for a partition (the next offset it will read), or null. */
  committedOffset(groupId: string, topic: string, partition: number): number | null;
  /** Log end offset of a partition (its next offset). */
  endOffset(topic: string, partition: number): number;
}

const HOST = '127.0.0.1';
const NODE_ID = 0;

export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaTestBroker> {
  const logs = new LogStore();
  const groups = new GroupCoordinator();
  const offsets = new OffsetStore();
  const users = options.saslUsers ? new SaslUsers(options.saslUsers) : null;
  const log: BrokerLog = options.log ?? (() => undefined);
  const defaultPartitions = options.defaultPartitions ?? 3;
  const autoCreateTopics = options.autoCreateTopics ?? true;
  let port = options.port ?? 0;
  let running: RunningServer | null = null;

  const start = async (): Promise<void> => {
    if (running) return;
    let stopped = false;
    const context = (): BrokerContext => ({
      nodeId: NODE_ID,
      host: HOST,
      port,
      logs,
      groups,
      offsets,
      defaultPartitions,
      autoCreateTopics,
      stopped: () => stopped,
    });
    const server = await listen({ port, host: HOST, context, users, log, ...(options.tls ? { tls: options.tls } : {}) });
    port = (server.server.address() as AddressInfo).port;
    groups.start();
    running = {
      server: server.server,
      close: async () => {
        stopped = true;
        groups.stop();
        logs.wakeAll();
        await server.close();
      },
    };
  };

  const stop = async (): Promise<void> => {
    const current = running;
    running = null;
    await current?.close();
  };

  await start();

  return {
    get brokers() {
      return `${HOST}:${port}`;
    },
    get port() {
      return port;
    },
    start,
    stop,
    records: (topic) => logs.topics.get(topic)?.partitions.flatMap((p) => p.records) ?? [],
    codecs: (topic) => logs.topics.get(topic)?.partitions.flatMap((p) => p.codecs()) ?? [],
    createTopic: (name, partitions) => {
      if (!isLegalTopicName(name)) throw new Error(`illegal topic name ${name}`);
      if (logs.topics.has(name)) throw new Error(`topic ${name} already exists`);
      if (!Number.isInteger(partitions) || partitions <= 0) throw new Error(`bad partition count ${partitions}`);
      logs.create(name, partitions);
    },
    committedOffset: (groupId, topic, partition) => offsets.committed(groupId, topic, partition)?.offset ?? null,
    endOffset: (topic, partition) => logs.partition(topic, partition)?.endOffset ?? 0,
  };
}
