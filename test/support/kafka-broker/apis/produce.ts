/** Produce (key 0) v0–9: appends each partition's record set, acknowledged at once (one replica). */
import { ApiKey, ErrorCode, isLegalTopicName, type ErrorCodeValue } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api } from './api.js';

const request = schema(
  9,
  f('TransactionalId', 'string', '3+'),
  f('Acks', 'int16'),
  f('TimeoutMs', 'int32'),
  f('TopicData', arrayOf([f('Name', 'string'), f('PartitionData', arrayOf([f('Index', 'int32'), f('Records', 'bytes')]))])),
);

const response = schema(
  9,
  f(
    'Responses',
    arrayOf([
      f('Name', 'string'),
      f(
        'PartitionResponses',
        arrayOf([
          f('Index', 'int32'),
          f('ErrorCode', 'int16'),
          f('BaseOffset', 'int64'),
          f('LogAppendTimeMs', 'int64', '2+'),
          f('LogStartOffset', 'int64', '5+'),
          f('RecordErrors', arrayOf([f('BatchIndex', 'int32'), f('BatchIndexErrorMessage', 'string')]), '8+'),
          f('ErrorMessage', 'string', '8+'),
        ]),
      ),
    ]),
  ),
  f('ThrottleTimeMs', 'int32', '1+'),
);

interface ProduceRequest {
  readonly Acks: number;
  readonly TopicData: readonly {
    readonly Name: string;
    readonly PartitionData: readonly { readonly Index: number; readonly Records: Buffer | null }[];
  }[];
}

const NO_RECORDS = Buffer.alloc(0);

export const produceApi = api({
  key: ApiKey.Produce,
  min: 0,
  max: 9,
  request,
  response,
  async handle(raw, ctx) {
    const req = raw as unknown as ProduceRequest;
    let appended = false;
    const Responses = [];
    for (const { Name, PartitionData } of req.TopicData) {
      let log = ctx.logs.topics.get(Name);
      if (!log && ctx.autoCreateTopics && isLegalTopicName(Name)) log = ctx.logs.create(Name, ctx.defaultPartitions);
      const PartitionResponses = [];
      for (const { Index, Records } of PartitionData) {
        const target = log?.partitions[Index];
        let result: { errorCode: ErrorCodeValue; baseOffset: number };
        if (req.Acks !== 0 && req.Acks !== 1 && req.Acks !== -1) result = { errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1 };
        else if (!target) result = { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, baseOffset: -1 };
        else result = await target.append(Records ?? NO_RECORDS);
        appended ||= result.errorCode === ErrorCode.NONE;
        PartitionResponses.push({
          Index,
          ErrorCode: result.errorCode,
          BaseOffset: result.baseOffset,
          LogAppendTimeMs: -1,
          LogStartOffset: 0,
          RecordErrors: [],
          ErrorMessage: null,
        });
      }
      Responses.push({ Name, PartitionResponses });
    }
    if (appended) ctx.logs.wakeAll();
    return req.Acks === 0 ? null : { Responses, ThrottleTimeMs: 0 };
  },
});
