/**
 * The group coordinator: membership with a join barrier and a rebalance timeout, the
 * leader's assignment handed out by SyncGroup, heartbeats that report a rebalance, session
 * expiry and static members (`group.instance.id`). Membership does not survive a broker
 * stop/start (as after a coordinator failover); committed offsets (offsets.ts) do.
 */
import { randomUUID } from 'node:crypto';
import { EMPTY, Group, joinError, selectProtocol, type GroupDescription, type JoinRequest, type JoinResult, type Member, type SyncResult } from './group-state.js';
import { ErrorCode, type ErrorCodeValue } from './protocol.js';

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
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
    const refused = this.refuseJoin(request);
    if (refused !== null) return Promise.resolve(joinError(refused, request.memberId));
    const group = this.group(request.groupId);
    const known = request.instanceId === null ? undefined : [...group.members.values()].find((m) => m.instanceId === request.instanceId);
    if (known && request.memberId === '' && group.state === 'Stable') return Promise.resolve(this.replaceStatic(group, known, request));
    if (known && request.memberId !== '' && known.id !== request.memberId) {
      return Promise.resolve(joinError(ErrorCode.FENCED_INSTANCE_ID, request.memberId));
    }
    if (request.memberId !== '' && !group.members.has(request.memberId) && !group.pendingIds.delete(request.memberId)) {
      return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId));
    }
    if (request.memberId === '' && request.instanceId === null && request.requireKnownMemberId) {
      const id = `${request.clientId}-${randomUUID()}`;
      group.pendingIds.add(id);
      return Promise.resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, id));
    }
    if (!this.protocolsFit(group, request)) {
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId));
    }
    const member = known ?? group.members.get(request.memberId) ?? this.newMember(group, request.memberId || `${request.clientId}-${randomUUID()}`, request);
    Object.assign(member, {
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocols: request.protocols,
      lastSeen: Date.now(),
    });
    this.releasePending(member, ErrorCode.REBALANCE_IN_PROGRESS);
    return new Promise((resolve) => {
      member.awaitingJoin = resolve;
      if (group.state !== 'PreparingRebalance') this.prepareRebalance(group);
      this.maybeCompleteJoin(group);
    });
  }

  private refuseJoin(request: JoinRequest): ErrorCodeValue | null {
    if (request.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    if (request.sessionTimeoutMs <= 0) return ErrorCode.INVALID_SESSION_TIMEOUT;
    return null;
  }

  private newMember(group: Group, id: string, request: JoinRequest): Member {
    const member: Member = {
      id,
      instanceId: request.instanceId,
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
    group.members.set(id, member);
    return member;
  }

  /**
   * A static member back under a new member id while the group is stable: the old id is
   * fenced and the new one takes its place and assignment, with no rebalance (KIP-345).
   */
  private replaceStatic(group: Group, old: Member, request: JoinRequest): JoinResult {
    group.members.delete(old.id);
    this.releasePending(old, ErrorCode.FENCED_INSTANCE_ID);
    const member = this.newMember(group, `${request.clientId}-${randomUUID()}`, request);
    member.assignment = old.assignment;
    if (group.leaderId === old.id) group.leaderId = member.id;
    return { errorCode: ErrorCode.NONE, generationId: group.generation, protocol: group.protocol, leaderId: group.leaderId, memberId: member.id, members: [] };
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

  /** A static member may leave by its instance id alone (LeaveGroup v3+, member id ''). */
  leave(groupId: string, memberId: string, instanceId: string | null = null): ErrorCodeValue {
    const group = this.groups.get(groupId);
    const members = [...(group?.members.values() ?? [])];
    const member = members.find((m) => (memberId !== '' ? m.id === memberId : instanceId !== null && m.instanceId === instanceId));
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (instanceId !== null && member.instanceId !== instanceId) return ErrorCode.FENCED_INSTANCE_ID;
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
        instanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: m.protocols.find((p) => p.name === group.protocol)?.metadata ?? EMPTY,
        assignment: m.assignment,
      })),
    };
  }

  /** Groups with members (or none left), for ListGroups. */
  list(): { groupId: string; protocolType: string; state: string }[] {
    return [...this.groups.values()].map((g) => ({ groupId: g.id, protocolType: g.protocolType, state: g.state }));
  }

  /** DeleteGroups: only a group without members can go. */
  delete(groupId: string): ErrorCodeValue {
    const group = this.groups.get(groupId);
    if (group && group.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    this.groups.delete(groupId);
    return ErrorCode.NONE;
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
    group.protocol = selectProtocol(members);
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
