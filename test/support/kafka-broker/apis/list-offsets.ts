/** ListOffsets (key 2) v0–7: latest (-1), earliest (-2), max timestamp (-3) or by timestamp. */
import { ApiKey, ErrorCode } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api } from './api.js';

const request = schema(
  6,
  f('ReplicaId', 'int32'),
  f('IsolationLevel', 'int8', '2+'),
  f(
    'Topics',
    arrayOf([
      f('Name', 'string'),
      f(
        'Partitions',
        arrayOf([
          f('PartitionIndex', 'int32'),
          f('CurrentLeaderEpoch', 'int32', '4+', -1),
          f('Timestamp', 'int64'),
          f('MaxNumOffsets', 'int32', '0', 1),
        ]),
      ),
    ]),
  ),
);

const response = schema(
  6,
  f('ThrottleTimeMs', 'int32', '2+'),
  f(
    'Topics',
    arrayOf([
      f('Name', 'string'),
      f(
        'Partitions',
        arrayOf([
          f('PartitionIndex', 'int32'),
          f('ErrorCode', 'int16'),
          f('OldStyleOffsets', arrayOf('int64'), '0'),
          f('Timestamp', 'int64', '1+'),
          f('Offset', 'int64', '1+'),
          f('LeaderEpoch', 'int32', '4+'),
        ]),
      ),
    ]),
  ),
);

interface ListOffsetsRequest {
  readonly Topics: readonly { readonly Name: string; readonly Partitions: readonly { readonly PartitionIndex: number; readonly Timestamp: bigint }[] }[];
}

export const listOffsetsApi = api({
  key: ApiKey.ListOffsets,
  min: 0,
  max: 7,
  request,
  response,
  handle(raw, ctx) {
    const req = raw as unknown as ListOffsetsRequest;
    return {
      ThrottleTimeMs: 0,
      Topics: req.Topics.map((t) => ({
        Name: t.Name,
        Partitions: t.Partitions.map(({ PartitionIndex, Timestamp }) => {
          const log = ctx.logs.partition(t.Name, PartitionIndex);
          const offset = log ? log.offsetFor(Number(Timestamp)) : -1;
          return {
            PartitionIndex,
            ErrorCode: log ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            OldStyleOffsets: offset >= 0 ? [BigInt(offset)] : [],
            Timestamp: -1n,
            Offset: BigInt(offset),
            LeaderEpoch: 0,
          };
        }),
      })),
    };
  },
});
