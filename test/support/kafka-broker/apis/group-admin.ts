/** DescribeGroups (key 15) v0–5, ListGroups (16) v0–4 and DeleteGroups (42) v0–2. */
import { ApiKey, ErrorCode } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api } from './api.js';

/** -2^31: "authorized operations not requested". */
const NO_OPERATIONS = -2147483648;

export const describeGroupsApi = api({
  key: ApiKey.DescribeGroups,
  min: 0,
  max: 5,
  request: schema(5, f('Groups', arrayOf('string')), f('IncludeAuthorizedOperations', 'bool', '3+')),
  response: schema(
    5,
    f('ThrottleTimeMs', 'int32', '1+'),
    f(
      'Groups',
      arrayOf([
        f('ErrorCode', 'int16'),
        f('GroupId', 'string'),
        f('GroupState', 'string'),
        f('ProtocolType', 'string'),
        f('ProtocolData', 'string'),
        f(
          'Members',
          arrayOf([
            f('MemberId', 'string'),
            f('GroupInstanceId', 'string', '4+'),
            f('ClientId', 'string'),
            f('ClientHost', 'string'),
            f('MemberMetadata', 'bytes'),
            f('MemberAssignment', 'bytes'),
          ]),
        ),
        f('AuthorizedOperations', 'int32', '3+'),
      ]),
    ),
  ),
  handle(raw, ctx) {
    const Groups = (raw.Groups as string[]).map((groupId) => {
      const g = ctx.groups.describe(groupId);
      return {
        ErrorCode: ErrorCode.NONE,
        GroupId: g.groupId,
        GroupState: g.state === 'Dead' && ctx.offsets.has(groupId) ? 'Empty' : g.state,
        ProtocolType: g.protocolType,
        ProtocolData: g.protocol,
        Members: g.members.map((m) => ({
          MemberId: m.memberId,
          GroupInstanceId: m.instanceId,
          ClientId: m.clientId,
          ClientHost: m.clientHost,
          MemberMetadata: m.metadata,
          MemberAssignment: m.assignment,
        })),
        AuthorizedOperations: NO_OPERATIONS,
      };
    });
    return { ThrottleTimeMs: 0, Groups };
  },
});

export const listGroupsApi = api({
  key: ApiKey.ListGroups,
  min: 0,
  max: 4,
  request: schema(3, f('StatesFilter', arrayOf('string'), '4+')),
  response: schema(
    3,
    f('ThrottleTimeMs', 'int32', '1+'),
    f('ErrorCode', 'int16'),
    f('Groups', arrayOf([f('GroupId', 'string'), f('ProtocolType', 'string'), f('GroupState', 'string', '4+')])),
  ),
  handle(raw, ctx) {
    const live = ctx.groups.list();
    const offsetsOnly = ctx.offsets.groups().filter((id) => !live.some((g) => g.groupId === id));
    const all = [...live, ...offsetsOnly.map((groupId) => ({ groupId, protocolType: 'consumer', state: 'Empty' }))];
    const states = raw.StatesFilter as string[];
    const Groups = all
      .filter((g) => states.length === 0 || states.includes(g.state))
      .map((g) => ({ GroupId: g.groupId, ProtocolType: g.protocolType, GroupState: g.state }));
    return { ThrottleTimeMs: 0, ErrorCode: ErrorCode.NONE, Groups };
  },
});

export const deleteGroupsApi = api({
  key: ApiKey.DeleteGroups,
  min: 0,
  max: 2,
  request: schema(2, f('GroupsNames', arrayOf('string'))),
  response: schema(2, f('ThrottleTimeMs', 'int32'), f('Results', arrayOf([f('GroupId', 'string'), f('ErrorCode', 'int16')]))),
  handle(raw, ctx) {
    const Results = (raw.GroupsNames as string[]).map((GroupId) => {
      const known = ctx.offsets.has(GroupId) || ctx.groups.list().some((g) => g.groupId === GroupId);
      let error: number = known ? ctx.groups.delete(GroupId) : ErrorCode.GROUP_ID_NOT_FOUND;
      if (error === ErrorCode.NONE) ctx.offsets.forgetGroup(GroupId);
      else if (!known) error = ErrorCode.GROUP_ID_NOT_FOUND;
      return { GroupId, ErrorCode: error };
    });
    return { ThrottleTimeMs: 0, Results };
  },
});
