/**
 * One handler per API: decode the request body (at the version in SUPPORTED_VERSIONS),
 * act on the log or the group coordinator, encode the response body. A handler that
 * returns null sends no response (Produce with acks=0).
 */
import type { GroupCoordinator } from './groups.js';
import type { LogStore } from './log.js';
import {
  ApiKey,
  Decoder,
  Encoder,
  ErrorCode,
  SUPPORTED_VERSIONS,
  isLegalTopicName,
  readNullableArray,
  readStringArray,
  writeList,
  type ErrorCodeValue,
  type RequestHeader,
} from './protocol.js';

export interface BrokerContext {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly logs: LogStore;
  readonly groups: GroupCoordinator;
  readonly defaultPartitions: number;
  readonly autoCreateTopics: boolean;
  /** Address of the client on this connection, for DescribeGroups. */
  readonly clientHost: string;
  /** Set when the broker stops, so that held requests give up. */
  readonly stopped: () => boolean;
}

export type Handler = (decoder: Decoder, header: RequestHeader, ctx: BrokerContext) => Promise<Buffer | null>;

const NO_RECORDS = Buffer.alloc(0);

function apiVersions(_decoder: Decoder, header: RequestHeader): Promise<Buffer> {
  const supported = SUPPORTED_VERSIONS.get(ApiKey.ApiVersions)!;
  const ok = header.apiVersion >= supported.min && header.apiVersion <= supported.max;
  const e = new Encoder().writeInt16(ok ? ErrorCode.NONE : ErrorCode.UNSUPPORTED_VERSION);
  writeList(e, [...SUPPORTED_VERSIONS], (x, [apiKey, { min, max }]) => {
    x.writeInt16(apiKey).writeInt16(min).writeInt16(max);
  });
  if (ok && header.apiVersion >= 1) e.writeInt32(0);
  return Promise.resolve(e.buffer);
}

function metadata(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const requested = readNullableArray(decoder, (d) => d.readString() ?? '');
  const allowAutoCreate = decoder.readBoolean();
  const names = requested ?? [...ctx.logs.topics.keys()];
  const e = new Encoder().writeInt32(0);
  writeList(e, [ctx.nodeId], (x, id) => x.writeInt32(id).writeString(ctx.host).writeInt32(ctx.port).writeString(null));
  e.writeString('pkgstream-test-cluster').writeInt32(ctx.nodeId);
  writeList(e, names, (x, name) => {
    let topic = ctx.logs.topics.get(name);
    let error: ErrorCodeValue = ErrorCode.NONE;
    if (!topic) {
      if (!isLegalTopicName(name)) error = ErrorCode.INVALID_TOPIC_EXCEPTION;
      else if (allowAutoCreate && ctx.autoCreateTopics) topic = ctx.logs.create(name, ctx.defaultPartitions);
      else error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    }
    x.writeInt16(error).writeString(name).writeBoolean(false);
    writeList(x, topic?.partitions ?? [], (y, p) => {
      y.writeInt16(ErrorCode.NONE).writeInt32(p.partition).writeInt32(ctx.nodeId);
      y.writeArray([ctx.nodeId], 'int32').writeArray([ctx.nodeId], 'int32');
    });
  });
  return Promise.resolve(e.buffer);
}

