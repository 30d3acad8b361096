// The classic group coordinator, modelled on Kafka's GroupCoordinator.scala:
// JoinGroup / SyncGroup / Heartbeat / LeaveGroup drive each group through
// Empty → PreparingRebalance → CompletingRebalance → Stable (→ Dead), with the
// same checks in the same order, so clients see the error codes Kafka sends.
//
// Membership lives in memory (members rejoin after a restart); committed
// offsets and each group's generation are written to the metadata store
// before a commit is acknowledged. Timers bound every wait: a member that
// stops heartbeating is evicted after its session timeout, a join phase ends
// after the group's rebalance timeout without the members that did not
// rejoin, and members that do not SyncGroup within it are removed too.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CommittedOffset, MetadataStore } from '../metadata/types.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  ClassicGroup,
  GroupMember,
  joinError,
  syncError,
  type GroupProtocol,
  type GroupState,
  type JoinResult,
  type SyncResult,
} from './group.js';

export interface GroupCoordinatorConfig {
  readonly initialRebalanceDelayMs: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly maxSize: number;
  readonly offsetsRetentionMs: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly offsetMetadataMaxBytes: number;
}

/** Kafka's group.coordinator new-member join timeout: a joining member that never completes a join phase is dropped. */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export interface JoinGroupRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly GroupProtocol[];
  /** v4+: a first join gets MEMBER_ID_REQUIRED (KIP-394). */
  readonly requireKnownMemberId: boolean;
  /** v9+: a static leader's rejoin may skip the assignment (KIP-814). */
  readonly supportSkippingAssignment: boolean;
  readonly reason: string | null;
}

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { memberId: string; assignment: Buffer }[];
}

export interface MemberIdentity {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** OffsetCommit v2-v4 retention time; -1 when absent. */
  readonly retentionTimeMs: number;
  readonly offsets: readonly OffsetToCommit[];
}

export interface FetchedOffset {
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly errorCode: number;
}

export interface FetchedTopic {
  readonly name: string;
  readonly partitions: FetchedOffset[];
}

