/**
 * The shapes the group coordinator (groups.ts) works on: a group, its members, and the
 * join and sync requests and results.
 */
import type { ErrorCodeValue } from './protocol.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface JoinRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly instanceId: string | null;
  /** v4+: a member without an id is given one and asked to rejoin with it (KIP-394). */
  readonly requireKnownMemberId: boolean;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly { readonly name: string; readonly metadata: Buffer }[];
}

export interface JoinResult {
  readonly errorCode: ErrorCodeValue;
  readonly generationId: number;
  readonly protocol: string;
  readonly leaderId: string;
  readonly memberId: string;
  readonly members: readonly { readonly memberId: string; readonly metadata: Buffer }[];
}

export interface SyncResult {
  readonly errorCode: ErrorCodeValue;
  readonly assignment: Buffer;
}

export interface Member {
  readonly id: string;
  /** KIP-345 static membership: `group.instance.id`, or null. */
  readonly instanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: readonly { readonly name: string; readonly metadata: Buffer }[];
  assignment: Buffer;
  lastSeen: number;
  awaitingJoin: ((result: JoinResult) => void) | null;
  awaitingSync: ((result: SyncResult) => void) | null;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: GroupState | 'Dead';
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly {
    readonly memberId: string;
    readonly instanceId: string | null;
    readonly clientId: string;
    readonly clientHost: string;
    readonly metadata: Buffer;
    readonly assignment: Buffer;
  }[];
}

export const EMPTY = Buffer.alloc(0);

export class Group {
  state: GroupState = 'Empty';
  generation = 0;
  protocolType = '';
  protocol = '';
  leaderId = '';
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not joined yet. */
  readonly pendingIds = new Set<string>();
  joinTimer: NodeJS.Timeout | null = null;

  constructor(readonly id: string) {}
}

export function joinError(errorCode: ErrorCodeValue, memberId: string): JoinResult {
  return { errorCode, generationId: -1, protocol: '', leaderId: '', memberId, members: [] };
}

/** Each member votes for its most preferred protocol that every member supports. */
export function selectProtocol(members: readonly Member[]): string {
  const common = (members[0]?.protocols ?? [])
    .map((p) => p.name)
    .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
  const votes = new Map<string, number>();
  for (const m of members) {
    const vote = m.protocols.find((p) => common.includes(p.name))?.name;
    if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
  }
  let best = common[0] ?? '';
  for (const name of common) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
  return best;
}
