// A consumer-group member speaking the raw protocol, one connection per
// member as a real client has, for tests that drive the coordinator through
// exact request sequences and check the error codes that come back.
import { Writer } from '../../src/protocol/primitives.js';
import { Heartbeat, JoinGroup, LeaveGroup, OffsetCommit, SyncGroup } from '../../src/protocol/messages/index.js';
import { RawClient } from './raw-client.js';

/** ConsumerProtocolSubscription v0: the topics a member subscribes to. */
export function subscription(topics: readonly string[]): Buffer {
  const w = new Writer();
  w.int16(0);
  w.int32(topics.length);
  for (const t of topics) {
    w.int16(Buffer.byteLength(t));
    w.raw(Buffer.from(t));
  }
  w.int32(-1);
  return w.toBuffer();
}

/** ConsumerProtocolAssignment v0 for one topic. */
export function assignment(topic: string, partitions: readonly number[]): Buffer {
  const w = new Writer();
  w.int16(0);
  w.int32(1);
  w.int16(Buffer.byteLength(topic));
  w.raw(Buffer.from(topic));
  w.int32(partitions.length);
  for (const p of partitions) w.int32(p);
  w.int32(-1);
  return w.toBuffer();
}

export interface JoinOptions {
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  protocols?: { name: string; metadata: Buffer }[];
  protocolType?: string;
  groupInstanceId?: string | null;
  version?: number;
}

export class RawMember {
  memberId = '';
  generationId = -1;
  leader = '';
  members: { memberId: string; metadata: Buffer }[] = [];

  private constructor(
    readonly client: RawClient,
    readonly groupId: string,
    readonly opts: JoinOptions,
  ) {}

  static async connect(port: number, groupId: string, opts: JoinOptions = {}): Promise<RawMember> {
    return new RawMember(await RawClient.connect(port), groupId, opts);
  }

  /** One JoinGroup request; updates this member's view on success. */
  async joinOnce(overrides: JoinOptions = {}) {
    const o = { ...this.opts, ...overrides };
    const r = await this.client.request(JoinGroup, o.version ?? 9, {
      groupId: this.groupId,
      sessionTimeoutMs: o.sessionTimeoutMs ?? 10000,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs ?? 5000,
      memberId: this.memberId,
      groupInstanceId: o.groupInstanceId ?? null,
      protocolType: o.protocolType ?? 'consumer',
      protocols: o.protocols ?? [{ name: 'range', metadata: subscription(['t']) }],
    });
    if (r.memberId !== '') this.memberId = r.memberId;
    if (r.errorCode === 0) {
      this.generationId = r.generationId;
      this.leader = r.leader;
      this.members = r.members;
    }
    return r;
  }

  /** Joins, answering MEMBER_ID_REQUIRED with the id the broker handed out. */
  async join(overrides: JoinOptions = {}) {
    const r = await this.joinOnce(overrides);
    return r.errorCode === 79 ? this.joinOnce(overrides) : r;
  }

  get isLeader(): boolean {
    return this.leader === this.memberId;
  }

  sync(assignments: { memberId: string; assignment: Buffer }[] = [], generationId = this.generationId, version = 5) {
    return this.client.request(SyncGroup, version, {
      groupId: this.groupId,
      generationId,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId ?? null,
      protocolType: 'consumer',
      protocolName: null,
      assignments,
    });
  }

  heartbeat(generationId = this.generationId, memberId = this.memberId) {
    return this.client
      .request(Heartbeat, 4, { groupId: this.groupId, generationId, memberId, groupInstanceId: this.opts.groupInstanceId ?? null })
      .then((r) => r.errorCode);
  }

  leave() {
    return this.client.request(LeaveGroup, 5, { groupId: this.groupId, members: [{ memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId ?? null }] });
  }

  commit(topic: string, partition: number, offset: number, extra: { metadata?: string | null; leaderEpoch?: number; generationId?: number } = {}) {
    return this.client
      .request(OffsetCommit, 9, {
        groupId: this.groupId,
        generationIdOrMemberEpoch: extra.generationId ?? this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: extra.leaderEpoch ?? -1, committedMetadata: extra.metadata ?? null }] }],
      })
      .then((r) => r.topics[0]!.partitions[0]!.errorCode);
  }

  close(): void {
    this.client.close();
  }
}
