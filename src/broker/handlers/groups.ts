// The group APIs: FindCoordinator, the classic membership protocol (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup), committed offsets (OffsetCommit,
// OffsetFetch, OffsetDelete) and group admin (DescribeGroups, ListGroups,
// DeleteGroups). These translate between the wire shapes of each version and
// the coordinator (coordinator/group-coordinator.ts), which holds the logic.

import { ErrorCode } from '../../protocol/errors.js';
import type {
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetDelete,
  OffsetFetch,
  SyncGroup,
} from '../../protocol/messages/index.js';
import { GROUP_AUTHORIZED_OPERATIONS, OPERATIONS_NOT_REQUESTED, type Handler, type HandlerContext } from '../context.js';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

/** Kafka reports a client's address as Java's InetAddress.toString: "/127.0.0.1". */
function clientHost(ctx: HandlerContext): string {
  return `/${ctx.remoteAddress.replace(/^::ffff:/, '')}`;
}

/** The coordinator for every group and transactional id is this broker while Floe runs one node. */
export const handleFindCoordinator: Handler<typeof FindCoordinator> = (req, ctx) => {
  const self = ctx.broker.membership.localBroker;
  const keyType = ctx.apiVersion >= 1 ? req.keyType : GROUP_KEY;
  const supported = keyType === GROUP_KEY || keyType === TRANSACTION_KEY;
  const answer = supported
    ? { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: self.nodeId, host: self.host, port: self.port }
    : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported key type ${keyType}`, nodeId: -1, host: '', port: -1 };
  if (ctx.apiVersion < 4) return { throttleTimeMs: 0, ...answer };
  return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((key) => ({ key, ...answer })) };
};

export const handleJoinGroup: Handler<typeof JoinGroup> = async (req, ctx) => {
  const r = await ctx.broker.groups.joinGroup({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    clientId: ctx.clientId ?? '',
    clientHost: clientHost(ctx),
    sessionTimeoutMs: req.sessionTimeoutMs,
    // v0 had one timeout for both.
    rebalanceTimeoutMs: ctx.apiVersion >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
    requireKnownMemberId: ctx.apiVersion >= 4 && req.groupInstanceId === null,
    supportSkippingAssignment: ctx.apiVersion >= 9,
    reason: req.reason,
  });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Non-nullable before v7.
    protocolName: r.protocolName ?? (ctx.apiVersion >= 7 ? null : ''),
    leader: r.leader,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members,
  };
};

export const handleSyncGroup: Handler<typeof SyncGroup> = async (req, ctx) => {
  const r = await ctx.broker.groups.syncGroup({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    protocolType: req.protocolType,
    protocolName: req.protocolName,
    assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
  });
  return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
};

export const handleHeartbeat: Handler<typeof Heartbeat> = (req, ctx) => ({
  throttleTimeMs: 0,
  errorCode: ctx.broker.groups.heartbeat(req.groupId, req.generationId, req.memberId, req.groupInstanceId),
});

export const handleLeaveGroup: Handler<typeof LeaveGroup> = (req, ctx) => {
  const batched = ctx.apiVersion >= 3;
  const leaving = batched ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: req.memberId, groupInstanceId: null }];
  const r = ctx.broker.groups.leaveGroup(req.groupId, leaving);
  if (batched) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  // Before v3 the one member's error is the response's error.
  return { throttleTimeMs: 0, errorCode: r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE) };
};

/**
 * Partitions of unknown topics are answered UNKNOWN_TOPIC_OR_PARTITION here,
 * as Kafka's request handler does; the others go to the coordinator, whose
 * codes (one per partition passed, in order) land back in their places.
 */
async function perPartition<P extends { partitionIndex: number }>(
  ctx: HandlerContext,
  requested: readonly { name: string; partitions: readonly P[] }[],
  toCoordinator: (known: { topic: string; p: P }[]) => Promise<number[]>,
  evenIfNoneKnown = false,
): Promise<{ name: string; partitions: { partitionIndex: number; errorCode: number }[] }[]> {
  const known: { topic: string; p: P }[] = [];
  const slots: { partitionIndex: number; errorCode: number }[] = [];
  const out = requested.map((t) => {
    const topic = ctx.broker.topics.get(t.name);
    return {
      name: t.name,
      partitions: t.partitions.map((p) => {
        const slot: { partitionIndex: number; errorCode: number } = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
        if (topic === undefined || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions.length) slot.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else {
          known.push({ topic: t.name, p });
          slots.push(slot);
        }
        return slot;
      }),
    };
  });
  if (known.length > 0 || evenIfNoneKnown) (await toCoordinator(known)).forEach((code, i) => (slots[i]!.errorCode = code));
  return out;
}

export const handleOffsetCommit: Handler<typeof OffsetCommit> = async (req, ctx) => ({
  throttleTimeMs: 0,
  topics: await perPartition(ctx, req.topics, (known) =>
    ctx.broker.groups.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      retentionTimeMs: ctx.apiVersion <= 4 ? req.retentionTimeMs : -1,
      offsets: known.map(({ topic, p }) => ({ topic, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })),
    }),
  ),
});

export const handleOffsetFetch: Handler<typeof OffsetFetch> = async (req, ctx) => {
  const { groups } = ctx.broker;
  const fetchGroup = async (groupId: string, topics: readonly { name: string; partitionIndexes: number[] }[] | null) => {
    const r = await groups.fetchOffsets(groupId, topics?.map((t) => ({ name: t.name, partitions: t.partitionIndexes })) ?? null);
    return {
      errorCode: r.errorCode,
      topics: r.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partition,
          committedOffset: p.offset,
          committedLeaderEpoch: p.leaderEpoch,
          metadata: p.metadata,
          errorCode: p.errorCode,
        })),
      })),
    };
  };
  if (ctx.apiVersion >= 8) {
    const results = await Promise.all(req.groups.map(async (g) => ({ groupId: g.groupId, ...(await fetchGroup(g.groupId, g.topics)) })));
    return { throttleTimeMs: 0, groups: results };
  }
  const r = await fetchGroup(req.groupId, req.topics);
  if (ctx.apiVersion < 2 && r.errorCode !== ErrorCode.NONE) {
    // v1 has no top-level error: it goes on every partition asked for.
    const topics = (req.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode })),
    }));
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics };
  }
  return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
};

export const handleOffsetDelete: Handler<typeof OffsetDelete> = async (req, ctx) => {
  // A group-level error replaces the whole answer.
  let groupError: number = ErrorCode.NONE;
  const topics = await perPartition(ctx, req.topics, async (known) => {
    const r = await ctx.broker.groups.deleteOffsets(
      req.groupId,
      known.map(({ topic, p }) => ({ topic, partition: p.partitionIndex })),
    );
    groupError = r.errorCode;
    return r.codes;
  }, true);
  if (groupError !== ErrorCode.NONE) return { errorCode: groupError, throttleTimeMs: 0, topics: [] };
  return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics };
};

export const handleDescribeGroups: Handler<typeof DescribeGroups> = (req, ctx) => ({
  throttleTimeMs: 0,
  groups: req.groups.map((groupId) => {
    const d = ctx.broker.groups.describeGroup(groupId);
    return {
      errorCode: d.errorCode,
      groupId: d.groupId,
      groupState: d.state,
      protocolType: d.protocolType,
      protocolData: d.protocolName,
      members: d.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: m.metadata,
        memberAssignment: m.assignment,
      })),
      authorizedOperations: req.includeAuthorizedOperations ? GROUP_AUTHORIZED_OPERATIONS : OPERATIONS_NOT_REQUESTED,
    };
  }),
});

export const handleListGroups: Handler<typeof ListGroups> = (req, ctx) => {
  const r = ctx.broker.groups.listGroups(ctx.apiVersion >= 4 ? req.statesFilter : [], ctx.apiVersion >= 5 ? req.typesFilter : []);
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    groups: r.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: 'classic' })),
  };
};

export const handleDeleteGroups: Handler<typeof DeleteGroups> = async (req, ctx) => ({
  throttleTimeMs: 0,
  results: await Promise.all(req.groupsNames.map(async (groupId) => ({ groupId, errorCode: await ctx.broker.groups.deleteGroup(groupId) }))),
});
