// kafkajs, unmodified, as producer and admin client. What it wrote is read
// back over the wire and decoded as a consumer would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes, ConfigResourceTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { Fetch } from '../../src/protocol/messages/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { registerKafkajsCodecs } from '../helpers/kafkajs-codecs.js';
import { RawClient } from '../helpers/raw-client.js';
import { consumeRecords, type ConsumedRecord } from '../helpers/records.js';

let broker: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  registerKafkajsCodecs();
  broker = await startTestBroker();
  kafka = new Kafka({ clientId: 'floe-kafkajs-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await broker.cleanup();
});

async function readAll(topic: string, partition: number): Promise<ConsumedRecord[]> {
  const c = await RawClient.connect(broker.port);
  const out: ConsumedRecord[] = [];
  let offset = 0;
  const id = broker.context.topics.get(topic)!.id;
  for (;;) {
    const r = await c.request(Fetch, 16, { maxWaitMs: 0, minBytes: 0, maxBytes: 4 << 20, topics: [{ topicId: id, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 4 << 20 }] }] });
    const p = r.responses[0].partitions[0];
    const got = (await consumeRecords(p.records)).filter((x) => x.offset >= offset);
    out.push(...got);
    if (got.length === 0 || out[out.length - 1].offset + 1 >= p.highWatermark) break;
    offset = out[out.length - 1].offset + 1;
  }
  c.close();
  return out;
}

describe('kafkajs producer', () => {
  it('produces keyed records across partitions with acks=all; offsets and contents come back', async () => {
    await admin.createTopics({ topics: [{ topic: 'kjs-orders', numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    const messages = Array.from({ length: 300 }, (_, i) => ({ key: `customer-${i % 17}`, value: `order-${i}`, headers: { seq: String(i) } }));
    const results = await producer.send({ topic: 'kjs-orders', acks: -1, messages });
    expect(results.every((r) => r.errorCode === 0)).toBe(true);
    const offsets = await admin.fetchTopicOffsets('kjs-orders');
    const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    expect(total).toBe(300);
    const all = (await Promise.all([0, 1, 2].map((p) => readAll('kjs-orders', p)))).flat();
    expect(all.map((r) => r.value).sort()).toEqual(messages.map((m) => m.value).sort());
    for (const r of all) {
      expect(r.headers.seq).toBe(r.value!.slice('order-'.length));
      expect(r.key).toBe(`customer-${Number(r.headers.seq) % 17}`);
    }
    // the same key always lands in the same partition
    const partitionOfKey = new Map<string, number>();
    for (const [p, recs] of (await Promise.all([0, 1, 2].map((p) => readAll('kjs-orders', p)))).entries()) {
      for (const r of recs) {
        expect(partitionOfKey.get(r.key!) ?? p).toBe(p);
        partitionOfKey.set(r.key!, p);
      }
    }
  });

  for (const [name, type] of [
    ['gzip', CompressionTypes.GZIP],
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ] as const) {
    it(`produces ${name}-compressed batches that read back intact`, async () => {
      const topic = `kjs-${name}`;
      const values = Array.from({ length: 500 }, (_, i) => `${name}-${i}-${'x'.repeat(i % 50)}`);
      await producer.send({ topic, compression: type, acks: 1, messages: values.map((value) => ({ value })) });
      const got = await readAll(topic, 0);
      expect(got.map((r) => r.value)).toEqual(values);
      expect(got.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    });
  }

  it('works as an idempotent producer (InitProducerId, producer ids in batches)', async () => {
    const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await idem.connect();
    const r = await idem.send({ topic: 'kjs-idempotent', messages: [{ value: 'once' }, { value: 'twice' }] });
    expect(r[0].errorCode).toBe(0);
    await idem.disconnect();
    expect((await readAll('kjs-idempotent', 0)).map((x) => x.value)).toEqual(['once', 'twice']);
  });
});

describe('kafkajs admin', () => {
  it('lists, describes, alters and deletes topics', async () => {
    await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
    expect(await admin.listTopics()).toContain('kjs-admin');
    const md = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] });
    expect(md.topics[0].partitions.map((p) => [p.partitionId, p.leader]).sort()).toEqual([
      [0, 1],
      [1, 1],
    ]);
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-admin', configNames: ['retention.ms'] }], includeSynonyms: false });
    expect(described.resources[0].configEntries[0]).toMatchObject({ configName: 'retention.ms', configValue: '60000', isDefault: false });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-admin', configEntries: [{ name: 'retention.ms', value: '120000' }] }] });
    const again = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-admin', configNames: ['retention.ms'] }], includeSynonyms: false });
    expect(again.resources[0].configEntries[0].configValue).toBe('120000');
    await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-admin', count: 4 }] });
    expect((await admin.fetchTopicMetadata({ topics: ['kjs-admin'] })).topics[0].partitions).toHaveLength(4);
    const cluster = await admin.describeCluster();
    expect(cluster).toMatchObject({ brokers: [{ nodeId: 1, host: '127.0.0.1', port: broker.port }], controller: 1, clusterId: broker.context.clusterId });
    await admin.deleteTopics({ topics: ['kjs-admin'] });
    expect(await admin.listTopics()).not.toContain('kjs-admin');
  });

  it('finds offsets by timestamp and deletes records', async () => {
    const t0 = Date.now() - 60_000;
    await producer.send({ topic: 'kjs-times', messages: [0, 1, 2, 3].map((i) => ({ value: `v${i}`, timestamp: String(t0 + i * 1000) })) });
    expect(await admin.fetchTopicOffsetsByTimestamp('kjs-times', t0 + 1500)).toEqual([{ partition: 0, offset: '2' }]);
    await admin.deleteTopicRecords({ topic: 'kjs-times', partitions: [{ partition: 0, offset: '3' }] });
    expect(await admin.fetchTopicOffsets('kjs-times')).toEqual([expect.objectContaining({ partition: 0, low: '3', high: '4' })]);
  });
});
