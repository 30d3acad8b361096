// Hostile group traffic: thousands of members and member ids, huge metadata
// blobs. The coordinator answers all of it and stays responsive for others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import { DescribeGroups, JoinGroup } from '../../src/protocol/messages/index.js';
import { capturingLogger, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { assignment, RawMember, subscription } from '../helpers/groups.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: TestBroker;
const captured = capturingLogger();
const open: RawMember[] = [];
beforeAll(async () => {
  broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '300', 'group.min.session.timeout.ms': '100' }, undefined, captured.logger);
});
afterAll(async () => {
  for (const m of open) m.close();
  await broker.cleanup();
});

async function member(groupId: string, opts: Parameters<typeof RawMember.connect>[2] = {}) {
  const m = await RawMember.connect(broker.port, groupId, opts);
  open.push(m);
  return m;
}

describe('group coordinator under hostile load', () => {
  it('hands out 5,000 member ids that are never used, and forgets them after the session timeout', async () => {
    const c = await RawClient.connect(broker.port);
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const r = await c.request(JoinGroup, 9, { groupId: 'flood', sessionTimeoutMs: 300, rebalanceTimeoutMs: 1000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['t']) }] });
      expect(r.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
      ids.add(r.memberId);
    }
    expect(ids.size).toBe(5000);
    await new Promise((r) => setTimeout(r, 600));
    const late = await c.request(JoinGroup, 9, { groupId: 'flood', sessionTimeoutMs: 300, rebalanceTimeoutMs: 1000, memberId: [...ids][0]!, protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['t']) }] });
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    c.close();
  });

  it('runs a rebalance of 1,000 members: one generation, the leader sees all, each gets its assignment', async () => {
    const members = await Promise.all(Array.from({ length: 1000 }, () => member('crowd', { version: 3, sessionTimeoutMs: 30000, rebalanceTimeoutMs: 10000 })));
    const joins = await Promise.all(members.map((m) => m.join()));
    expect(new Set(joins.map((j) => `${j.errorCode}/${j.generationId}`))).toEqual(new Set(['0/1']));
    const leader = members.find((m) => m.isLeader)!;
    expect(leader.members).toHaveLength(1000);
    const assignments = members.map((m, i) => ({ memberId: m.memberId, assignment: assignment('t', [i]) }));
    const syncs = await Promise.all(members.map((m) => m.sync(m === leader ? assignments : [])));
    expect(syncs.every((s, i) => s.errorCode === 0 && s.assignment.equals(assignment('t', [i])))).toBe(true);
    const beats = await Promise.all(members.map((m) => m.heartbeat()));
    expect(beats.every((b) => b === 0)).toBe(true);
  });

  it('carries a 16 MiB metadata blob through JoinGroup and DescribeGroups while other groups keep working', async () => {
    const blob = Buffer.alloc(16 * 1024 * 1024, 7);
    const big = await member('big', { protocols: [{ name: 'range', metadata: blob }] });
    const small = await member('small');
    const started = Date.now();
    const [rb, rs] = await Promise.all([big.join(), small.join()]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(rs.errorCode).toBe(0);
    expect(rb.errorCode).toBe(0);
    expect(rb.members[0]!.metadata.equals(blob)).toBe(true);
    expect((await big.sync([{ memberId: big.memberId, assignment: blob }])).assignment.length).toBe(blob.length);
    const c = await RawClient.connect(broker.port);
    const d = await c.request(DescribeGroups, 5, { groups: ['big'] });
    expect(d.groups[0]!.members[0]!.memberMetadata.length).toBe(blob.length);
    c.close();
    expect(captured.lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
