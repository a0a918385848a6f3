/**
 * The consumer-group membership APIs: FindCoordinator (key 10) v0–4, JoinGroup (11) v0–9,
 * SyncGroup (14) v0–5, Heartbeat (12) v0–4 and LeaveGroup (13) v0–5. This broker is the
 * coordinator of every group.
 */
import { ApiKey, ErrorCode } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api } from './api.js';

const EMPTY = Buffer.alloc(0);

export const findCoordinatorApi = api({
  key: ApiKey.FindCoordinator,
  min: 0,
  max: 4,
  request: schema(3, f('Key', 'string', '0-3'), f('KeyType', 'int8', '1+'), f('CoordinatorKeys', arrayOf('string'), '4+')),
  response: schema(
    3,
    f('ThrottleTimeMs', 'int32', '1+'),
    f('ErrorCode', 'int16', '0-3'),
    f('ErrorMessage', 'string', '1-3'),
    f('NodeId', 'int32', '0-3'),
    f('Host', 'string', '0-3'),
    f('Port', 'int32', '0-3'),
    f(
      'Coordinators',
      arrayOf([f('Key', 'string'), f('NodeId', 'int32'), f('Host', 'string'), f('Port', 'int32'), f('ErrorCode', 'int16'), f('ErrorMessage', 'string')]),
      '4+',
    ),
  ),
  handle(raw, ctx) {
    const keys = raw.CoordinatorKeys as string[];
    const me = { NodeId: ctx.nodeId, Host: ctx.host, Port: ctx.port, ErrorCode: ErrorCode.NONE, ErrorMessage: null };
    return { ThrottleTimeMs: 0, ...me, Coordinators: keys.map((Key) => ({ Key, ...me })) };
  },
});

interface JoinGroupRequest {
  readonly GroupId: string;
  readonly SessionTimeoutMs: number;
  readonly RebalanceTimeoutMs: number;
  readonly MemberId: string;
  readonly GroupInstanceId: string | null;
  readonly ProtocolType: string;
  readonly Protocols: readonly { readonly Name: string; readonly Metadata: Buffer | null }[];
}

export const joinGroupApi = api({
  key: ApiKey.JoinGroup,
  min: 0,
  max: 9,
  request: schema(
    6,
    f('GroupId', 'string'),
    f('SessionTimeoutMs', 'int32'),
    f('RebalanceTimeoutMs', 'int32', '1+', -1),
    f('MemberId', 'string'),
    f('GroupInstanceId', 'string', '5+'),
    f('ProtocolType', 'string'),
    f('Protocols', arrayOf([f('Name', 'string'), f('Metadata', 'bytes')])),
    f('Reason', 'string', '8+'),
  ),
  response: schema(
    6,
    f('ThrottleTimeMs', 'int32', '2+'),
    f('ErrorCode', 'int16'),
    f('GenerationId', 'int32'),
    f('ProtocolType', 'string', '7+'),
    f('ProtocolName', 'string'),
    f('Leader', 'string'),
    f('SkipAssignment', 'bool', '9+'),
    f('MemberId', 'string'),
    f('Members', arrayOf([f('MemberId', 'string'), f('GroupInstanceId', 'string', '5+'), f('Metadata', 'bytes')])),
  ),
  async handle(raw, ctx) {
    const req = raw as unknown as JoinGroupRequest;
    const result = await ctx.groups.join({
      groupId: req.GroupId,
      sessionTimeoutMs: req.SessionTimeoutMs,
      // v0 has no rebalance timeout: Kafka uses the session timeout.
      rebalanceTimeoutMs: req.RebalanceTimeoutMs === -1 ? req.SessionTimeoutMs : req.RebalanceTimeoutMs,
      memberId: req.MemberId,
      instanceId: req.GroupInstanceId,
      requireKnownMemberId: ctx.version >= 4,
      protocolType: req.ProtocolType,
      protocols: req.Protocols.map((p) => ({ name: p.Name, metadata: p.Metadata ?? EMPTY })),
      clientId: ctx.clientId,
      clientHost: ctx.clientHost,
    });
    const instances = new Map(ctx.groups.describe(req.GroupId).members.map((m) => [m.memberId, m.instanceId]));
    return {
      ThrottleTimeMs: 0,
      ErrorCode: result.errorCode,
      GenerationId: result.generationId,
      ProtocolType: result.errorCode === ErrorCode.NONE ? req.ProtocolType : null,
      ProtocolName: ctx.version >= 7 && result.protocol === '' ? null : result.protocol,
      Leader: result.leaderId,
      SkipAssignment: false,
      MemberId: result.memberId,
      Members: result.members.map((m) => ({ MemberId: m.memberId, GroupInstanceId: instances.get(m.memberId) ?? null, Metadata: m.metadata })),
    };
  },
});

