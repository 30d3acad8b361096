// The group coordinator against a real SQLite metadata store with a clock the
// test moves: offsets.retention.minutes expiry, OffsetCommit v2-v4 retention
// times, reloading after a restart, and the consumer-subscription parser on
// hostile bytes.
import { afterEach, describe, expect, it } from 'vitest';
import { subscribedTopics } from '../../../src/coordinator/consumer-protocol.js';
import { GroupCoordinator, type GroupCoordinatorConfig } from '../../../src/coordinator/group-coordinator.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { subscription } from '../../helpers/groups.js';
import { tempDir } from '../../helpers/tmp.js';

const MINUTE = 60_000;
const CONFIG: GroupCoordinatorConfig = {
  initialRebalanceDelayMs: 0,
  minSessionTimeoutMs: 10,
  maxSessionTimeoutMs: 60 * MINUTE,
  maxSize: 100,
  offsetsRetentionMs: 10 * MINUTE,
  offsetsRetentionCheckIntervalMs: 60 * MINUTE,
  offsetMetadataMaxBytes: 4096,
};

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function coordinator(path: string, clock: { now: number }) {
  const store = new SqliteMetadataStore(path);
  const gc = new GroupCoordinator(store, CONFIG, silentLogger(), () => clock.now);
  await gc.load();
  cleanups.push(async () => {
    gc.shutdown();
    await store.close();
  });
  return { gc, store };
}

const commit = (gc: GroupCoordinator, groupId: string, topic: string, offset: number, retentionTimeMs = -1, member = { generationId: -1, memberId: '' }) =>
  gc.commitOffsets({ groupId, ...member, groupInstanceId: null, retentionTimeMs, offsets: [{ topic, partition: 0, offset, leaderEpoch: 2, metadata: 'md' }] });

const fetched = async (gc: GroupCoordinator, groupId: string, topic: string) => (await gc.fetchOffsets(groupId, [{ name: topic, partitions: [0] }])).topics[0]!.partitions[0]!.offset;

async function joinAndSync(gc: GroupCoordinator, groupId: string, topics: string[]) {
  const j = await gc.joinGroup({
    groupId,
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 60 * MINUTE,
    rebalanceTimeoutMs: 1000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(topics) }],
    requireKnownMemberId: false,
    supportSkippingAssignment: true,
    reason: null,
  });
  expect(j.errorCode).toBe(0);
  expect((await gc.syncGroup({ groupId, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).errorCode).toBe(0);
  return j;
}

describe('offsets.retention.minutes', () => {
  it('expires a simple group per commit, an empty consumer group from when it became empty, and deletes the group with its last offset', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const clock = { now: 1_000_000 };
    const { gc, store } = await coordinator(`${dir.path}/m.db`, clock);

    expect(await commit(gc, 'simple', 'a', 5)).toEqual([0]);
    clock.now += 5 * MINUTE;
    expect(await commit(gc, 'simple', 'b', 6)).toEqual([0]);
    // OffsetCommit v2-v4 may set its own retention.
    expect(await commit(gc, 'short', 'a', 7, MINUTE)).toEqual([0]);

    // A consumer group whose member commits, then leaves: Empty from now on.
    const j = await joinAndSync(gc, 'consumers', ['a']);
    expect(await commit(gc, 'consumers', 'a', 8, -1, { generationId: j.generationId, memberId: j.memberId })).toEqual([0]);
    clock.now += 8 * MINUTE;
    expect(gc.leaveGroup('consumers', [{ memberId: j.memberId, groupInstanceId: null }]).members[0]!.errorCode).toBe(0);
    expect(gc.groupState('consumers')).toBe('Empty');

    // 13 minutes after the first commit, 8 after the second and the short one.
    await gc.expireOffsets();
    expect(await fetched(gc, 'simple', 'a')).toBe(-1);
    expect(await fetched(gc, 'simple', 'b')).toBe(6);
    expect(await fetched(gc, 'short', 'a')).toBe(-1);
    expect(gc.groupState('short')).toBeNull();
    // The consumer group committed 8 minutes ago but has been empty for 0.
    expect(await fetched(gc, 'consumers', 'a')).toBe(8);

    clock.now += 10 * MINUTE;
    await gc.expireOffsets();
    expect(await fetched(gc, 'consumers', 'a')).toBe(-1);
    expect(await fetched(gc, 'simple', 'b')).toBe(-1);
    expect(gc.listGroups([], []).groups).toEqual([]);
    const stored = await store.loadGroups();
    expect(stored).toEqual({ groups: [], offsets: [] });
  });

  it('expires a stable consumer group\'s offsets of topics no member subscribes to', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const clock = { now: 5_000_000 };
    const { gc } = await coordinator(`${dir.path}/m.db`, clock);
    const j = await joinAndSync(gc, 'g', ['a']);
    const member = { generationId: j.generationId, memberId: j.memberId };
    await commit(gc, 'g', 'a', 1, -1, member);
    await commit(gc, 'g', 'old-topic', 2, -1, member);
    clock.now += 11 * MINUTE;
    await gc.expireOffsets();
    expect(await fetched(gc, 'g', 'a')).toBe(1);
    expect(await fetched(gc, 'g', 'old-topic')).toBe(-1);
  });
});