async function produce(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer | null> {
  decoder.readString(); // transactional id: transactions are not supported
  const acks = decoder.readInt16();
  decoder.readInt32(); // timeout: a single in-memory replica acknowledges at once
  const topics = decoder.readArray((d) => ({
    topic: d.readString() ?? '',
    partitions: d.readArray((p) => ({ partition: p.readInt32(), records: p.readBytes() ?? NO_RECORDS })),
  }));
  const results: { topic: string; partitions: { partition: number; errorCode: ErrorCodeValue; baseOffset: number }[] }[] = [];
  let appended = false;
  for (const { topic, partitions } of topics) {
    let log = ctx.logs.topics.get(topic);
    if (!log && ctx.autoCreateTopics && isLegalTopicName(topic)) log = ctx.logs.create(topic, ctx.defaultPartitions);
    const out = [];
    for (const { partition, records } of partitions) {
      const target = log?.partitions[partition];
      if (acks !== 0 && acks !== 1 && acks !== -1) {
        out.push({ partition, errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1 });
      } else if (!target) {
        out.push({ partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, baseOffset: -1 });
      } else {
        const result = await target.append(records);
        appended ||= result.errorCode === ErrorCode.NONE;
        out.push({ partition, ...result });
      }
    }
    results.push({ topic, partitions: out });
  }
  if (appended) ctx.logs.wakeAll();
  if (acks === 0) return null;
  const e = new Encoder();
  writeList(e, results, (x, t) => {
    x.writeString(t.topic);
    writeList(x, t.partitions, (y, p) => y.writeInt32(p.partition).writeInt16(p.errorCode).writeInt64(p.baseOffset).writeInt64(-1));
  });
  return e.writeInt32(0).buffer;
}

interface FetchPartition {
  readonly partition: number;
  readonly fetchOffset: number;
  readonly maxBytes: number;
}

/** Held until `minBytes` are available or `maxWaitTime` passes, as Kafka does. */
async function fetch(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  decoder.readInt32(); // replica id
  const maxWaitTime = decoder.readInt32();
  const minBytes = decoder.readInt32();
  const maxBytes = decoder.readInt32();
  decoder.readInt8(); // isolation level: there are no transactions, so both levels read the same
  const topics = decoder.readArray((d) => ({
    topic: d.readString() ?? '',
    partitions: d.readArray<FetchPartition>((p) => ({
      partition: p.readInt32(),
      fetchOffset: Number(p.readInt64()),
      maxBytes: p.readInt32(),
    })),
  }));
  const deadline = Date.now() + maxWaitTime;
  for (;;) {
    let total = 0;
    let failed = false;
    const answer = topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition, fetchOffset, maxBytes: partitionMax }) => {
        const log = ctx.logs.partition(topic, partition);
        if (!log) {
          failed = true;
          return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1, records: NO_RECORDS };
        }
        if (fetchOffset < 0 || fetchOffset > log.endOffset) {
          failed = true;
          return { partition, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: log.endOffset, records: NO_RECORDS };
        }
        const budget = Math.min(partitionMax, Math.max(0, maxBytes - total));
        const records = fetchOffset === log.endOffset || (budget === 0 && total > 0) ? NO_RECORDS : log.read(fetchOffset, budget);
        total += records.length;
        return { partition, errorCode: ErrorCode.NONE, highWatermark: log.endOffset, records };
      }),
    }));
    if (failed || total >= minBytes || Date.now() >= deadline || ctx.stopped()) {
      const e = new Encoder().writeInt32(0);
      writeList(e, answer, (x, t) => {
        x.writeString(t.topic);
        writeList(x, t.partitions, (y, p) => {
          y.writeInt32(p.partition).writeInt16(p.errorCode).writeInt64(p.highWatermark).writeInt64(p.highWatermark);
          y.writeArray([], 'object').writeBytes(p.records);
        });
      });
      return e.buffer;
    }
    await ctx.logs.waitForAppend(deadline - Date.now());
  }
}

