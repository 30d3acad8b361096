// @platformatic/kafka, unmodified: admin, producer, and a consumer with
// manual assignment (ListOffsets + Fetch, no group).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker;
let admin: Admin;
let producer: Producer<string, string, string, string>;
let consumer: Consumer<string, string, string, string>;

beforeAll(async () => {
  broker = await startTestBroker();
  const common = { clientId: 'floe-platformatic-test', bootstrapBrokers: [broker.bootstrap], retries: 2, autocreateTopics: true };
  admin = new Admin(common);
  producer = new Producer({ ...common, serializers: stringSerializers });
  consumer = new Consumer({ ...common, groupId: 'unused-manual-assignment', deserializers: stringDeserializers });
});
afterAll(async () => {
  await consumer?.close(true);
  await producer?.close();
  await admin?.close();
  await broker.cleanup();
});

interface Read {
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** Reads a partition from `from` up to its high watermark with Fetch requests, as a manually assigned consumer does. */
async function readPartition(topic: string, partition: number, from = 0): Promise<Read[]> {
  // The topic id as the client itself learned it from Metadata.
  const topicId = (await consumer.metadata({ topics: [topic] })).topics.get(topic)!.id;
  const out: Read[] = [];
  let offset = BigInt(from);
  for (let i = 0; i < 100; i++) {
    const res = await consumer.fetch({
      node: 1,
      maxWaitTime: 100,
      topics: [{ topicId, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
    });
    const p = res.responses[0].partitions[0];
    expect(p.errorCode).toBe(0);
    for (const batch of p.records ?? []) {
      for (const r of batch.records) {
        const o = batch.firstOffset + BigInt(r.offsetDelta);
        if (o < offset) continue;
        out.push({
          offset: Number(o),
          key: r.key?.toString() ?? null,
          value: r.value?.toString() ?? null,
          headers: Object.fromEntries(r.headers.map(([k, v]) => [k?.toString() ?? '', v?.toString() ?? ''])),
        });
      }
    }
    if (out.length > 0) offset = BigInt(out[out.length - 1].offset + 1);
    if (offset >= p.highWatermark) break;
  }
  return out;
}

describe('@platformatic/kafka', () => {
  it('creates a topic, produces with keys and headers, and reads every record back by manual assignment', async () => {
    await admin.createTopics({ topics: ['plt-events'], partitions: 2, replicas: 1 });
    const messages = Array.from({ length: 200 }, (_, i) => ({ topic: 'plt-events', partition: i % 2, key: `k${i}`, value: `event-${i}`, headers: { n: String(i) } }));
    const result = await producer.send({ messages, acks: -1 });
    expect(result.offsets?.length ?? 0).toBeGreaterThan(0);
    const latest = await consumer.listOffsets({ topics: ['plt-events'] });
    expect([...latest.get('plt-events')!]).toEqual([100n, 100n]);
    for (const partition of [0, 1]) {
      const got = await readPartition('plt-events', partition);
      const want = messages.filter((m) => m.partition === partition);
      expect(got.map((r) => r.offset)).toEqual(want.map((_, i) => i));
      expect(got.map((r) => [r.key, r.value, r.headers.n])).toEqual(want.map((m) => [m.key, m.value, m.headers.n]));
    }
  });

  for (const compression of ['none', 'gzip', 'snappy', 'lz4'] as const) {
    it(`round-trips ${compression} batches`, async () => {
      const topic = `plt-${compression}`;
      const values = Array.from({ length: 300 }, (_, i) => `${compression}-${i}`);
      await producer.send({ messages: values.map((value) => ({ topic, partition: 0, value })), compression, acks: 1 });
      expect((await readPartition(topic, 0)).map((r) => r.value)).toEqual(values);
    });
  }

  it('lists offsets by timestamp', async () => {
    const t0 = BigInt(Date.now() - 10_000);
    await producer.send({ messages: [0n, 1n, 2n].map((i) => ({ topic: 'plt-times', partition: 0, value: `t${i}`, timestamp: t0 + i * 1000n })) });
    const byTime = await consumer.listOffsets({ topics: ['plt-times'], timestamp: t0 + 500n });
    expect([...byTime.get('plt-times')!]).toEqual([1n]);
  });

  it('reads from the middle of the log after a broker restart', async () => {
    const before = await readPartition('plt-events', 0, 50);
    expect(before[0].offset).toBe(50);
    await consumer.close(true);
    await broker.stop();
    const restarted = await startTestBroker({ listeners: `PLAINTEXT://127.0.0.1:${broker.port}` }, broker.dataDir);
    broker = { ...restarted, cleanup: broker.cleanup };
    consumer = new Consumer({ clientId: 'floe-platformatic-test-2', bootstrapBrokers: [restarted.bootstrap], groupId: 'unused', deserializers: stringDeserializers });
    expect((await consumer.metadata({ topics: ['plt-events'] })).topics.get('plt-events')!.id.replaceAll('-', '')).toBe(Buffer.from(restarted.context.topics.get('plt-events')!.id, 'base64url').toString('hex'));
    const after = await readPartition('plt-events', 0, 50);
    expect(after).toEqual(before);
    expect(restarted.context.store.objectReads).toBeGreaterThan(0);
  });
});
