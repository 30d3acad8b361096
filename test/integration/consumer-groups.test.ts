// Real consumer groups: three kafkajs consumers (separate processes) over a
// six-partition topic through joins, a graceful leave and a kill -9, then a
// broker restart; and an @platformatic/kafka consumer group.
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { MemberProcess, ownsEachPartitionOnce, waitUntil } from '../helpers/member-process.js';

const SESSION_TIMEOUT_MS = 6000;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function produce(bootstrap: string, topic: string, from: number, to: number, partitions: number): Promise<void> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const p = kafka.producer();
  await p.connect();
  const messages = [];
  for (let i = from; i <= to; i++) messages.push({ partition: i % partitions, value: String(i) });
  await p.send({ topic, acks: -1, messages });
  await p.disconnect();
}

function expectEachOnce(consumed: string[], upTo: number): void {
  const counts = new Map<string, number>();
  for (const v of consumed) counts.set(v, (counts.get(v) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  const missing = [];
  for (let i = 1; i <= upTo; i++) if (!counts.has(String(i))) missing.push(i);
  expect({ twice, missing, total: consumed.length }).toEqual({ twice: [], missing: [], total: upTo });
}

describe('kafkajs consumer group', () => {
  it('three members share six partitions through a crash, a leave and a join, consuming every record once; offsets survive a restart', async () => {
    const first = await startTestBroker({ 'group.initial.rebalance.delay.ms': '500' });
    cleanups.push(() => first.cleanup());
    let broker: TestBroker = first;
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 6 }] });
    await admin.disconnect();
    await produce(broker.bootstrap, 'orders', 1, 600, 6);

    const args = (id: string) => [broker.bootstrap, 'orders-app', 'orders', id, String(SESSION_TIMEOUT_MS)];
    const members = ['a', 'b', 'c'].map((id) => new MemberProcess('kafkajs-member.mjs', args(id)));
    cleanups.push(async () => {
      for (const m of members) await m.crash();
    });
    const [a, b, c] = members as [MemberProcess, MemberProcess, MemberProcess];
    const consumed = () => members.flatMap((m) => m.consumed());

    await waitUntil(() => ownsEachPartitionOnce([a, b, c], 6) && [a, b, c].every((m) => m.assigned.length === 2), 30000, 'three members with two partitions each');
    await waitUntil(() => consumed().length >= 600, 30000, 'the first 600 records');

    // kill -9: the member's partitions move to the others within the session timeout.
    const crashedAt = Date.now();
    await a.crash();
    await waitUntil(() => ownsEachPartitionOnce([b, c], 6), SESSION_TIMEOUT_MS + 10000, 'b and c to take over a\'s partitions');
    const takeover = Date.now() - crashedAt;
    expect(takeover).toBeLessThan(SESSION_TIMEOUT_MS + 10000);
    await produce(broker.bootstrap, 'orders', 601, 1200, 6);
    await waitUntil(() => consumed().length >= 1200, 30000, 'records 601-1200');

    // Graceful leave: c takes everything without waiting for a timeout.
    const leftAt = Date.now();
    await b.stop();
    await waitUntil(() => c.assigned.length === 6, 15000, 'c to own all six partitions');
    expect(Date.now() - leftAt).toBeLessThan(SESSION_TIMEOUT_MS);

    // A new member joins while records arrive.
    const d = new MemberProcess('kafkajs-member.mjs', args('d'));
    members.push(d);
    await produce(broker.bootstrap, 'orders', 1201, 1500, 6);
    await waitUntil(() => ownsEachPartitionOnce([c, d], 6) && d.assigned.length === 3, 30000, 'c and d to split the partitions');
    await produce(broker.bootstrap, 'orders', 1501, 1800, 6);
    await waitUntil(() => consumed().length >= 1800, 30000, 'records 1201-1800');
    await new Promise((r) => setTimeout(r, 500));
    expectEachOnce(consumed(), 1800);
    for (const m of [c, d]) expect(m.events.filter((e) => e.event === 'crash')).toEqual([]);
    await c.stop();
    await d.stop();

    // The committed offsets are what a user checks with an admin client, before and after a restart.
    const committed = async () => {
      const adm = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
      await adm.connect();
      const r = await adm.fetchOffsets({ groupId: 'orders-app', topics: ['orders'] });
      const groups = await adm.describeGroups(['orders-app']);
      await adm.disconnect();
      return { offsets: r[0]!.partitions.map((p) => [p.partition, p.offset]).sort((x, y) => Number(x[0]) - Number(y[0])), state: groups.groups[0]!.state };
    };
    const expected = [0, 1, 2, 3, 4, 5].map((p) => [p, '300']);
    expect(await committed()).toEqual({ offsets: expected, state: 'Empty' });
    await broker.stop();
    broker = await startTestBroker({}, first.dataDir);
    const restarted = broker;
    cleanups.push(() => restarted.cleanup());
    expect(await committed()).toEqual({ offsets: expected, state: 'Empty' });
  });
});

describe('@platformatic/kafka consumer group', () => {
  it('two consumers split four partitions, commit every message, and a new consumer resumes from the commits', async () => {
    const broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '300' });
    cleanups.push(() => broker.cleanup());
    const common = { clientId: 'plat', bootstrapBrokers: [broker.bootstrap], retries: 5 };
    const admin = new Admin(common);
    const producer = new Producer({ ...common, serializers: stringSerializers });
    cleanups.push(async () => {
      await producer.close();
      await admin.close();
    });
    await admin.createTopics({ topics: ['events'], partitions: 4, replicas: 1 });
    const send = (from: number, to: number) =>
      producer.send({ messages: Array.from({ length: to - from + 1 }, (_, i) => ({ topic: 'events', partition: (from + i) % 4, value: String(from + i) })) });
    await send(1, 400);

    const consumed: string[] = [];
    const start = async (clientId: string) => {
      const consumer = new Consumer({ ...common, clientId, groupId: 'plat-app', deserializers: stringDeserializers, sessionTimeout: 10000, heartbeatInterval: 500 });
      const stream = await consumer.consume({ topics: ['events'], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
      stream.on('data', (m) => {
        void Promise.resolve(m.commit()).then(() => consumed.push(m.value));
      });
      return { consumer, stream };
    };
    const one = await start('plat-1');
    const two = await start('plat-2');
    await waitUntil(() => consumed.length >= 400, 30000, '400 records');
    await waitUntil(() => (one.consumer.assignments?.length ?? 0) > 0 && (two.consumer.assignments?.length ?? 0) > 0, 15000, 'both consumers assigned');
    const owned = [one, two].flatMap((c) => c.consumer.assignments!.flatMap((a) => a.partitions)).sort();
    expect(owned).toEqual([0, 1, 2, 3]);
    expectEachOnce(consumed, 400);
    const groups = await admin.describeGroups({ groups: ['plat-app'] });
    expect(groups.get('plat-app')!.state).toBe('STABLE');
    expect(groups.get('plat-app')!.members.size).toBe(2);
    await one.stream.close();
    await one.consumer.close(true);
    await two.stream.close();
    await two.consumer.close(true);

    const offsets = await admin.listConsumerGroupOffsets({ groups: ['plat-app'] });
    expect(offsets[0]!.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset]).sort()).toEqual([0, 1, 2, 3].map((p) => [p, 100n]));

    await send(401, 440);
    const three = await start('plat-3');
    await waitUntil(() => consumed.length >= 440, 30000, 'records 401-440');
    await new Promise((r) => setTimeout(r, 300));
    expectEachOnce(consumed, 440);
    await three.stream.close();
    await three.consumer.close(true);
  });
});