describe('restart', () => {
  it('reloads offsets with metadata and leader epoch, and continues generations where they were', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const clock = { now: 1 };
    const first = await coordinator(`${dir.path}/m.db`, clock);
    const j = await joinAndSync(first.gc, 'g', ['a']);
    await commit(first.gc, 'g', 'a', 41, -1, { generationId: j.generationId, memberId: j.memberId });
    first.gc.shutdown();
    await first.store.close();

    const second = await coordinator(`${dir.path}/m.db`, clock);
    const f = await second.gc.fetchOffsets('g', null);
    expect(f.topics).toEqual([{ name: 'a', partitions: [{ partition: 0, offset: 41, leaderEpoch: 2, metadata: 'md', errorCode: 0 }] }]);
    // The old member is gone; the group is Empty and its next generation follows the stored one.
    expect(second.gc.heartbeat('g', j.generationId, j.memberId, null)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const again = await joinAndSync(second.gc, 'g', ['a']);
    expect(again.generationId).toBe(j.generationId + 1);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS until loaded and NOT_COORDINATOR once shut down', async () => {
    const store = new SqliteMetadataStore(':memory:');
    cleanups.push(() => store.close());
    const gc = new GroupCoordinator(store, CONFIG, silentLogger());
    expect(gc.heartbeat('g', 1, 'm', null)).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect((await gc.fetchOffsets('g', null)).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    await gc.load();
    expect(gc.heartbeat('g', 1, 'm', null)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    gc.shutdown();
    expect((await commit(gc, 'g', 'a', 1))[0]).toBe(ErrorCode.NOT_COORDINATOR);
  });
});

describe('consumer subscription parsing', () => {
  it('reads the topics of any subscription version and returns null for hostile bytes', () => {
    expect(subscribedTopics(subscription(['a', 'bc']))).toEqual(['a', 'bc']);
    expect(subscribedTopics(Buffer.alloc(0))).toBeNull();
    expect(subscribedTopics(Buffer.from([0, 0, 0x7f, 0xff, 0xff, 0xff]))).toBeNull();
    expect(subscribedTopics(Buffer.from([0, 0, 0, 0, 0, 1, 0xff, 0xff]))).toBeNull();
    expect(subscribedTopics(Buffer.from([0xff, 0xff, 0, 0, 0, 0]))).toBeNull();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.from(subscription(['topic-a', 'topic-b']));
      for (let k = 0; k < 3; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const t = subscribedTopics(b.subarray(0, Math.floor(rand() * (b.length + 1))));
      expect(t === null || Array.isArray(t)).toBe(true);
    }
  });
});
