// The classic group coordinator over the raw protocol: every state
// transition and error code a client can observe, with exact requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  CreateTopics,
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetDelete,
  OffsetFetch,
} from '../../src/protocol/messages/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { assignment, RawMember, subscription } from '../helpers/groups.js';
import { RawClient } from '../helpers/raw-client.js';

const INITIAL_DELAY_MS = 300;
let broker: TestBroker;
let c: RawClient;
const members: RawMember[] = [];
let groupSeq = 0;
const newGroup = () => `group-${++groupSeq}`;

async function member(groupId: string, opts: Parameters<typeof RawMember.connect>[2] = {}): Promise<RawMember> {
  const m = await RawMember.connect(broker.port, groupId, opts);
  members.push(m);
  return m;
}

/** Two members through one rebalance to Stable, the leader assigning partitions 0-2 and 3-5 of "t". */
async function stableGroupOfTwo(groupId: string, opts: Parameters<typeof RawMember.connect>[2] = {}) {
  const a = await member(groupId, opts);
  const b = await member(groupId, opts);
  const [ra, rb] = await Promise.all([a.join(), b.join()]);
  expect([ra.errorCode, rb.errorCode]).toEqual([0, 0]);
  const [leader, follower] = a.isLeader ? [a, b] : [b, a];
  const assignments = [
    { memberId: leader.memberId, assignment: assignment('t', [0, 1, 2]) },
    { memberId: follower.memberId, assignment: assignment('t', [3, 4, 5]) },
  ];
  const [sl, sf] = await Promise.all([leader.sync(assignments), follower.sync()]);
  expect([sl.errorCode, sf.errorCode]).toEqual([0, 0]);
  return { leader, follower };
}

const describeGroup = (groupId: string, version = 5) => c.request(DescribeGroups, version, { groups: [groupId], includeAuthorizedOperations: true }).then((r) => r.groups[0]!);

beforeAll(async () => {
  broker = await startTestBroker({
    'group.initial.rebalance.delay.ms': String(INITIAL_DELAY_MS),
    'group.min.session.timeout.ms': '500',
    'group.max.session.timeout.ms': '60000',
    'group.max.size': '3',
    'offset.metadata.max.bytes': '100',
  });
  c = await RawClient.connect(broker.port);
  const r = await c.request(CreateTopics, 7, {
    topics: [
      { name: 't', numPartitions: 6, replicationFactor: 1 },
      { name: 'u', numPartitions: 2, replicationFactor: 1 },
    ],
    timeoutMs: 5000,
  });
  expect(r.topics.map((t) => t.errorCode)).toEqual([0, 0]);
});
afterAll(async () => {
  for (const m of members) m.close();
  c.close();
  await broker.cleanup();
});