export interface GroupDescription {
  readonly errorCode: number;
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly members: readonly {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

type CoordinatorState = 'loading' | 'active' | 'stopped';

export class GroupCoordinator {
  private readonly groups = new Map<string, ClassicGroup>();
  private status: CoordinatorState = 'loading';
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly meta: MetadataStore,
    private readonly config: GroupCoordinatorConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads every group's generation and offsets; until then requests get COORDINATOR_LOAD_IN_PROGRESS. */
  async load(): Promise<void> {
    const stored = await this.meta.loadGroups();
    const now = this.now();
    for (const r of stored.groups) {
      const g = new ClassicGroup(r.groupId, r.state === 'Empty' ? r.stateTimestamp : now);
      g.generationId = r.generationId;
      g.protocolType = r.protocolType;
      this.groups.set(r.groupId, g);
    }
    for (const o of stored.offsets) {
      let g = this.groups.get(o.groupId);
      if (g === undefined) this.groups.set(o.groupId, (g = new ClassicGroup(o.groupId, now)));
      g.putOffset(o);
    }
    this.status = 'active';
    this.expiryTimer = setInterval(() => void this.expireOffsets(), this.config.offsetsRetentionCheckIntervalMs);
    this.expiryTimer.unref();
    this.log.info({ groups: this.groups.size, offsets: stored.offsets.length }, 'group coordinator loaded');
  }

  /** Answers every waiting JoinGroup and SyncGroup with NOT_COORDINATOR, as Kafka does when it unloads a group. */
  shutdown(): void {
    this.status = 'stopped';
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    for (const g of this.groups.values()) {
      this.clearJoinTimer(g);
      this.clearSyncTimer(g);
      for (const t of g.pendingMembers.values()) clearTimeout(t);
      for (const m of g.members.values()) {
        if (m.heartbeatTimer !== null) clearTimeout(m.heartbeatTimer);
        g.maybeInvokeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        g.maybeInvokeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
  }

  private unavailable(): number | null {
    if (this.status === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (this.status === 'stopped') return ErrorCode.NOT_COORDINATOR;
    return null;
  }

  /** Group-management APIs need a non-empty id; offset APIs and admin accept "" for compatibility (Kafka's isValidGroupId). */
  private groupError(groupId: string, allowEmpty: boolean): number | null {
    if (!allowEmpty && groupId === '') return ErrorCode.INVALID_GROUP_ID;
    return this.unavailable();
  }

  // -------------------------------------------------------------------------
  // JoinGroup

  joinGroup(req: JoinGroupRequest): Promise<JoinResult> {
    const err = this.groupError(req.groupId, false);
    if (err !== null) return Promise.resolve(joinError(req.memberId, err));
    if (req.sessionTimeoutMs < this.config.minSessionTimeoutMs || req.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const isUnknownMember = req.memberId === '';
    let group = this.groups.get(req.groupId);
    if (group === undefined) {
      if (!isUnknownMember) return Promise.resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new ClassicGroup(req.groupId, this.now());
      this.groups.set(req.groupId, group);
    }
    const g = group;
    if (!this.acceptJoiningMember(g, req.memberId)) {
      return Promise.resolve(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    return new Promise<JoinResult>((resolve) => {
      if (isUnknownMember) this.newMemberJoin(g, req, resolve);
      else this.existingMemberJoin(g, req, resolve);
      if (g.is('PreparingRebalance')) this.tryCompleteJoin(g);
    });
  }

  private acceptJoiningMember(g: ClassicGroup, memberId: string): boolean {
    switch (g.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (g.has(memberId) && g.members.get(memberId)!.awaitingJoin !== null) || g.numAwaitingJoin() < this.config.maxSize;
      default:
        return g.has(memberId) || g.size < this.config.maxSize;
    }
  }

  private newMemberJoin(g: ClassicGroup, req: JoinGroupRequest, resolve: (r: JoinResult) => void): void {
    if (g.is('Dead')) return resolve(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!g.supportsProtocols(req.protocolType, req.protocols)) return resolve(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const newMemberId = `${req.groupInstanceId ?? req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      if (g.staticMembers.has(req.groupInstanceId)) this.updateStaticMemberAndRebalance(g, newMemberId, req, resolve);
      else this.addMemberAndRebalance(g, newMemberId, req, resolve);
    } else if (req.requireKnownMemberId) {
      // KIP-394: the member must come back with this id; until it does it
      // holds no place in the group, and it is forgotten after a session timeout.
      const timer = setTimeout(() => this.expirePendingMember(g, newMemberId), req.sessionTimeoutMs);
      timer.unref();
      g.pendingMembers.set(newMemberId, timer);
      resolve(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(g, newMemberId, req, resolve);
    }
  }

  private existingMemberJoin(g: ClassicGroup, req: JoinGroupRequest, resolve: (r: JoinResult) => void): void {
    if (g.is('Dead')) return resolve(joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!g.supportsProtocols(req.protocolType, req.protocols)) return resolve(joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const pending = g.pendingMembers.get(req.memberId);
    if (pending !== undefined) {
      // A pending member id is never static; Kafka treats the combination as a bug.
      if (req.groupInstanceId !== null) return resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      clearTimeout(pending);
      g.pendingMembers.delete(req.memberId);
      return this.addMemberAndRebalance(g, req.memberId, req, resolve);
    }
    const memberError = this.validateCurrentMember(g, req.memberId, req.groupInstanceId);
    if (memberError !== null) return resolve(joinError(req.memberId, memberError));
    const member = g.members.get(req.memberId)!;
    switch (g.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(g, member, req, resolve);
      case 'CompletingRebalance':
        // A member that lost the JoinGroup response asks again: same answer.
        if (member.matches(req.protocols)) return resolve(this.joinResult(g, member.memberId, g.isLeader(member.memberId)));
        return this.updateMemberAndRebalance(g, member, req, resolve);
      case 'Stable':
        // The leader rejoining (to pick up metadata changes) or changed protocols trigger a rebalance.
        if (g.isLeader(member.memberId) || !member.matches(req.protocols)) return this.updateMemberAndRebalance(g, member, req, resolve);
        return resolve(this.joinResult(g, member.memberId, false));
      default:
        return resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private joinResult(g: ClassicGroup, memberId: string, withMembers: boolean, skipAssignment = false): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? '',
      skipAssignment,
      memberId,
      members: withMembers ? g.currentMemberMetadata() : [],
    };
  }

  /** Kafka's validateCurrentMember: a static member's id must be the one registered for its instance id. */
  private validateCurrentMember(g: ClassicGroup, memberId: string, groupInstanceId: string | null): number | null {
    if (groupInstanceId !== null) {
      const existing = g.staticMembers.get(groupInstanceId);
      if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (existing !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return null;
    }
    return g.has(memberId) ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  private addMemberAndRebalance(g: ClassicGroup, memberId: string, req: JoinGroupRequest, resolve: (r: JoinResult) => void): void {
    const member = new GroupMember(
      memberId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      req.protocols,
    );
    // The initial delayed join keeps waiting while new members keep arriving.
    if (g.is('PreparingRebalance') && g.generationId === 0) g.newMemberAdded = true;
    g.add(member, req.protocolType, resolve);
    this.scheduleHeartbeatExpiry(g, member);
    this.maybePrepareRebalance(g, `adding new member ${memberId} with group instance id ${req.groupInstanceId}; client reason: ${req.reason}`);
  }

  private updateMemberAndRebalance(g: ClassicGroup, member: GroupMember, req: JoinGroupRequest, resolve: (r: JoinResult) => void): void {
    g.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, resolve, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    this.maybePrepareRebalance(g, `updating metadata for member ${member.memberId}; client reason: ${req.reason}`);
  }

  private updateStaticMemberAndRebalance(g: ClassicGroup, newMemberId: string, req: JoinGroupRequest, resolve: (r: JoinResult) => void): void {
    const instanceId = req.groupInstanceId!;
    const oldMemberId = g.staticMembers.get(instanceId)!;
    const oldLeader = g.leaderId;
    const member = g.replaceStaticMember(instanceId, oldMemberId, newMemberId, ErrorCode.FENCED_INSTANCE_ID);
    g.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, resolve, joinError(newMemberId, ErrorCode.REBALANCE_IN_PROGRESS));
    // The old id's timer is replaced by one for the new id, with the new session timeout.
    this.scheduleHeartbeatExpiry(g, member);
    switch (g.state) {
      case 'Stable': {
        // A static member restarting does not rebalance the group (KIP-345)
        // unless its protocols would change the group's choice. A static
        // leader on v9+ is told it leads but may skip the assignment (KIP-814);
        // older leaders must rebalance to learn they lead.
        const isLeader = g.isLeader(newMemberId);
        if (g.selectProtocol() === g.protocolName && (!isLeader || req.supportSkippingAssignment)) {
          const result = isLeader ? this.joinResult(g, newMemberId, true, true) : { ...this.joinResult(g, newMemberId, false), leader: oldLeader ?? '' };
          g.maybeInvokeJoin(member, result);
          this.log.info({ groupId: g.groupId, groupInstanceId: instanceId, memberId: newMemberId }, 'static member rejoined without a rebalance');
        } else {
          this.maybePrepareRebalance(g, `static member ${instanceId} rejoined with changed protocols`);
        }
        break;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning to the old member id: start over.
        this.prepareRebalance(g, `static member ${instanceId} rejoined during CompletingRebalance`);
        break;
      default:
        // PreparingRebalance: the member now simply awaits the join.
        break;
    }
  }

  private maybePrepareRebalance(g: ClassicGroup, reason: string): void {
    if (g.is('Stable') || g.is('CompletingRebalance') || g.is('Empty')) this.prepareRebalance(g, reason);
  }

  private prepareRebalance(g: ClassicGroup, reason: string): void {
    // Members waiting for their assignment must rejoin instead.
    if (g.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(g, ErrorCode.REBALANCE_IN_PROGRESS);
    this.clearSyncTimer(g);
    const wasEmpty = g.is('Empty');
    g.initialJoin = wasEmpty;
    g.transitionTo('PreparingRebalance', this.now());
    this.log.info({ groupId: g.groupId, generationId: g.generationId, reason }, 'preparing to rebalance group');
    if (wasEmpty) {
      // Kafka's InitialDelayedJoin: wait group.initial.rebalance.delay.ms for
      // more members, extended while they keep coming, within the rebalance timeout.
      const delay = this.config.initialRebalanceDelayMs;
      g.newMemberAdded = false;
      this.scheduleInitialJoin(g, delay, Math.max(g.rebalanceTimeoutMs() - delay, 0));
    } else {
      this.clearJoinTimer(g);
      g.joinTimer = setTimeout(() => this.completeJoin(g), g.rebalanceTimeoutMs());
      g.joinTimer.unref();
      this.tryCompleteJoin(g);
    }
  }

  private scheduleInitialJoin(g: ClassicGroup, delayMs: number, remainingMs: number): void {
    this.clearJoinTimer(g);
    g.joinTimer = setTimeout(() => {
      g.joinTimer = null;
      if (g.newMemberAdded && remainingMs !== 0) {
        g.newMemberAdded = false;
        const delay = Math.min(this.config.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoin(g, delay, Math.max(remainingMs - delay, 0));
      } else {
        this.completeJoin(g);
      }
    }, delayMs);
    g.joinTimer.unref();
  }

  /** An ordinary (not initial) join phase ends as soon as every member has rejoined. */
  /** The initial delayed join never completes early (Kafka's InitialDelayedJoin.tryComplete is false). */
  private tryCompleteJoin(g: ClassicGroup): void {
    if (!g.is('PreparingRebalance') || g.initialJoin) return;
    if (g.hasAllMembersJoined()) this.completeJoin(g);
  }

  private completeJoin(g: ClassicGroup): void {
    if (!g.is('PreparingRebalance')) return;
    this.clearJoinTimer(g);
    g.initialJoin = false;
    const now = this.now();
    // Dynamic members that did not rejoin in time leave the group; static ones
    // keep their place until their session times out.
    for (const m of [...g.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) {
        this.log.info({ groupId: g.groupId, memberId: m.memberId }, 'member did not rejoin within the rebalance timeout; removing it');
        this.removeHeartbeat(m);
        g.remove(m.memberId);
      }
    }
    if (!this.electJoinedLeader(g) && g.size > 0) {
      // Only static members that have not rejoined: wait another rebalance
      // timeout; their sessions expire meanwhile if they are gone.
      g.joinTimer = setTimeout(() => this.completeJoin(g), g.rebalanceTimeoutMs());
      g.joinTimer.unref();
      return;
    }
    g.initNextGeneration(now);
    this.log.info(
      { groupId: g.groupId, generationId: g.generationId, protocol: g.protocolName, members: g.size, leader: g.leaderId, state: g.state },
      'group rebalance completed its join phase',
    );
    if (g.is('Empty')) {
      // Remembers when the group became empty (offset expiry counts from then).
      this.persistGroup(g).catch((e: unknown) => this.log.error({ err: e, groupId: g.groupId }, 'storing the group failed'));
      return;
    }
    for (const m of g.members.values()) {
      g.maybeInvokeJoin(m, this.joinResult(g, m.memberId, g.isLeader(m.memberId)));
      m.isNew = false;
      this.scheduleHeartbeatExpiry(g, m);
      g.pendingSyncMembers.add(m.memberId);
    }
    this.schedulePendingSync(g);
  }

  /** Makes sure the leader is a member that rejoined; false when no member did. */
  private electJoinedLeader(g: ClassicGroup): boolean {
    const leader = g.leaderId === null ? undefined : g.members.get(g.leaderId);
    if (leader !== undefined && leader.awaitingJoin !== null) return true;
    for (const m of g.members.values()) {
      if (m.awaitingJoin !== null) {
        g.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /** Members must SyncGroup within the rebalance timeout, or they are removed and the group rebalances. */
  private schedulePendingSync(g: ClassicGroup): void {
    this.clearSyncTimer(g);
    const generation = g.generationId;
    g.syncTimer = setTimeout(() => {
      g.syncTimer = null;
      if (g.generationId !== generation || !(g.is('CompletingRebalance') || g.is('Stable')) || g.pendingSyncMembers.size === 0) return;
      const missing = [...g.pendingSyncMembers];
      this.log.info({ groupId: g.groupId, generationId: generation, members: missing }, 'members did not send SyncGroup within the rebalance timeout; removing them');
      for (const id of missing) {
        const m = g.members.get(id);
        if (m === undefined) continue;
        this.removeHeartbeat(m);
        g.maybeInvokeSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        g.remove(id);
      }
      this.maybePrepareRebalance(g, 'members did not sync in time');
    }, g.rebalanceTimeoutMs());
    g.syncTimer.unref();
  }

  private resetAndPropagateAssignmentError(g: ClassicGroup, errorCode: number): void {
    for (const m of g.members.values()) {
      m.assignment = Buffer.alloc(0);
      g.maybeInvokeSync(m, syncError(errorCode));
    }
  }

  private clearJoinTimer(g: ClassicGroup): void {
    if (g.joinTimer !== null) clearTimeout(g.joinTimer);
    g.joinTimer = null;
  }

  private clearSyncTimer(g: ClassicGroup): void {
    if (g.syncTimer !== null) clearTimeout(g.syncTimer);
    g.syncTimer = null;
  }

  // -------------------------------------------------------------------------
  // Heartbeats and session expiry

  private scheduleHeartbeatExpiry(g: ClassicGroup, m: GroupMember): void {
    this.removeHeartbeat(m);
    const memberId = m.memberId;
    m.heartbeatTimer = setTimeout(() => this.expireHeartbeat(g, memberId, m), m.isNew ? NEW_MEMBER_JOIN_TIMEOUT_MS : m.sessionTimeoutMs);
    m.heartbeatTimer.unref();
  }

  private removeHeartbeat(m: GroupMember): void {
    if (m.heartbeatTimer !== null) clearTimeout(m.heartbeatTimer);
    m.heartbeatTimer = null;
  }

  private expireHeartbeat(g: ClassicGroup, memberId: string, m: GroupMember): void {
    m.heartbeatTimer = null;
    if (g.members.get(memberId) !== m) return;
    // Members waiting in a join or sync phase are bounded by the rebalance timeout instead.
    if (!m.isNew && (m.awaitingJoin !== null || m.awaitingSync !== null)) return;
    this.log.info({ groupId: g.groupId, memberId, sessionTimeoutMs: m.sessionTimeoutMs }, 'member session expired; removing it from the group');
    this.removeMemberAndUpdateGroup(g, m);
  }

  private expirePendingMember(g: ClassicGroup, memberId: string): void {
    if (!g.pendingMembers.delete(memberId)) return;
    if (g.is('PreparingRebalance')) this.tryCompleteJoin(g);
  }

  private removeMemberAndUpdateGroup(g: ClassicGroup, m: GroupMember): void {
    // A member removed while its JoinGroup waits learns so and may rejoin.
    g.maybeInvokeJoin(m, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    g.maybeInvokeSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.removeHeartbeat(m);
    g.remove(m.memberId);
    switch (g.state) {
      case 'PreparingRebalance':
        this.tryCompleteJoin(g);
        break;
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(g, `removing member ${m.memberId}`);
        break;
      default:
        break;
    }
  }

  heartbeat(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number {
    const err = this.groupError(groupId, false);
    if (err !== null) return err;
    const g = this.groups.get(groupId);
    if (g === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (g.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateCurrentMember(g, memberId, groupInstanceId);
    if (memberError !== null) return memberError;
    if (generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const m = g.members.get(memberId)!;
    switch (g.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.scheduleHeartbeatExpiry(g, m);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        // Stable, or CompletingRebalance: members may heartbeat between their join and sync.
        this.scheduleHeartbeatExpiry(g, m);
        return ErrorCode.NONE;
    }
  }

  // -------------------------------------------------------------------------
  // SyncGroup

  syncGroup(req: SyncGroupRequest): Promise<SyncResult> {
    const err = this.groupError(req.groupId, false);
    if (err !== null) return Promise.resolve(syncError(err));
    const g = this.groups.get(req.groupId);
    if (g === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (g.is('Dead')) return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const memberError = this.validateCurrentMember(g, req.memberId, req.groupInstanceId);
    if (memberError !== null) return Promise.resolve(syncError(memberError));
    if (req.generationId !== g.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if ((req.protocolType !== null && req.protocolType !== g.protocolType) || (req.protocolName !== null && req.protocolName !== g.protocolName)) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const m = g.members.get(req.memberId)!;
    switch (g.state) {
      case 'Empty':
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'Stable':
        g.pendingSyncMembers.delete(m.memberId);
        this.scheduleHeartbeatExpiry(g, m);
        return Promise.resolve({ errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: m.assignment });
      default:
        break;
    }
    // CompletingRebalance: wait for the leader's assignment.
    g.pendingSyncMembers.delete(m.memberId);
    return new Promise<SyncResult>((resolve) => {
      g.maybeInvokeSync(m, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      m.awaitingSync = resolve;
      if (!g.isLeader(m.memberId)) return;
      const assignments = new Map<string, Buffer>();
      for (const a of req.assignments) assignments.set(a.memberId, a.assignment);
      const generation = g.generationId;
      // Kafka stores the group before handing out the assignment.
      this.persistGroup(g, 'Stable').then(
        () => {
          if (!g.is('CompletingRebalance') || g.generationId !== generation) return;
          for (const member of g.members.values()) {
            member.assignment = assignments.get(member.memberId) ?? Buffer.alloc(0);
            g.maybeInvokeSync(member, { errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: member.assignment });
            // Sessions that ran out while we waited for the leader restart now.
            this.scheduleHeartbeatExpiry(g, member);
          }
          g.transitionTo('Stable', this.now());
          this.log.info({ groupId: g.groupId, generationId: generation, members: g.size }, 'group is stable');
        },
        (e: unknown) => {
          this.log.error({ err: e, groupId: g.groupId }, 'storing the group failed');
          if (!g.is('CompletingRebalance') || g.generationId !== generation) return;
          this.resetAndPropagateAssignmentError(g, ErrorCode.COORDINATOR_NOT_AVAILABLE);
          this.maybePrepareRebalance(g, 'storing the group failed');
        },
      );
    });
  }

  private persistGroup(g: ClassicGroup, state?: GroupState): Promise<void> {
    const record = state === undefined ? g.record() : { ...g.record(), state, stateTimestamp: this.now() };
    return g.enqueueWrite(() => this.meta.storeGroup(record));
  }

  // -------------------------------------------------------------------------
  // LeaveGroup

  leaveGroup(groupId: string, leaving: readonly MemberIdentity[]): { errorCode: number; members: (MemberIdentity & { errorCode: number })[] } {
    const err = this.groupError(groupId, false);
    if (err !== null) return { errorCode: err, members: [] };
    const g = this.groups.get(groupId);
    if (g === undefined) return { errorCode: ErrorCode.NONE, members: leaving.map((l) => ({ ...l, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
    if (g.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((l) => ({ ...l, errorCode: this.leaveOne(g, l) }));
    return { errorCode: ErrorCode.NONE, members };
  }

  private leaveOne(g: ClassicGroup, l: MemberIdentity): number {
    const pending = l.memberId === '' ? undefined : g.pendingMembers.get(l.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      g.pendingMembers.delete(l.memberId);
      if (g.is('PreparingRebalance')) this.tryCompleteJoin(g);
      return ErrorCode.NONE;
    }
    // From v3 a static member may leave by instance id alone.
    const target = l.memberId === '' && l.groupInstanceId !== null ? g.staticMembers.get(l.groupInstanceId) : l.memberId;
    if (target === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    const memberError = this.validateCurrentMember(g, target, l.groupInstanceId);
    if (memberError !== null) return memberError;
    const m = g.members.get(target)!;
    this.log.info({ groupId: g.groupId, memberId: target }, 'member left the group');
    this.removeMemberAndUpdateGroup(g, m);
    return ErrorCode.NONE;
  }

  // -------------------------------------------------------------------------
  // Offsets

  /** One error code per requested offset, in order. */
  async commitOffsets(req: OffsetCommitRequest): Promise<number[]> {
    const all = (code: number) => req.offsets.map(() => code);
    const err = this.groupError(req.groupId, true);
    if (err !== null) return all(err);
    let g = this.groups.get(req.groupId);
    if (g === undefined) {
      // Without a generation the group only stores offsets (a "simple" consumer).
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      g = new ClassicGroup(req.groupId, this.now());
      this.groups.set(req.groupId, g);
    }
    const validation = this.validateOffsetCommit(g, req.generationId, req.memberId, req.groupInstanceId);
    if (validation !== null) return all(validation);
    switch (g.state) {
      case 'CompletingRebalance':
        // The member has its new generation but not yet its assignment.
        return all(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
      case 'PreparingRebalance': {
        // Commits stay allowed while preparing: the heartbeat tells members to rejoin.
        const m = g.members.get(req.memberId);
        if (m !== undefined) this.scheduleHeartbeatExpiry(g, m);
        break;
      }
      default:
        break;
    }
    return this.storeOffsets(g, req);
  }

  private validateOffsetCommit(g: ClassicGroup, generationId: number, memberId: string, groupInstanceId: string | null): number | null {
    if (g.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const memberError = this.validateCurrentMember(g, memberId, groupInstanceId);
      if (memberError !== null) return memberError;
      return generationId !== g.generationId ? ErrorCode.ILLEGAL_GENERATION : null;
    }
    // Outside the group only an empty group accepts commits.
    return g.is('Empty') ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  private async storeOffsets(g: ClassicGroup, req: OffsetCommitRequest): Promise<number[]> {
    const now = this.now();
    const expireTimestamp = req.retentionTimeMs >= 0 ? now + req.retentionTimeMs : null;
    const codes: number[] = [];
    const toStore: CommittedOffset[] = [];
    for (const o of req.offsets) {
      const metadata = o.metadata ?? '';
      if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) {
        codes.push(ErrorCode.OFFSET_METADATA_TOO_LARGE);
        continue;
      }
      codes.push(ErrorCode.NONE);
      toStore.push({ topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata, commitTimestamp: now, expireTimestamp });
    }
    if (toStore.length === 0) return codes;
    const record = g.record();
    try {
      await g.enqueueWrite(async () => {
        await this.meta.commitOffsets(record, toStore);
        // Applied in write order, so the newest commit of a partition wins.
        if (!g.is('Dead')) for (const o of toStore) g.putOffset(o);
      });
    } catch (e) {
      this.log.error({ err: e, groupId: g.groupId }, 'storing committed offsets failed');
      return codes.map((c) => (c === ErrorCode.NONE ? ErrorCode.COORDINATOR_NOT_AVAILABLE : c));
    }
    return codes;
  }

  /**
   * Committed offsets: for the partitions asked for (-1 where none), or every
   * committed one when `topics` is null. Waits for the group's commits still
   * being written, so a member reads what an earlier owner committed.
   */
  async fetchOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[] | null): Promise<{ errorCode: number; topics: FetchedTopic[] }> {
    const err = this.groupError(groupId, true);
    if (err !== null) return { errorCode: err, topics: [] };
    const g = this.groups.get(groupId);
    if (g !== undefined) await g.writes;
    const none = (partition: number): FetchedOffset => ({ partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE });
    if (topics === null) {
      if (g === undefined) return { errorCode: ErrorCode.NONE, topics: [] };
      const out: FetchedTopic[] = [];
      for (const [name, parts] of g.offsets) {
        out.push({ name, partitions: [...parts.values()].map((o) => ({ partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE })) });
      }
      return { errorCode: ErrorCode.NONE, topics: out };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const o = g?.offset(t.name, p);
          return o === undefined ? none(p) : { partition: p, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE };
        }),
      })),
    };
  }

  /** OffsetDelete: a group-level error, or one code per partition. */
  async deleteOffsets(
    groupId: string,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<{ errorCode: number; codes: number[] }> {
    const err = this.groupError(groupId, true);
    if (err !== null) return { errorCode: err, codes: [] };
    const g = this.groups.get(groupId);
    if (g === undefined || g.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, codes: [] };
    let deletable: (topic: string) => boolean;
    if (g.is('Empty')) deletable = () => true;
    else if (g.protocolType === 'consumer') deletable = (topic) => !g.isSubscribedTo(topic);
    else return { errorCode: ErrorCode.NON_EMPTY_GROUP, codes: [] };
    const codes = partitions.map((p) => (deletable(p.topic) ? ErrorCode.NONE : ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC));
    const doomed = partitions.filter((p, i) => codes[i] === ErrorCode.NONE && g.offset(p.topic, p.partition) !== undefined);
    if (doomed.length > 0) {
      try {
        await g.enqueueWrite(async () => {
          await this.meta.deleteOffsets(groupId, doomed);
          for (const p of doomed) g.removeOffset(p.topic, p.partition);
        });
      } catch (e) {
        this.log.error({ err: e, groupId }, 'deleting committed offsets failed');
        return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, codes: [] };
      }
    }
    return { errorCode: ErrorCode.NONE, codes };
  }

  /** Offsets of a deleted topic are gone from the store with the topic; forget them here too. */
  onTopicDeleted(topic: string): void {
    for (const g of this.groups.values()) g.offsets.delete(topic);
  }

  // -------------------------------------------------------------------------
  // Admin: DescribeGroups, ListGroups, DeleteGroups

  describeGroup(groupId: string): GroupDescription {
    const dead = (errorCode: number): GroupDescription => ({ errorCode, groupId, state: 'Dead', protocolType: '', protocolName: '', members: [] });
    const err = this.groupError(groupId, true);
    if (err !== null) return dead(err);
    const g = this.groups.get(groupId);
    if (g === undefined) return dead(ErrorCode.NONE);
    // Only a Stable group has a settled protocol and assignment to show.
    const stable = g.is('Stable');
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocolName: stable ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(g.protocolName) : Buffer.alloc(0),
        assignment: stable ? m.assignment : Buffer.alloc(0),
      })),
    };
  }

  /** States match case-insensitively; types: every group here is "classic". */
  listGroups(states: readonly string[], types: readonly string[]): { errorCode: number; groups: { groupId: string; protocolType: string; state: GroupState }[] } {
    const err = this.unavailable();
    if (err !== null) return { errorCode: err, groups: [] };
    const wantStates = new Set(states.map((s) => s.toLowerCase()));
    const wantTypes = new Set(types.map((t) => t.toLowerCase()));
    if (wantTypes.size > 0 && !wantTypes.has('classic')) return { errorCode: ErrorCode.NONE, groups: [] };
    const groups = [];
    for (const g of this.groups.values()) {
      if (g.is('Dead')) continue;
      if (wantStates.size > 0 && !wantStates.has(g.state.toLowerCase())) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
    }
    return { errorCode: ErrorCode.NONE, groups };
  }

  async deleteGroup(groupId: string): Promise<number> {
    const err = this.groupError(groupId, true);
    if (err !== null) return err;
    const g = this.groups.get(groupId);
    if (g === undefined || g.is('Dead')) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (!g.is('Empty')) return ErrorCode.NON_EMPTY_GROUP;
    // Dead at once, so that requests racing the deletion are told to retry.
    g.transitionTo('Dead', this.now());
    try {
      await g.enqueueWrite(() => this.meta.deleteGroups([groupId]));
    } catch (e) {
      this.log.error({ err: e, groupId }, 'deleting the group failed');
      g.state = 'Empty';
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    if (this.groups.get(groupId) === g) this.groups.delete(groupId);
    this.log.info({ groupId }, 'group deleted');
    return ErrorCode.NONE;
  }

  // -------------------------------------------------------------------------
  // offsets.retention.minutes

  /**
   * Kafka's removeExpiredOffsets: an empty group's offsets expire
   * offsets.retention.minutes after the group became empty (or, for groups
   * that only store offsets, after each commit); a stable consumer group's
   * offsets of topics no member subscribes to any more expire after their
   * commit. An empty group without offsets is then deleted.
   */
  async expireOffsets(): Promise<void> {
    if (this.status !== 'active') return;
    const now = this.now();
    const retention = this.config.offsetsRetentionMs;
    for (const g of [...this.groups.values()]) {
      if (g.is('Dead')) continue;
      let base: ((o: CommittedOffset) => number) | null = null;
      let candidate: (o: CommittedOffset) => boolean = () => true;
      if (g.is('Empty')) {
        base = g.protocolType !== null ? () => g.stateTimestamp : (o) => o.commitTimestamp;
      } else if (g.is('Stable') && g.protocolType === 'consumer' && g.subscribedTopics !== null) {
        base = (o) => o.commitTimestamp;
        candidate = (o) => !g.isSubscribedTo(o.topic);
      }
      if (base === null) continue;
      const baseOf = base;
      const expired: CommittedOffset[] = [];
      for (const parts of g.offsets.values()) {
        for (const o of parts.values()) {
          if (!candidate(o)) continue;
          if (o.expireTimestamp !== null ? now >= o.expireTimestamp : now - baseOf(o) >= retention) expired.push(o);
        }
      }
      try {
        if (expired.length > 0) {
          await g.enqueueWrite(async () => {
            await this.meta.deleteOffsets(g.groupId, expired);
            for (const o of expired) g.removeOffset(o.topic, o.partition);
          });
          this.log.info({ groupId: g.groupId, offsets: expired.length }, 'expired committed offsets');
        }
        if (g.is('Empty') && !g.hasOffsets()) {
          g.transitionTo('Dead', now);
          await g.enqueueWrite(() => this.meta.deleteGroups([g.groupId]));
          if (this.groups.get(g.groupId) === g) this.groups.delete(g.groupId);
          this.log.info({ groupId: g.groupId }, 'removed empty group without offsets');
        }
      } catch (e) {
        this.log.error({ err: e, groupId: g.groupId }, 'expiring offsets failed');
      }
    }
  }

  /** For tests and operators: the state of a group, or null. */
  groupState(groupId: string): GroupState | null {
    return this.groups.get(groupId)?.state ?? null;
  }
}
