/**
 * Metadata (key 3) v0–12: the one broker, and the requested topics (auto-created when the
 * request allows it and the broker does), with topic ids from v10.
 */
import { ApiKey, ErrorCode, isLegalTopicName, type ErrorCodeValue } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api, type RequestContext } from './api.js';
import type { TopicLog } from '../log.js';

const request = schema(
  9,
  f('Topics', arrayOf([f('TopicId', 'uuid', '10+'), f('Name', 'string')])),
  f('AllowAutoTopicCreation', 'bool', '4+', true),
  f('IncludeClusterAuthorizedOperations', 'bool', '8-10'),
  f('IncludeTopicAuthorizedOperations', 'bool', '8+'),
);

const response = schema(
  9,
  f('ThrottleTimeMs', 'int32', '3+'),
  f('Brokers', arrayOf([f('NodeId', 'int32'), f('Host', 'string'), f('Port', 'int32'), f('Rack', 'string', '1+')])),
  f('ClusterId', 'string', '2+'),
  f('ControllerId', 'int32', '1+'),
  f(
    'Topics',
    arrayOf([
      f('ErrorCode', 'int16'),
      f('Name', 'string'),
      f('TopicId', 'uuid', '10+'),
      f('IsInternal', 'bool', '1+'),
      f(
        'Partitions',
        arrayOf([
          f('ErrorCode', 'int16'),
          f('PartitionIndex', 'int32'),
          f('LeaderId', 'int32'),
          f('LeaderEpoch', 'int32', '7+'),
          f('ReplicaNodes', arrayOf('int32')),
          f('IsrNodes', arrayOf('int32')),
          f('OfflineReplicas', arrayOf('int32'), '5+'),
        ]),
      ),
      f('TopicAuthorizedOperations', 'int32', '8+'),
    ]),
  ),
  f('ClusterAuthorizedOperations', 'int32', '8-10'),
);

interface MetadataRequest {
  readonly Topics: readonly { readonly TopicId: string; readonly Name: string | null }[] | null;
  readonly AllowAutoTopicCreation: boolean;
}

/** -2^31: "authorized operations not requested". */
const NO_OPERATIONS = -2147483648;

function describeTopic(name: string, id: string | null, allowAutoCreate: boolean, ctx: RequestContext) {
  let topic: TopicLog | undefined = name !== '' ? ctx.logs.topics.get(name) : id ? ctx.logs.byId(id) : undefined;
  let error: ErrorCodeValue = ErrorCode.NONE;
  if (!topic) {
    if (name !== '' && !isLegalTopicName(name)) error = ErrorCode.INVALID_TOPIC_EXCEPTION;
    else if (name !== '' && allowAutoCreate && ctx.autoCreateTopics) topic = ctx.logs.create(name, ctx.defaultPartitions);
    else error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }
  return {
    ErrorCode: error,
    Name: topic?.name ?? name,
    TopicId: topic?.id ?? id ?? '',
    IsInternal: false,
    Partitions: (topic?.partitions ?? []).map((p) => ({
      ErrorCode: ErrorCode.NONE,
      PartitionIndex: p.partition,
      LeaderId: ctx.nodeId,
      LeaderEpoch: 0,
      ReplicaNodes: [ctx.nodeId],
      IsrNodes: [ctx.nodeId],
      OfflineReplicas: [],
    })),
    TopicAuthorizedOperations: NO_OPERATIONS,
  };
}

export const metadataApi = api({
  key: ApiKey.Metadata,
  min: 0,
  max: 12,
  request,
  response,
  handle(raw, ctx) {
    const req = raw as unknown as MetadataRequest;
    // v0: an empty list means every topic; v1+: null does.
    const all = req.Topics === null || (ctx.version === 0 && req.Topics.length === 0);
    const wanted = all ? [...ctx.logs.topics.values()].map((t) => ({ Name: t.name, TopicId: t.id })) : req.Topics;
    // v0–3 have no flag: those clients always asked for auto-creation.
    const allowAutoCreate = ctx.version < 4 || req.AllowAutoTopicCreation;
    return {
      ThrottleTimeMs: 0,
      Brokers: [{ NodeId: ctx.nodeId, Host: ctx.host, Port: ctx.port, Rack: null }],
      ClusterId: 'pkgstream-test-cluster',
      ControllerId: ctx.nodeId,
      Topics: wanted.map((t) => describeTopic(t.Name ?? '', /^0+$/.test(t.TopicId) ? null : t.TopicId, allowAutoCreate, ctx)),
      ClusterAuthorizedOperations: NO_OPERATIONS,
    };
  },
});