describe('FindCoordinator', () => {
  it('names this broker for groups and transactional ids, one key (v0-v3) or a batch (v4-v6)', async () => {
    for (const v of [0, 1, 2, 3]) {
      const r = await c.request(FindCoordinator, v, { key: 'g', keyType: v === 0 ? 0 : 1 });
      expect(r).toMatchObject({ errorCode: 0, nodeId: 1, host: '127.0.0.1', port: broker.port });
    }
    for (const v of [4, 5, 6]) {
      const r = await c.request(FindCoordinator, v, { keyType: 0, coordinatorKeys: ['a', 'b'] });
      expect(r.coordinators).toEqual([
        { key: 'a', nodeId: 1, host: '127.0.0.1', port: broker.port, errorCode: 0, errorMessage: null },
        { key: 'b', nodeId: 1, host: '127.0.0.1', port: broker.port, errorCode: 0, errorMessage: null },
      ]);
    }
    const bad = await c.request(FindCoordinator, 4, { keyType: 7, coordinatorKeys: ['a'] });
    expect(bad.coordinators[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('JoinGroup and SyncGroup', () => {
  it('asks a first joiner for a member id (v4+), waits the initial delay, then makes it leader of generation 1', async () => {
    const g = newGroup();
    const m = await member(g);
    const first = await m.joinOnce();
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^raw-client-[0-9a-f-]{36}$/);
    const started = Date.now();
    const r = await m.joinOnce();
    expect(Date.now() - started).toBeGreaterThanOrEqual(INITIAL_DELAY_MS - 20);
    expect(r).toMatchObject({ errorCode: 0, generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: first.memberId, memberId: first.memberId });
    expect(r.members).toEqual([{ memberId: first.memberId, groupInstanceId: null, metadata: subscription(['t']) }]);
    const s = await m.sync([{ memberId: m.memberId, assignment: assignment('t', [0, 1]) }]);
    expect(s).toMatchObject({ errorCode: 0, protocolType: 'consumer', protocolName: 'range' });
    expect(s.assignment).toEqual(assignment('t', [0, 1]));
    expect(await m.heartbeat()).toBe(0);
    expect((await describeGroup(g)).groupState).toBe('Stable');
  });

  it('v0-v3 joins get a member id at once; a v0 join uses the session timeout as rebalance timeout', async () => {
    for (const version of [0, 3]) {
      const m = await member(newGroup(), { version });
      const r = await m.joinOnce();
      expect(r.errorCode).toBe(0);
      expect(r.generationId).toBe(1);
      expect(r.protocolName).toBe('range');
    }
  });

  it('hands each member the assignment the leader sent, and the leader alone gets the member list', async () => {
    const g = newGroup();
    const { leader, follower } = await stableGroupOfTwo(g);
    expect(leader.members.map((m) => m.memberId).sort()).toEqual([leader.memberId, follower.memberId].sort());
    expect(follower.members).toEqual([]);
    const d = await describeGroup(g);
    expect(d).toMatchObject({ errorCode: 0, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range', authorizedOperations: (1 << 3) | (1 << 6) | (1 << 8) });
    const byId = new Map(d.members.map((m) => [m.memberId, m]));
    expect(byId.get(follower.memberId)).toMatchObject({ clientId: 'raw-client', clientHost: '/127.0.0.1', memberAssignment: assignment('t', [3, 4, 5]), memberMetadata: subscription(['t']) });
    expect(byId.get(leader.memberId)!.memberAssignment).toEqual(assignment('t', [0, 1, 2]));
  });

  it('a new member rebalances a stable group: heartbeats say REBALANCE_IN_PROGRESS until everyone rejoins generation 2', async () => {
    const g = newGroup();
    const { leader, follower } = await stableGroupOfTwo(g);
    const third = await member(g);
    const joining = third.join();
    await waitFor(async () => (await leader.heartbeat()) === ErrorCode.REBALANCE_IN_PROGRESS);
    expect(await follower.heartbeat()).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const [r1, r2, r3] = await Promise.all([leader.join(), follower.join(), joining]);
    expect([r1.generationId, r2.generationId, r3.generationId]).toEqual([2, 2, 2]);
    expect(r1.members).toHaveLength(3);
    // An old-generation heartbeat, sync or commit is refused.
    expect(await follower.heartbeat(1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await follower.sync([], 1)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await follower.commit('t', 0, 5, { generationId: 1 })).toBe(ErrorCode.ILLEGAL_GENERATION);
    // Between join and sync a commit is told to wait for the assignment.
    expect(await follower.commit('t', 0, 5)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const s = await Promise.all([leader.sync([{ memberId: third.memberId, assignment: assignment('t', [5]) }]), follower.sync(), third.sync()]);
    expect(s.map((x) => x.errorCode)).toEqual([0, 0, 0]);
    // Members the leader left out get an empty assignment.
    expect(s[1]!.assignment.length).toBe(0);
    expect(s[2]!.assignment).toEqual(assignment('t', [5]));
  });

  it('picks the protocol every member supports that most prefer, and refuses members that share none', async () => {
    const g = newGroup();
    const a = await member(g, { protocols: [{ name: 'roundrobin', metadata: subscription(['t']) }, { name: 'range', metadata: subscription(['t']) }] });
    const b = await member(g, { protocols: [{ name: 'range', metadata: subscription(['t']) }, { name: 'sticky', metadata: subscription(['t']) }] });
    const [ra, rb] = await Promise.all([a.join(), b.join()]);
    expect([ra.protocolName, rb.protocolName]).toEqual(['range', 'range']);
    const wrongType = await member(g, { protocolType: 'connect', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] });
    expect((await wrongType.join()).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const noCommon = await member(g, { protocols: [{ name: 'cooperative-sticky', metadata: Buffer.alloc(0) }] });
    expect((await noCommon.join()).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const empty = await member(newGroup(), { protocols: [] });
    expect((await empty.join()).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('answers out-of-order and invalid requests with Kafka error codes', async () => {
    const g = newGroup();
    const m = await member(g);
    // SyncGroup and Heartbeat before any JoinGroup.
    m.memberId = 'nobody';
    m.generationId = 1;
    expect((await m.sync()).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await m.heartbeat()).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // A join with a member id the group never gave out.
    expect((await m.joinOnce()).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    m.memberId = '';
    expect((await m.joinOnce({ sessionTimeoutMs: 499 })).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await m.joinOnce({ sessionTimeoutMs: 60001 })).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    const noId = await member('');
    expect((await noId.joinOnce()).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(await noId.heartbeat(1, 'x')).toBe(ErrorCode.INVALID_GROUP_ID);
    // A real member of a stable group with a wrong member id or generation.
    const { leader } = await stableGroupOfTwo(newGroup());
    expect(await leader.heartbeat(leader.generationId, 'someone-else')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await leader.heartbeat(leader.generationId + 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await leader.sync([], leader.generationId + 5)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  it('refuses a member beyond group.max.size with GROUP_MAX_SIZE_REACHED', async () => {
    const g = newGroup();
    const ms = await Promise.all([1, 2, 3].map(() => member(g)));
    const rs = await Promise.all(ms.map((m) => m.join()));
    expect(rs.map((r) => r.errorCode)).toEqual([0, 0, 0]);
    const fourth = await member(g);
    expect((await fourth.join()).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
  });
});

describe('timeouts', () => {
  it('evicts a member that stops heartbeating after its session timeout and rebalances the rest', async () => {
    const g = newGroup();
    const { leader, follower } = await stableGroupOfTwo(g, { sessionTimeoutMs: 1000, rebalanceTimeoutMs: 3000 });
    const started = Date.now();
    // The follower goes silent; the leader keeps heartbeating.
    await waitFor(async () => (await leader.heartbeat()) === ErrorCode.REBALANCE_IN_PROGRESS, 5000);
    const noticed = Date.now() - started;
    expect(noticed).toBeGreaterThanOrEqual(900);
    expect(noticed).toBeLessThan(2500);
    const r = await leader.join();
    expect(r).toMatchObject({ errorCode: 0, generationId: 2, leader: leader.memberId });
    expect(r.members.map((m) => m.memberId)).toEqual([leader.memberId]);
    expect(await follower.heartbeat()).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a member stuck outside the join phase cannot hold the group beyond the rebalance timeout', async () => {
    const g = newGroup();
    const { leader, follower } = await stableGroupOfTwo(g, { sessionTimeoutMs: 10000, rebalanceTimeoutMs: 1500 });
    const newcomer = await member(g, { sessionTimeoutMs: 10000, rebalanceTimeoutMs: 1500 });
    const started = Date.now();
    const joins = Promise.all([newcomer.join(), (async () => {
      await waitFor(async () => (await leader.heartbeat()) === ErrorCode.REBALANCE_IN_PROGRESS);
      return leader.join();
    })()]);
    // The follower is alive (it heartbeats) but never rejoins.
    const stuckHeartbeats: number[] = [];
    const beat = setInterval(() => void follower.heartbeat().then((e) => stuckHeartbeats.push(e)), 200);
    const [rn, rl] = await joins;
    clearInterval(beat);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(4000);
    expect([rn.errorCode, rl.errorCode]).toEqual([0, 0]);
    expect(rl.members.map((m) => m.memberId).sort()).toEqual([leader.memberId, newcomer.memberId].sort());
    expect(stuckHeartbeats).toContain(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(await follower.heartbeat()).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a leader that never sends SyncGroup is removed after the rebalance timeout; the waiting member is told to rejoin', async () => {
    const g = newGroup();
    const a = await member(g, { rebalanceTimeoutMs: 1200 });
    const b = await member(g, { rebalanceTimeoutMs: 1200 });
    await Promise.all([a.join(), b.join()]);
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    const started = Date.now();
    const s = await follower.sync();
    expect(s.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
    const r = await follower.join();
    expect(r).toMatchObject({ errorCode: 0, leader: follower.memberId });
    expect(r.members).toHaveLength(1);
    expect(await leader.heartbeat()).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('LeaveGroup', () => {
  it('v3+ removes members in a batch with an error per member; the last leaving empties the group', async () => {
    const g = newGroup();
    const { leader, follower } = await stableGroupOfTwo(g);
    const r = await c.request(LeaveGroup, 5, {
      groupId: g,
      members: [
        { memberId: follower.memberId, groupInstanceId: null, reason: 'test' },
        { memberId: 'ghost', groupInstanceId: null },
      ],
    });
    expect(r.errorCode).toBe(0);
    expect(r.members.map((m) => [m.memberId, m.errorCode])).toEqual([
      [follower.memberId, 0],
      ['ghost', ErrorCode.UNKNOWN_MEMBER_ID],
    ]);
    expect(await leader.heartbeat()).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    // v0-v2 carry one member and its error as the response's error.
    const v1 = await c.request(LeaveGroup, 1, { groupId: g, memberId: leader.memberId });
    expect(v1.errorCode).toBe(0);
    expect((await c.request(LeaveGroup, 1, { groupId: g, memberId: leader.memberId })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    await waitFor(async () => (await describeGroup(g)).groupState === 'Empty');
    expect((await c.request(LeaveGroup, 0, { groupId: 'no-such-group', memberId: 'x' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('static membership (group.instance.id)', () => {
  it('a restarted static member takes its place back without a rebalance and fences its old member id', async () => {
    const g = newGroup();
    const a = await member(g, { groupInstanceId: 'instance-a' });
    const b = await member(g);
    // A static member needs no MEMBER_ID_REQUIRED round (KIP-345).
    const [ra, rb] = await Promise.all([a.joinOnce(), b.join()]);
    expect([ra.errorCode, rb.errorCode]).toEqual([0, 0]);
    expect(ra.memberId).toMatch(/^instance-a-/);
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    await Promise.all([leader.sync([{ memberId: a.memberId, assignment: assignment('t', [0]) }, { memberId: b.memberId, assignment: assignment('t', [1]) }]), follower.sync()]);
    const generation = a.generationId;
    const oldId = a.memberId;

    const restarted = await member(g, { groupInstanceId: 'instance-a' });
    const r = await restarted.joinOnce();
    expect(r.errorCode).toBe(0);
    expect(r.generationId).toBe(generation);
    expect(r.memberId).not.toBe(oldId);
    expect(await b.heartbeat()).toBe(0);
    expect((await restarted.sync()).assignment).toEqual(assignment('t', [0]));
    expect(await a.heartbeat()).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(await a.commit('t', 0, 1)).toBe(ErrorCode.FENCED_INSTANCE_ID);

    // Leaving by instance id alone (v3+) removes it and rebalances.
    const leave = await c.request(LeaveGroup, 4, { groupId: g, members: [{ memberId: '', groupInstanceId: 'instance-a' }] });
    expect(leave.members[0]!.errorCode).toBe(0);
    expect(await b.heartbeat()).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });
});

describe('committed offsets', () => {
  const fetch = (groupId: string, version: number, topics: { name: string; partitionIndexes: number[] }[] | null) => c.request(OffsetFetch, version, { groupId, topics, requireStable: false });

  it('stores offsets of a group that only commits (generation -1) and returns them with metadata and leader epoch', async () => {
    const g = newGroup();
    const r = await c.request(OffsetCommit, 9, {
      groupId: g,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 3, committedMetadata: 'hello' }, { partitionIndex: 1, committedOffset: 7, committedMetadata: null }] }],
    });
    expect(r.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([0, 0]);
    for (const v of [1, 2, 5, 7]) {
      const f = await fetch(g, v, [{ name: 't', partitionIndexes: [0, 1, 2] }]);
      expect(f.topics[0]!.partitions).toEqual([
        { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: v >= 5 ? 3 : -1, metadata: 'hello', errorCode: 0 },
        { partitionIndex: 1, committedOffset: 7, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        { partitionIndex: 2, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
      ]);
    }
    // Null topics (v2+): everything the group committed.
    const all = await fetch(g, 7, null);
    expect(all.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)])).toEqual([['t', [42, 7]]]);
    // v8+: several groups in one request, an unknown group answering -1.
    const multi = await c.request(OffsetFetch, 9, {
      groups: [
        { groupId: g, topics: [{ name: 't', partitionIndexes: [0] }] },
        { groupId: 'never-seen', topics: [{ name: 't', partitionIndexes: [0] }] },
        { groupId: g, topics: null },
      ],
    });
    expect(multi.groups.map((x) => [x.groupId, x.errorCode, x.topics.map((t) => t.partitions.map((p) => p.committedOffset))])).toEqual([
      [g, 0, [[42]]],
      ['never-seen', 0, [[-1]]],
      [g, 0, [[42, 7]]],
    ]);
  });

  it('answers unknown topics and partitions, oversized metadata and bad generations per partition', async () => {
    const g = newGroup();
    const r = await c.request(OffsetCommit, 8, {
      groupId: g,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] },
        { name: 'u', partitions: [{ partitionIndex: 2, committedOffset: 1, committedMetadata: null }, { partitionIndex: 1, committedOffset: 1, committedMetadata: 'x'.repeat(101) }, { partitionIndex: 0, committedOffset: 9, committedMetadata: 'x'.repeat(100) }] },
      ],
    });
    expect(r.topics.map((t) => t.partitions.map((p) => p.errorCode))).toEqual([
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.OFFSET_METADATA_TOO_LARGE, 0],
    ]);
    // A generation for a group that does not exist is an old generation.
    const stale = await c.request(OffsetCommit, 2, { groupId: newGroup(), generationIdOrMemberEpoch: 4, memberId: 'm', retentionTimeMs: -1, topics: [{ name: 'u', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }] });
    expect(stale.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    // Only members may commit to a group that has members.
    const { leader } = await stableGroupOfTwo(g);
    const outsider = await c.request(OffsetCommit, 9, { groupId: g, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'u', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }] });
    expect(outsider.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await leader.commit('u', 0, 11, { metadata: 'm', leaderEpoch: 0 })).toBe(0);
    const f = await fetch(g, 5, [{ name: 'u', partitionIndexes: [0] }]);
    expect(f.topics[0]!.partitions[0]).toMatchObject({ committedOffset: 11, metadata: 'm', committedLeaderEpoch: 0 });
  });

  it('OffsetDelete removes offsets of an empty group, and refuses topics a live consumer group subscribes to', async () => {
    const g = newGroup();
    const { leader, follower } = await stableGroupOfTwo(g);
    expect(await leader.commit('t', 0, 5)).toBe(0);
    expect(await leader.commit('u', 0, 6)).toBe(0);
    const del = (groupId: string, topics: { name: string; partitions: { partitionIndex: number }[] }[]) => c.request(OffsetDelete, 0, { groupId, topics });
    const r = await del(g, [
      { name: 't', partitions: [{ partitionIndex: 0 }] },
      { name: 'u', partitions: [{ partitionIndex: 0 }] },
      { name: 'missing', partitions: [{ partitionIndex: 0 }] },
    ]);
    expect(r.errorCode).toBe(0);
    expect(r.topics.map((t) => t.partitions[0]!.errorCode)).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const f = await fetch(g, 7, null);
    expect(f.topics.map((t) => t.name)).toEqual(['t']);
    await Promise.all([leader.leave(), follower.leave()]);
    await waitFor(async () => (await describeGroup(g)).groupState === 'Empty');
    expect((await del(g, [{ name: 't', partitions: [{ partitionIndex: 0 }] }])).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect((await fetch(g, 7, null)).topics).toEqual([]);
    expect((await del('never-seen', [])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });
});

describe('DescribeGroups, ListGroups, DeleteGroups', () => {
  it('describes an unknown group as Dead and lists groups by state and type', async () => {
    expect(await describeGroup('nothing-here', 0)).toMatchObject({ errorCode: 0, groupId: 'nothing-here', groupState: 'Dead', protocolType: '', members: [] });
    const stableId = newGroup();
    await stableGroupOfTwo(stableId);
    const emptyId = newGroup();
    await c.request(OffsetCommit, 9, { groupId: emptyId, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'u', partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }] });
    const v0 = await c.request(ListGroups, 0, {});
    expect(v0.groups).toEqual(expect.arrayContaining([{ groupId: stableId, protocolType: 'consumer', groupState: '', groupType: '' }]));
    expect(v0.groups.map((g) => g.groupId)).toContain(emptyId);
    const stable = await c.request(ListGroups, 4, { statesFilter: ['stable'] });
    expect(stable.groups.every((g) => g.groupState === 'Stable')).toBe(true);
    expect(stable.groups.map((g) => g.groupId)).toContain(stableId);
    expect(stable.groups.map((g) => g.groupId)).not.toContain(emptyId);
    const empty = await c.request(ListGroups, 5, { statesFilter: ['Empty'], typesFilter: ['classic'] });
    expect(empty.groups).toContainEqual({ groupId: emptyId, protocolType: '', groupState: 'Empty', groupType: 'classic' });
    expect((await c.request(ListGroups, 5, { typesFilter: ['consumer'] })).groups).toEqual([]);
  });

  it('deletes only empty groups, with their offsets', async () => {
    const live = newGroup();
    await stableGroupOfTwo(live);
    const empty = newGroup();
    await c.request(OffsetCommit, 9, { groupId: empty, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'u', partitions: [{ partitionIndex: 1, committedOffset: 3, committedMetadata: null }] }] });
    const r = await c.request(DeleteGroups, 2, { groupsNames: [live, empty, 'never-seen'] });
    expect(r.results).toEqual([
      { groupId: live, errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: empty, errorCode: 0 },
      { groupId: 'never-seen', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    expect((await fetch(empty)).topics[0]!.partitions[0]!.committedOffset).toBe(-1);
    expect((await describeGroup(empty)).groupState).toBe('Dead');
    function fetch(groupId: string) {
      return c.request(OffsetFetch, 7, { groupId, topics: [{ name: 'u', partitionIndexes: [1] }] });
    }
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