function listOffsets(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  decoder.readInt32(); // replica id
  const topics = decoder.readArray((d) => ({
    topic: d.readString() ?? '',
    partitions: d.readArray((p) => ({ partition: p.readInt32(), timestamp: Number(p.readInt64()) })),
  }));
  const e = new Encoder();
  writeList(e, topics, (x, t) => {
    x.writeString(t.topic);
    writeList(x, t.partitions, (y, { partition, timestamp }) => {
      const log = ctx.logs.partition(t.topic, partition);
      y.writeInt32(partition).writeInt16(log ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      y.writeInt64(-1).writeInt64(log ? log.offsetFor(timestamp) : -1);
    });
  });
  return Promise.resolve(e.buffer);
}

function createTopics(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const topics = decoder.readArray((d) => ({
    name: d.readString() ?? '',
    numPartitions: d.readInt32(),
    replicationFactor: d.readInt16(),
    assignments: d.readArray((a) => ({ partition: a.readInt32(), replicas: a.readArray((r) => r.readInt32()) })),
    configs: d.readArray((c) => ({ name: c.readString(), value: c.readString() })),
  }));
  decoder.readInt32(); // timeout
  const validateOnly = decoder.readBoolean();
  const e = new Encoder();
  writeList(e, topics, (x, t) => {
    const partitions = t.numPartitions === -1 ? (t.assignments.length || ctx.defaultPartitions) : t.numPartitions;
    let error: ErrorCodeValue = ErrorCode.NONE;
    let message: string | null = null;
    if (!isLegalTopicName(t.name)) [error, message] = [ErrorCode.INVALID_TOPIC_EXCEPTION, `illegal topic name ${t.name}`];
    else if (ctx.logs.topics.has(t.name)) [error, message] = [ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${t.name} already exists`];
    else if (partitions <= 0) [error, message] = [ErrorCode.INVALID_PARTITIONS, `partitions must be positive, got ${partitions}`];
    else if (!validateOnly) ctx.logs.create(t.name, partitions);
    x.writeString(t.name).writeInt16(error).writeString(message);
  });
  return Promise.resolve(e.buffer);
}

function deleteTopics(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const names = readStringArray(decoder);
  const e = new Encoder();
  writeList(e, names, (x, name) => {
    const existed = ctx.logs.topics.delete(name);
    if (existed) ctx.groups.forgetTopic(name);
    x.writeString(name).writeInt16(existed ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
  return Promise.resolve(e.buffer);
}

function initProducerId(_decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const id = nextProducerId(ctx);
  return Promise.resolve(new Encoder().writeInt32(0).writeInt16(ErrorCode.NONE).writeInt64(id).writeInt16(0).buffer);
}

const producerIds = new WeakMap<LogStore, number>();
function nextProducerId(ctx: BrokerContext): number {
  const id = (producerIds.get(ctx.logs) ?? 999) + 1;
  producerIds.set(ctx.logs, id);
  return id;
}

function findCoordinator(_decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  return Promise.resolve(new Encoder().writeInt16(ErrorCode.NONE).writeInt32(ctx.nodeId).writeString(ctx.host).writeInt32(ctx.port).buffer);
}

async function joinGroup(decoder: Decoder, header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const result = await ctx.groups.join({
    groupId: decoder.readString() ?? '',
    sessionTimeoutMs: decoder.readInt32(),
    rebalanceTimeoutMs: decoder.readInt32(),
    memberId: decoder.readString() ?? '',
    protocolType: decoder.readString() ?? '',
    protocols: decoder.readArray((d) => ({ name: d.readString() ?? '', metadata: Buffer.from(d.readBytes() ?? NO_RECORDS) })),
    clientId: header.clientId ?? '',
    clientHost: ctx.clientHost,
  });
  const e = new Encoder().writeInt16(result.errorCode).writeInt32(result.generationId);
  e.writeString(result.protocol).writeString(result.leaderId).writeString(result.memberId);
  writeList(e, result.members, (x, m) => x.writeString(m.memberId).writeBytes(m.metadata));
  return e.buffer;
}

async function syncGroup(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const groupId = decoder.readString() ?? '';
  const generationId = decoder.readInt32();
  const memberId = decoder.readString() ?? '';
  const assignments = new Map(
    decoder.readArray((d) => [d.readString() ?? '', Buffer.from(d.readBytes() ?? NO_RECORDS)] as const),
  );
  const result = await ctx.groups.sync(groupId, generationId, memberId, assignments);
  return new Encoder().writeInt16(result.errorCode).writeBytes(result.assignment).buffer;
}

function heartbeat(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const groupId = decoder.readString() ?? '';
  const generationId = decoder.readInt32();
  const memberId = decoder.readString() ?? '';
  return Promise.resolve(new Encoder().writeInt16(ctx.groups.heartbeat(groupId, generationId, memberId)).buffer);
}

function leaveGroup(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const groupId = decoder.readString() ?? '';
  const memberId = decoder.readString() ?? '';
  return Promise.resolve(new Encoder().writeInt16(ctx.groups.leave(groupId, memberId)).buffer);
}

function offsetCommit(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const groupId = decoder.readString() ?? '';
  const generationId = decoder.readInt32();
  const memberId = decoder.readString() ?? '';
  decoder.readInt64(); // retention time: offsets are kept for the broker's life
  const topics = decoder.readArray((d) => ({
    topic: d.readString() ?? '',
    partitions: d.readArray((p) => ({ partition: p.readInt32(), offset: Number(p.readInt64()), metadata: p.readString() })),
  }));
  const groupError = ctx.groups.checkCommit(groupId, generationId, memberId);
  const e = new Encoder();
  writeList(e, topics, (x, t) => {
    x.writeString(t.topic);
    writeList(x, t.partitions, (y, p) => {
      let error = groupError;
      if (error === ErrorCode.NONE && !ctx.logs.partition(t.topic, p.partition)) error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (error === ErrorCode.NONE) ctx.groups.commit(groupId, t.topic, p.partition, { offset: p.offset, metadata: p.metadata });
      y.writeInt32(p.partition).writeInt16(error);
    });
  });
  return Promise.resolve(e.buffer);
}

function offsetFetch(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const groupId = decoder.readString() ?? '';
  const topics = decoder.readArray((d) => ({ topic: d.readString() ?? '', partitions: d.readArray((p) => p.readInt32()) }));
  const e = new Encoder();
  writeList(e, topics, (x, t) => {
    x.writeString(t.topic);
    writeList(x, t.partitions, (y, partition) => {
      const committed = ctx.groups.committed(groupId, t.topic, partition);
      y.writeInt32(partition).writeInt64(committed?.offset ?? -1).writeString(committed?.metadata ?? '');
      y.writeInt16(ErrorCode.NONE);
    });
  });
  return Promise.resolve(e.buffer);
}

function describeGroups(decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const groupIds = readStringArray(decoder);
  const e = new Encoder();
  writeList(e, groupIds, (x, groupId) => {
    const g = ctx.groups.describe(groupId);
    x.writeInt16(ErrorCode.NONE).writeString(g.groupId).writeString(g.state).writeString(g.protocolType).writeString(g.protocol);
    writeList(x, g.members, (y, m) => {
      y.writeString(m.memberId).writeString(m.clientId).writeString(m.clientHost).writeBytes(m.metadata).writeBytes(m.assignment);
    });
  });
  return Promise.resolve(e.buffer);
}

function listGroups(_decoder: Decoder, _header: RequestHeader, ctx: BrokerContext): Promise<Buffer> {
  const e = new Encoder().writeInt16(ErrorCode.NONE);
  writeList(e, ctx.groups.list(), (x, g) => x.writeString(g.groupId).writeString(g.protocolType));
  return Promise.resolve(e.buffer);
}

export const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [ApiKey.ApiVersions, apiVersions],
  [ApiKey.Metadata, metadata],
  [ApiKey.Produce, produce],
  [ApiKey.Fetch, fetch],
  [ApiKey.ListOffsets, listOffsets],
  [ApiKey.CreateTopics, createTopics],
  [ApiKey.DeleteTopics, deleteTopics],
  [ApiKey.InitProducerId, initProducerId],
  [ApiKey.FindCoordinator, findCoordinator],
  [ApiKey.JoinGroup, joinGroup],
  [ApiKey.SyncGroup, syncGroup],
  [ApiKey.Heartbeat, heartbeat],
  [ApiKey.LeaveGroup, leaveGroup],
  [ApiKey.OffsetCommit, offsetCommit],
  [ApiKey.OffsetFetch, offsetFetch],
  [ApiKey.DescribeGroups, describeGroups],
  [ApiKey.ListGroups, listGroups],
]);
