// One classic consumer group, as Kafka's GroupMetadata/MemberMetadata: the
// state, the generation, the members with their protocols and the callbacks of
// their in-flight JoinGroup and SyncGroup requests, and the committed offsets.
// The transitions themselves are driven by the GroupCoordinator.

import type { CommittedOffset, GroupRecord } from '../metadata/types.js';
import { subscribedTopics } from './consumer-protocol.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** Which states a group may move to from each state (GroupMetadata.scala's validPreviousStates, inverted). */
const VALID_NEXT: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance', 'Dead'],
  PreparingRebalance: ['CompletingRebalance', 'Empty', 'Dead'],
  CompletingRebalance: ['PreparingRebalance', 'Stable', 'Dead'],
  Stable: ['PreparingRebalance', 'Dead'],
  Dead: ['Dead'],
};

export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly skipAssignment: boolean;
  readonly memberId: string;
  readonly members: readonly { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

const EMPTY = Buffer.alloc(0);

export function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

export class GroupMember {
  assignment: Buffer = EMPTY;
  awaitingJoin: ((r: JoinResult) => void) | null = null;
  awaitingSync: ((r: SyncResult) => void) | null = null;
  /** Joined but not yet through a completed join phase (Kafka's MemberMetadata.isNew). */
  isNew = true;
  heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    public protocols: readonly GroupProtocol[],
  ) {}

  metadataFor(protocol: string | null): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY;
  }

  /** Same protocols, in the same order, with the same metadata: a rejoin that changes nothing. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata))
    );
  }

  /** The member's most preferred protocol among those every member supports. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }
}

export class ClassicGroup {
  state: GroupState = 'Empty';
  stateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, GroupMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, each expiring after the session timeout. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** group.instance.id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** protocol name → how many members support it. */
  private readonly supportedProtocols = new Map<string, number>();
  /** Topics the members subscribe to, when every member's metadata is a readable consumer subscription. */
  subscribedTopics: ReadonlySet<string> | null = null;
  /** A member joined while the initial delayed join was waiting (extends the wait). */
  newMemberAdded = false;
  /** The join phase under way is the initial delayed one, which waits out its delay. */
  initialJoin = false;
  joinTimer: NodeJS.Timeout | null = null;
  syncTimer: NodeJS.Timeout | null = null;
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /** The group's metadata-store writes, in order; readers of offsets wait for it. */
  writes: Promise<void> = Promise.resolve();

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateTimestamp = now;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(state: GroupState, now: number): void {
    if (!VALID_NEXT[this.state].includes(state)) {
      throw new Error(`group ${this.groupId}: invalid transition ${this.state} -> ${state}`);
    }
    this.state = state;
    this.stateTimestamp = now;
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** The largest rebalance timeout of any member: how long a join phase may wait. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  numAwaitingJoin(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.awaitingJoin !== null) n++;
    return n;
  }

  hasAllMembersJoined(): boolean {
    return this.pendingMembers.size === 0 && this.numAwaitingJoin() === this.members.size;
  }

  add(member: GroupMember, protocolType: string, callback: (r: JoinResult) => void): void {
    if (this.members.size === 0) this.protocolType = protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.leaderId ??= member.memberId;
    this.countProtocols(member.protocols, 1);
    member.awaitingJoin = callback;
  }

  /** Replaces a member's protocols and timeouts on rejoin; answers a join it replaces. */
  updateMember(
    member: GroupMember,
    protocols: readonly GroupProtocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    callback: (r: JoinResult) => void,
    replaced: JoinResult,
  ): void {
    this.countProtocols(member.protocols, -1);
    this.countProtocols(protocols, 1);
    member.protocols = protocols;
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    this.maybeInvokeJoin(member, replaced);
    member.awaitingJoin = callback;
  }

  remove(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId);
    if (member === undefined) return undefined;
    this.members.delete(memberId);
    this.countProtocols(member.protocols, -1);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    this.pendingSyncMembers.delete(memberId);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    return member;
  }

  /** A static member rejoined with a new member id: the old id is fenced, the member keeps its place. */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string, fenced: number): GroupMember {
    const member = this.members.get(oldMemberId);
    if (member === undefined) throw new Error(`static member ${groupInstanceId} has no member ${oldMemberId}`);
    this.maybeInvokeJoin(member, joinError(oldMemberId, fenced));
    this.maybeInvokeSync(member, syncError(fenced));
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return member;
  }

  maybeInvokeJoin(member: GroupMember, result: JoinResult): void {
    const cb = member.awaitingJoin;
    member.awaitingJoin = null;
    cb?.(result);
  }

  maybeInvokeSync(member: GroupMember, result: SyncResult): void {
    const cb = member.awaitingSync;
    member.awaitingSync = null;
    cb?.(result);
  }

  private countProtocols(protocols: readonly GroupProtocol[], delta: number): void {
    for (const p of new Set(protocols.map((x) => x.name))) {
      const n = (this.supportedProtocols.get(p) ?? 0) + delta;
      if (n <= 0) this.supportedProtocols.delete(p);
      else this.supportedProtocols.set(p, n);
    }
  }

  /** Whether a member with this protocol type and these protocols may join (else INCONSISTENT_GROUP_PROTOCOL). */
  supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocols.length > 0;
    return protocolType === this.protocolType && protocols.some((p) => (this.supportedProtocols.get(p.name) ?? 0) === this.members.size);
  }

  /** The protocol every member supports that most members prefer. */
  selectProtocol(): string | null {
    const candidates = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      if (v !== undefined) votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = 0;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  /** Moves to the next generation once a join phase ends. */
  initNextGeneration(now: number): void {
    this.generationId++;
    this.pendingSyncMembers.clear();
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', now);
    } else {
      this.protocolName = null;
      this.subscribedTopics = null;
      this.transitionTo('Empty', now);
    }
  }

  private computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const t = subscribedTopics(m.metadataFor(this.protocolName));
      if (t === null) return null;
      for (const name of t) topics.add(name);
    }
    return topics;
  }

  /** Conservative when unknown: a topic counts as subscribed unless we can read every subscription. */
  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  /** What the leader receives in its JoinGroup response. */
  currentMemberMetadata(): JoinResult['members'] {
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(this.protocolName) }));
  }

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  putOffset(o: CommittedOffset): void {
    let t = this.offsets.get(o.topic);
    if (t === undefined) this.offsets.set(o.topic, (t = new Map()));
    t.set(o.partition, o);
  }

  removeOffset(topic: string, partition: number): void {
    const t = this.offsets.get(topic);
    if (t === undefined) return;
    t.delete(partition);
    if (t.size === 0) this.offsets.delete(topic);
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0;
  }

  /** Serialises a metadata-store write after the group's earlier ones. */
  enqueueWrite<T>(write: () => Promise<T>): Promise<T> {
    const result = this.writes.then(write);
    this.writes = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  record(): GroupRecord {
    return {
      groupId: this.groupId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      generationId: this.generationId,
      state: this.state,
      stateTimestamp: this.stateTimestamp,
    };
  }
}
