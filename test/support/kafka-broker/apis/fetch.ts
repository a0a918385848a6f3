/**
 * Fetch (key 1) v0–13: held until `MinBytes` are there or `MaxWaitMs` passes, as Kafka
 * does. Full fetches only (SessionId 0): no incremental fetch sessions. v0–3 fetchers get
 * the batches down-converted to message format 0/1, as Kafka does for old clients.
 */
import { ApiKey, ErrorCode, type ErrorCodeValue } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api, type RequestContext } from './api.js';

const request = schema(
  12,
  f('ReplicaId', 'int32'),
  f('MaxWaitMs', 'int32'),
  f('MinBytes', 'int32'),
  f('MaxBytes', 'int32', '3+', 0x7fffffff),
  f('IsolationLevel', 'int8', '4+'),
  f('SessionId', 'int32', '7+'),
  f('SessionEpoch', 'int32', '7+', -1),
  f(
    'Topics',
    arrayOf([
      f('Topic', 'string', '0-12'),
      f('TopicId', 'uuid', '13+'),
      f(
        'Partitions',
        arrayOf([
          f('Partition', 'int32'),
          f('CurrentLeaderEpoch', 'int32', '9+'),
          f('FetchOffset', 'int64'),
          f('LastFetchedEpoch', 'int32', '12+'),
          f('LogStartOffset', 'int64', '5+'),
          f('PartitionMaxBytes', 'int32'),
        ]),
      ),
    ]),
  ),
  f('ForgottenTopicsData', arrayOf([f('Topic', 'string', '7-12'), f('TopicId', 'uuid', '13+'), f('Partitions', arrayOf('int32'))]), '7+'),
  f('RackId', 'string', '11+'),
);

const response = schema(
  12,
  f('ThrottleTimeMs', 'int32', '1+'),
  f('ErrorCode', 'int16', '7+'),
  f('SessionId', 'int32', '7+'),
  f(
    'Responses',
    arrayOf([
      f('Topic', 'string', '0-12'),
      f('TopicId', 'uuid', '13+'),
      f(
        'Partitions',
        arrayOf([
          f('PartitionIndex', 'int32'),
          f('ErrorCode', 'int16'),
          f('HighWatermark', 'int64'),
          f('LastStableOffset', 'int64', '4+'),
          f('LogStartOffset', 'int64', '5+'),
          f('AbortedTransactions', arrayOf([f('ProducerId', 'int64'), f('FirstOffset', 'int64')]), '4+'),
          f('PreferredReadReplica', 'int32', '11+'),
          f('Records', 'bytes'),
        ]),
      ),
    ]),
  ),
);

interface FetchRequest {
  readonly MaxWaitMs: number;
  readonly MinBytes: number;
  readonly MaxBytes: number;
  readonly Topics: readonly {
    readonly Topic: string | null;
    readonly TopicId: string;
    readonly Partitions: readonly { readonly Partition: number; readonly FetchOffset: bigint; readonly PartitionMaxBytes: number }[];
  }[];
}

const NO_RECORDS = Buffer.alloc(0);

function partitionAnswer(partition: number, errorCode: ErrorCodeValue, highWatermark: number, records: Buffer) {
  const hw = BigInt(highWatermark);
  return {
    PartitionIndex: partition,
    ErrorCode: errorCode,
    HighWatermark: hw,
    LastStableOffset: hw,
    LogStartOffset: highWatermark < 0 ? -1n : 0n,
    AbortedTransactions: [],
    PreferredReadReplica: -1,
    Records: records,
  };
}

/** One pass over the requested partitions: the answer, its size, and whether any failed. */
function readOnce(req: FetchRequest, ctx: RequestContext) {
  let total = 0;
  let failed = false;
  const Responses = req.Topics.map((t) => {
    const topic = ctx.version >= 13 ? ctx.logs.byId(t.TopicId) : ctx.logs.topics.get(t.Topic ?? '');
    const missing = ctx.version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const Partitions = t.Partitions.map(({ Partition, FetchOffset, PartitionMaxBytes }) => {
      const log = topic?.partitions[Partition];
      const offset = Number(FetchOffset);
      if (!log) return ((failed = true), partitionAnswer(Partition, missing, -1, NO_RECORDS));
      if (offset < 0 || offset > log.endOffset) {
        failed = true;
        return partitionAnswer(Partition, ErrorCode.OFFSET_OUT_OF_RANGE, log.endOffset, NO_RECORDS);
      }
      const budget = Math.min(PartitionMaxBytes, Math.max(0, req.MaxBytes - total));
      const empty = offset === log.endOffset || (budget === 0 && total > 0);
      const records = empty ? NO_RECORDS : ctx.version < 4 ? log.readLegacy(offset, budget, ctx.version >= 2 ? 1 : 0) : log.read(offset, budget);
      total += records.length;
      return partitionAnswer(Partition, ErrorCode.NONE, log.endOffset, records);
    });
    return { Topic: t.Topic, TopicId: t.TopicId, Partitions };
  });
  return { Responses, total, failed };
}

export const fetchApi = api({
  key: ApiKey.Fetch,
  min: 0,
  max: 13,
  request,
  response,
  async handle(raw, ctx) {
    const req = raw as unknown as FetchRequest;
    const deadline = Date.now() + req.MaxWaitMs;
    for (;;) {
      const { Responses, total, failed } = readOnce(req, ctx);
      if (failed || total >= req.MinBytes || Date.now() >= deadline || ctx.stopped()) {
        return { ThrottleTimeMs: 0, ErrorCode: ErrorCode.NONE, SessionId: 0, Responses };
      }
      await ctx.logs.waitForAppend(deadline - Date.now());
    }
  },
});
