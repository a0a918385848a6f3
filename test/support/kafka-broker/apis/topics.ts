/** CreateTopics (key 19) v0–7, DeleteTopics (key 20) v0–6 and InitProducerId (key 22) v0–4. */
import { ApiKey, ErrorCode, isLegalTopicName, type ErrorCodeValue } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api } from './api.js';

interface CreateTopicsRequest {
  readonly Topics: readonly { readonly Name: string; readonly NumPartitions: number; readonly Assignments: readonly unknown[] }[];
  readonly ValidateOnly: boolean;
}

export const createTopicsApi = api({
  key: ApiKey.CreateTopics,
  min: 0,
  max: 7,
  request: schema(
    5,
    f(
      'Topics',
      arrayOf([
        f('Name', 'string'),
        f('NumPartitions', 'int32'),
        f('ReplicationFactor', 'int16'),
        f('Assignments', arrayOf([f('PartitionIndex', 'int32'), f('BrokerIds', arrayOf('int32'))])),
        f('Configs', arrayOf([f('Name', 'string'), f('Value', 'string')])),
      ]),
    ),
    f('TimeoutMs', 'int32'),
    f('ValidateOnly', 'bool', '1+'),
  ),
  response: schema(
    5,
    f('ThrottleTimeMs', 'int32', '2+'),
    f(
      'Topics',
      arrayOf([
        f('Name', 'string'),
        f('TopicId', 'uuid', '7+'),
        f('ErrorCode', 'int16'),
        f('ErrorMessage', 'string', '1+'),
        f('NumPartitions', 'int32', '5+'),
        f('ReplicationFactor', 'int16', '5+'),
        f('Configs', arrayOf([f('Name', 'string'), f('Value', 'string'), f('ReadOnly', 'bool'), f('ConfigSource', 'int8'), f('IsSensitive', 'bool')]), '5+'),
      ]),
    ),
  ),
  handle(raw, ctx) {
    const req = raw as unknown as CreateTopicsRequest;
    const Topics = req.Topics.map((t) => {
      const partitions = t.NumPartitions === -1 ? t.Assignments.length || ctx.defaultPartitions : t.NumPartitions;
      let error: ErrorCodeValue = ErrorCode.NONE;
      let message: string | null = null;
      if (!isLegalTopicName(t.Name)) [error, message] = [ErrorCode.INVALID_TOPIC_EXCEPTION, `illegal topic name ${t.Name}`];
      else if (ctx.logs.topics.has(t.Name)) [error, message] = [ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${t.Name} already exists`];
      else if (partitions <= 0) [error, message] = [ErrorCode.INVALID_PARTITIONS, `partitions must be positive, got ${partitions}`];
      const created = error === ErrorCode.NONE && !req.ValidateOnly ? ctx.logs.create(t.Name, partitions) : undefined;
      return {
        Name: t.Name,
        TopicId: created?.id ?? '',
        ErrorCode: error,
        ErrorMessage: message,
        NumPartitions: error === ErrorCode.NONE ? partitions : -1,
        ReplicationFactor: error === ErrorCode.NONE ? 1 : -1,
        Configs: [],
      };
    });
    return { ThrottleTimeMs: 0, Topics };
  },
});

interface DeleteTopicsRequest {
  readonly TopicNames: readonly string[];
  readonly Topics: readonly { readonly Name: string | null; readonly TopicId: string }[];
}

export const deleteTopicsApi = api({
  key: ApiKey.DeleteTopics,
  min: 0,
  max: 6,
  request: schema(
    4,
    f('Topics', arrayOf([f('Name', 'string'), f('TopicId', 'uuid')]), '6+'),
    f('TopicNames', arrayOf('string'), '0-5'),
    f('TimeoutMs', 'int32'),
  ),
  response: schema(
    4,
    f('ThrottleTimeMs', 'int32', '1+'),
    f('Responses', arrayOf([f('Name', 'string'), f('TopicId', 'uuid', '6+'), f('ErrorCode', 'int16'), f('ErrorMessage', 'string', '5+')])),
  ),
  handle(raw, ctx) {
    const req = raw as unknown as DeleteTopicsRequest;
    const names = ctx.version >= 6 ? req.Topics.map((t) => t.Name ?? ctx.logs.byId(t.TopicId)?.name ?? '') : req.TopicNames;
    const Responses = names.map((name) => {
      const topic = ctx.logs.topics.get(name);
      if (topic) {
        ctx.logs.topics.delete(name);
        ctx.offsets.forgetTopic(name);
      }
      return {
        Name: name,
        TopicId: topic?.id ?? '',
        ErrorCode: topic ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorMessage: null,
      };
    });
    return { ThrottleTimeMs: 0, Responses };
  },
});

let lastProducerId = 999;

export const initProducerIdApi = api({
  key: ApiKey.InitProducerId,
  min: 0,
  max: 4,
  request: schema(
    2,
    f('TransactionalId', 'string'),
    f('TransactionTimeoutMs', 'int32'),
    f('ProducerId', 'int64', '3+', -1n),
    f('ProducerEpoch', 'int16', '3+', -1),
  ),
  response: schema(2, f('ThrottleTimeMs', 'int32'), f('ErrorCode', 'int16'), f('ProducerId', 'int64'), f('ProducerEpoch', 'int16')),
  handle: () => ({ ThrottleTimeMs: 0, ErrorCode: ErrorCode.NONE, ProducerId: BigInt(++lastProducerId), ProducerEpoch: 0 }),
});
