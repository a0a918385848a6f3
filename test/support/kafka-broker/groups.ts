/**
 * The group coordinator: membership with a join barrier and a rebalance timeout, the
 * leader's assignment handed out by SyncGroup, heartbeats that report a rebalance, session
 * expiry, and committed offsets per group (kept across a broker stop/start; membership is
 * not, as after a coordinator failover).
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, type ErrorCodeValue } from './protocol.js';

type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface JoinRequest {
  readonly groupId: string;
  readonly memberId: string;
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

interface Member {
  readonly id: string;
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
    readonly clientId: string;
    readonly clientHost: string;
    readonly metadata: Buffer;
    readonly assignment: Buffer;
  }[];
}

const EMPTY = Buffer.alloc(0);

class Group {
  state: GroupState = 'Empty';
  generation = 0;
  protocolType = '';
  protocol = '';
  leaderId = '';
  readonly members = new Map<string, Member>();
  joinTimer: NodeJS.Timeout | null = null;

  constructor(readonly id: string) {}
}

function joinError(errorCode: ErrorCodeValue, memberId: string): JoinResult {
  return { errorCode, generationId: -1, protocol: '', leaderId: '', memberId, members: [] };
}

export interface CommittedOffset {
  readonly offset: number;
  readonly metadata: string | null;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  /** group → topic → partition → committed offset. */
  private readonly offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  private expiryTimer: NodeJS.Timeout | null = null;

  /** Starts the session-expiry check. */
  start(): void {
    this.expiryTimer ??= setInterval(() => this.expireSessions(Date.now()), 100);
    this.expiryTimer.unref();
  }

  /** Broker stop: membership is dropped (members rejoin on UNKNOWN_MEMBER_ID); offsets stay. */
  stop(): void {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.expiryTimer = null;
    for (const group of this.groups.values()) {
      if (group.joinTimer) clearTimeout(group.joinTimer);
      group.joinTimer = null;
      for (const member of group.members.values()) this.releasePending(member, ErrorCode.UNKNOWN_MEMBER_ID);
      group.members.clear();
      group.state = 'Empty';
      group.leaderId = '';
    }
  }

  join(request: JoinRequest): Promise<JoinResult> {
    if (request.groupId === '') return Promise.resolve(joinError(ErrorCode.INVALID_GROUP_ID, request.memberId));
    if (request.sessionTimeoutMs <= 0) {
      return Promise.resolve(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, request.memberId));
    }
    const group = this.group(request.groupId);
    if (request.memberId !== '' && !group.members.has(request.memberId)) {
      return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId));
    }
    if (!this.protocolsFit(group, request)) {
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId));
    }
    let member = group.members.get(request.memberId);
    if (!member) {
      member = {
        id: `${request.clientId}-${randomUUID()}`,
        clientId: request.clientId,
        clientHost: request.clientHost,
        sessionTimeoutMs: request.sessionTimeoutMs,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs,
        protocolType: request.protocolType,
        protocols: request.protocols,
        assignment: EMPTY,
        lastSeen: Date.now(),
        awaitingJoin: null,
        awaitingSync: null,
      };
      group.members.set(member.id, member);
    } else {
      Object.assign(member, {
        sessionTimeoutMs: request.sessionTimeoutMs,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs,
        protocols: request.protocols,
        lastSeen: Date.now(),
      });
      this.releasePending(member, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    const joining = member;
    return new Promise((resolve) => {
      joining.awaitingJoin = resolve;
      if (group.state !== 'PreparingRebalance') this.prepareRebalance(group);
      this.maybeCompleteJoin(group);
    });
  }

  sync(groupId: string, generationId: number, memberId: string, assignments: ReadonlyMap<string, Buffer>): Promise<SyncResult> {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return Promise.resolve({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    if (generationId !== group.generation) return Promise.resolve({ errorCode: ErrorCode.ILLEGAL_GENERATION, assignment: EMPTY });
    member.lastSeen = Date.now();
    if (group.state === 'PreparingRebalance' || group.state === 'Empty') {
      return Promise.resolve({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
    }
    if (group.state === 'Stable') return Promise.resolve({ errorCode: ErrorCode.NONE, assignment: member.assignment });
    return new Promise((resolve) => {
      member.awaitingSync = resolve;
      if (memberId !== group.leaderId) return;
      for (const m of group.members.values()) m.assignment = assignments.get(m.id) ?? EMPTY;
      group.state = 'Stable';
      for (const m of group.members.values()) {
        const waiting = m.awaitingSync;
        m.awaitingSync = null;
        m.lastSeen = Date.now();
        waiting?.({ errorCode: ErrorCode.NONE, assignment: m.assignment });
      }
    });
  }

  heartbeat(groupId: string, generationId: number, memberId: string): ErrorCodeValue {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    member.lastSeen = Date.now();
    if (group.state === 'PreparingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    if (generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  leave(groupId: string, memberId: string): ErrorCodeValue {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(group, member);
    return ErrorCode.NONE;
  }

  /** Validates a commit against the generation; -1/'' is a commit from outside the group. */
  checkCommit(groupId: string, generationId: number, memberId: string): ErrorCodeValue {
    if (generationId === -1 && memberId === '') return ErrorCode.NONE;
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    if (generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION;
    member.lastSeen = Date.now();
    return ErrorCode.NONE;
  }

  commit(groupId: string, topic: string, partition: number, committed: CommittedOffset): void {
    let topics = this.offsets.get(groupId);
    if (!topics) this.offsets.set(groupId, (topics = new Map<string, Map<number, CommittedOffset>>()));
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, (partitions = new Map<number, CommittedOffset>()));
    partitions.set(partition, committed);
  }

  committed(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId)?.get(topic)?.get(partition);
  }

  forgetTopic(topic: string): void {
    for (const topics of this.offsets.values()) topics.delete(topic);
  }

  describe(groupId: string): GroupDescription {
    const group = this.groups.get(groupId);
    if (!group) return { groupId, state: 'Dead', protocolType: '', protocol: '', members: [] };
    return {
      groupId,
      state: group.state,
      protocolType: group.protocolType,
      protocol: group.protocol,
      members: [...group.members.values()].map((m) => ({
        memberId: m.id,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: m.protocols.find((p) => p.name === group.protocol)?.metadata ?? EMPTY,
        assignment: m.assignment,
      })),
    };
  }

  list(): { groupId: string; protocolType: string }[] {
    const listed = [...this.groups.values()].map((g) => ({ groupId: g.id, protocolType: g.protocolType }));
    for (const groupId of this.offsets.keys()) {
      if (!this.groups.has(groupId)) listed.push({ groupId, protocolType: 'consumer' });
    }
    return listed;
  }

  private group(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (!group) this.groups.set(groupId, (group = new Group(groupId)));
    return group;
  }

  private protocolsFit(group: Group, request: JoinRequest): boolean {
    if (request.protocols.length === 0 || request.protocolType === '') return false;
    const others = [...group.members.values()].filter((m) => m.id !== request.memberId);
    if (others.length === 0) return true;
    if (others.some((m) => m.protocolType !== request.protocolType)) return false;
    return request.protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  private prepareRebalance(group: Group): void {
    if (group.state === 'CompletingRebalance') {
      for (const member of group.members.values()) {
        const waiting = member.awaitingSync;
        member.awaitingSync = null;
        waiting?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
      }
    }
    group.state = 'PreparingRebalance';
    if (group.joinTimer) clearTimeout(group.joinTimer);
    const timeout = Math.max(0, ...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    group.joinTimer = setTimeout(() => this.completeJoin(group), timeout);
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    if ([...group.members.values()].every((m) => m.awaitingJoin !== null)) this.completeJoin(group);
  }

  /** The join barrier falls: members that did not rejoin in time are dropped. */
  private completeJoin(group: Group): void {
    if (group.joinTimer) clearTimeout(group.joinTimer);
    group.joinTimer = null;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null) group.members.delete(member.id);
    }
    group.generation += 1;
    if (group.members.size === 0) {
      Object.assign(group, { state: 'Empty', protocol: '', leaderId: '' });
      return;
    }
    const members = [...group.members.values()];
    group.protocolType = members[0]!.protocolType;
    group.protocol = this.selectProtocol(members);
    if (!group.members.has(group.leaderId)) group.leaderId = members[0]!.id;
    group.state = 'CompletingRebalance';
    const metadata = members.map((m) => ({
      memberId: m.id,
      metadata: m.protocols.find((p) => p.name === group.protocol)?.metadata ?? EMPTY,
    }));
    for (const member of members) {
      const waiting = member.awaitingJoin;
      member.awaitingJoin = null;
      member.lastSeen = Date.now();
      waiting?.({
        errorCode: ErrorCode.NONE,
        generationId: group.generation,
        protocol: group.protocol,
        leaderId: group.leaderId,
        memberId: member.id,
        members: member.id === group.leaderId ? metadata : [],
      });
    }
  }

  /** Each member votes for its most preferred protocol that every member supports. */
  private selectProtocol(members: readonly Member[]): string {
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

  private removeMember(group: Group, member: Member): void {
    group.members.delete(member.id);
    this.releasePending(member, ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.members.size === 0) {
      if (group.joinTimer) clearTimeout(group.joinTimer);
      group.joinTimer = null;
      group.generation += 1;
      Object.assign(group, { state: 'Empty', protocol: '', leaderId: '' });
    } else if (group.state === 'PreparingRebalance') {
      this.maybeCompleteJoin(group);
    } else {
      this.prepareRebalance(group);
    }
  }

  private releasePending(member: Member, errorCode: ErrorCodeValue): void {
    const join = member.awaitingJoin;
    const sync = member.awaitingSync;
    member.awaitingJoin = null;
    member.awaitingSync = null;
    join?.(joinError(errorCode, member.id));
    sync?.({ errorCode, assignment: EMPTY });
  }

  private expireSessions(now: number): void {
    for (const group of this.groups.values()) {
      for (const member of [...group.members.values()]) {
        const waiting = member.awaitingJoin !== null || member.awaitingSync !== null;
        if (!waiting && now - member.lastSeen > member.sessionTimeoutMs) this.removeMember(group, member);
      }
    }
  }
}