interface SyncGroupRequest {
  readonly GroupId: string;
  readonly GenerationId: number;
  readonly MemberId: string;
  readonly Assignments: readonly { readonly MemberId: string; readonly Assignment: Buffer | null }[];
}

export const syncGroupApi = api({
  key: ApiKey.SyncGroup,
  min: 0,
  max: 5,
  request: schema(
    4,
    f('GroupId', 'string'),
    f('GenerationId', 'int32'),
    f('MemberId', 'string'),
    f('GroupInstanceId', 'string', '3+'),
    f('ProtocolType', 'string', '5+'),
    f('ProtocolName', 'string', '5+'),
    f('Assignments', arrayOf([f('MemberId', 'string'), f('Assignment', 'bytes')])),
  ),
  response: schema(
    4,
    f('ThrottleTimeMs', 'int32', '1+'),
    f('ErrorCode', 'int16'),
    f('ProtocolType', 'string', '5+'),
    f('ProtocolName', 'string', '5+'),
    f('Assignment', 'bytes'),
  ),
  async handle(raw, ctx) {
    const req = raw as unknown as SyncGroupRequest;
    const assignments = new Map(req.Assignments.map((a) => [a.MemberId, a.Assignment ?? EMPTY] as const));
    const result = await ctx.groups.sync(req.GroupId, req.GenerationId, req.MemberId, assignments);
    const group = ctx.groups.describe(req.GroupId);
    return { ThrottleTimeMs: 0, ErrorCode: result.errorCode, ProtocolType: group.protocolType, ProtocolName: group.protocol, Assignment: result.assignment };
  },
});

export const heartbeatApi = api({
  key: ApiKey.Heartbeat,
  min: 0,
  max: 4,
  request: schema(4, f('GroupId', 'string'), f('GenerationId', 'int32'), f('MemberId', 'string'), f('GroupInstanceId', 'string', '3+')),
  response: schema(4, f('ThrottleTimeMs', 'int32', '1+'), f('ErrorCode', 'int16')),
  handle: (raw, ctx) => ({
    ThrottleTimeMs: 0,
    ErrorCode: ctx.groups.heartbeat(raw.GroupId as string, raw.GenerationId as number, raw.MemberId as string),
  }),
});

interface LeaveGroupRequest {
  readonly GroupId: string;
  readonly MemberId: string;
  readonly Members: readonly { readonly MemberId: string; readonly GroupInstanceId: string | null }[];
}

export const leaveGroupApi = api({
  key: ApiKey.LeaveGroup,
  min: 0,
  max: 5,
  request: schema(
    4,
    f('GroupId', 'string'),
    f('MemberId', 'string', '0-2'),
    f('Members', arrayOf([f('MemberId', 'string'), f('GroupInstanceId', 'string'), f('Reason', 'string', '5+')]), '3+'),
  ),
  response: schema(
    4,
    f('ThrottleTimeMs', 'int32', '1+'),
    f('ErrorCode', 'int16'),
    f('Members', arrayOf([f('MemberId', 'string'), f('GroupInstanceId', 'string'), f('ErrorCode', 'int16')]), '3+'),
  ),
  handle(raw, ctx) {
    const req = raw as unknown as LeaveGroupRequest;
    if (ctx.version < 3) return { ThrottleTimeMs: 0, ErrorCode: ctx.groups.leave(req.GroupId, req.MemberId) };
    const Members = req.Members.map((m) => ({ ...m, ErrorCode: ctx.groups.leave(req.GroupId, m.MemberId, m.GroupInstanceId) }));
    return { ThrottleTimeMs: 0, ErrorCode: ErrorCode.NONE, Members };
  },
});
