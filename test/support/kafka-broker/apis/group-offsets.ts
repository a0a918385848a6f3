/**
 * Committed offsets: OffsetCommit (key 8) v0–8, checked against the group's generation
 * (generation -1 commits from outside any group), and OffsetFetch (key 9) v0–8, where a
 * null topic list (v2+) asks for every offset the group committed and v8 batches groups.
 */
import { ApiKey, ErrorCode } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api, type RequestContext } from './api.js';

interface OffsetCommitRequest {
  readonly GroupId: string;
  readonly GenerationId: number;
  readonly MemberId: string;
  readonly Topics: readonly {
    readonly Name: string;
    readonly Partitions: readonly { readonly PartitionIndex: number; readonly CommittedOffset: bigint; readonly CommittedMetadata: string | null }[];
  }[];
}

export const offsetCommitApi = api({
  key: ApiKey.OffsetCommit,
  min: 0,
  max: 8,
  request: schema(
    8,
    f('GroupId', 'string'),
    f('GenerationId', 'int32', '1+', -1),
    f('MemberId', 'string', '1+', ''),
    f('GroupInstanceId', 'string', '7+'),
    f('RetentionTimeMs', 'int64', '2-4'),
    f(
      'Topics',
      arrayOf([
        f('Name', 'string'),
        f(
          'Partitions',
          arrayOf([
            f('PartitionIndex', 'int32'),
            f('CommittedOffset', 'int64'),
            f('CommittedLeaderEpoch', 'int32', '6+', -1),
            f('CommitTimestamp', 'int64', '1', -1n),
            f('CommittedMetadata', 'string'),
          ]),
        ),
      ]),
    ),
  ),
  response: schema(
    8,
    f('ThrottleTimeMs', 'int32', '3+'),
    f('Topics', arrayOf([f('Name', 'string'), f('Partitions', arrayOf([f('PartitionIndex', 'int32'), f('ErrorCode', 'int16')]))])),
  ),
  handle(raw, ctx) {
    const req = raw as unknown as OffsetCommitRequest;
    const groupError = ctx.groups.checkCommit(req.GroupId, req.GenerationId, req.MemberId);
    const Topics = req.Topics.map((t) => ({
      Name: t.Name,
      Partitions: t.Partitions.map((p) => {
        let error = groupError;
        if (error === ErrorCode.NONE && !ctx.logs.partition(t.Name, p.PartitionIndex)) error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (error === ErrorCode.NONE) {
          ctx.offsets.commit(req.GroupId, t.Name, p.PartitionIndex, { offset: Number(p.CommittedOffset), metadata: p.CommittedMetadata });
        }
        return { PartitionIndex: p.PartitionIndex, ErrorCode: error };
      }),
    }));
    return { ThrottleTimeMs: 0, Topics };
  },
});

const fetchTopics = arrayOf([f('Name', 'string'), f('PartitionIndexes', arrayOf('int32'))]);
const partitionOffsets = arrayOf([
  f('PartitionIndex', 'int32'),
  f('CommittedOffset', 'int64'),
  f('CommittedLeaderEpoch', 'int32', '5+'),
  f('Metadata', 'string'),
  f('ErrorCode', 'int16'),
]);

type Wanted = readonly { readonly Name: string; readonly PartitionIndexes: readonly number[] }[] | null;

/** One group's answer: the asked partitions, or (null) every committed one. */
function groupOffsets(groupId: string, wanted: Wanted, ctx: RequestContext) {
  const topics = wanted ?? ctx.offsets.all(groupId).map((t) => ({ Name: t.topic, PartitionIndexes: t.partitions.map((p) => p.partition) }));
  return topics.map((t) => ({
    Name: t.Name,
    Partitions: t.PartitionIndexes.map((partition) => {
      const committed = ctx.offsets.committed(groupId, t.Name, partition);
      return {
        PartitionIndex: partition,
        CommittedOffset: BigInt(committed?.offset ?? -1),
        CommittedLeaderEpoch: -1,
        Metadata: committed?.metadata ?? '',
        ErrorCode: ErrorCode.NONE,
      };
    }),
  }));
}

export const offsetFetchApi = api({
  key: ApiKey.OffsetFetch,
  min: 0,
  max: 8,
  request: schema(
    6,
    f('GroupId', 'string', '0-7'),
    f('Topics', fetchTopics, '0-7'),
    f('Groups', arrayOf([f('GroupId', 'string'), f('Topics', fetchTopics)]), '8+'),
    f('RequireStable', 'bool', '7+'),
  ),
  response: schema(
    6,
    f('ThrottleTimeMs', 'int32', '3+'),
    f('Topics', arrayOf([f('Name', 'string'), f('Partitions', partitionOffsets)]), '0-7'),
    f('ErrorCode', 'int16', '2-7'),
    f('Groups', arrayOf([f('GroupId', 'string'), f('Topics', arrayOf([f('Name', 'string'), f('Partitions', partitionOffsets)])), f('ErrorCode', 'int16')]), '8+'),
  ),
  handle(raw, ctx) {
    const groups = raw.Groups as readonly { GroupId: string; Topics: Wanted }[];
    return {
      ThrottleTimeMs: 0,
      Topics: ctx.version < 8 ? groupOffsets(raw.GroupId as string, raw.Topics as Wanted, ctx) : [],
      ErrorCode: ErrorCode.NONE,
      Groups: groups.map((g) => ({ GroupId: g.GroupId, Topics: groupOffsets(g.GroupId, g.Topics, ctx), ErrorCode: ErrorCode.NONE })),
    };
  },
});
