// Retention as an operator sees it, on S3: a topic with retention.bytes is
// filled well past its limit, and the bucket (listed with the AWS SDK, not
// through Floe) shrinks to exactly the objects the retained data needs; then
// retention.ms is lowered with IncrementalAlterConfigs and the bucket empties.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const PREFIX = 'retention/';
let s3: S3TestServer;
let client: S3Client;
let broker: TestBroker;

beforeAll(async () => {
  s3 = await startS3Server();
  client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  broker = await startTestBroker({
    ...s3.brokerOverrides(PREFIX),
    'log.retention.check.interval.ms': '200',
    'log.segment.delete.delay.ms': '300',
    // Many small objects, so that retention has something to take away.
    'wal.flush.bytes': String(64 << 10),
  });
});
afterAll(async () => {
  await broker?.cleanup();
  client?.destroy();
  await s3?.stop();
});

async function bucket(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: PREFIX, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!.slice(PREFIX.length), o.Size ?? 0);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return out;
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('retention on S3', () => {
  it('shrinks the bucket to what retention.bytes keeps, then to nothing under retention.ms', async () => {
    const kafka = new Kafka({ clientId: 'retention', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const limit = 256 << 10;
    await admin.createTopics({ topics: [{ topic: 'shrinking', numPartitions: 2, configEntries: [{ name: 'retention.bytes', value: String(limit) }] }] });
    const producer = kafka.producer();
    await producer.connect();
    const value = 'v'.repeat(1000);
    for (let round = 0; round < 40; round++) {
      await producer.send({ topic: 'shrinking', acks: -1, messages: Array.from({ length: 100 }, (_, i) => ({ partition: i % 2, value: `${round}-${i}-${value}` })) });
    }
    await producer.disconnect();
    const written = 40 * 100 * 1000;

    const streams = broker.context.topics.get('shrinking')!.partitions.map((p) => p.stream);
    // The retained ranges name exactly the objects left in the bucket: nothing else, nothing missing.
    const after = await until(
      'bucket after retention.bytes',
      async () => {
        const keys = new Set(streams.flatMap((s) => s.ranges.map((r) => r.objectKey)));
        return { keys, listed: await bucket() };
      },
      ({ keys, listed }) => listed.size === keys.size && [...keys].every((k) => listed.has(k)),
    );
    for (const s of streams) {
      const retained = s.ranges.reduce((n, r) => n + r.size, 0);
      // Kafka's rule: at least retention.bytes, and less than that plus one range.
      expect(retained).toBeGreaterThanOrEqual(limit);
      expect(retained).toBeLessThan(limit + Math.max(...s.ranges.map((r) => r.size)));
      expect(s.startOffset).toBeGreaterThan(0);
    }
    const bytesLeft = total(after.listed);
    expect(bytesLeft).toBeLessThan(written / 4);
    console.log(JSON.stringify({ written, objectsLeft: after.listed.size, bytesLeft, startOffsets: streams.map((s) => s.startOffset) }));
    const offsets = await admin.fetchTopicOffsets('shrinking');
    for (const o of offsets) expect(Number(o.low)).toBe(streams[o.partition].startOffset);

    // A consumer from the beginning starts at the new log start offset and reads to the end.
    const consumer = kafka.consumer({ groupId: 'from-start' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'shrinking', fromBeginning: true });
    const firstSeen = new Map<number, number>();
    let count = 0;
    const expected = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (!firstSeen.has(partition)) firstSeen.set(partition, Number(message.offset));
          if (++count === expected) resolve();
        },
      });
    });
    await consumer.disconnect();
    for (const o of offsets) expect(firstSeen.get(o.partition)).toBe(Number(o.low));

    // retention.ms lowered at run time: everything is past it, and the bucket empties.
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'shrinking', configEntries: [{ name: 'retention.ms', value: '1' }] }] });
    await until('bucket after retention.ms', bucket, (m) => m.size === 0);
    const emptied = await admin.fetchTopicOffsets('shrinking');
    for (const o of emptied) expect(o.low).toBe(o.high);
    const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
    expect(text).toMatch(/floe_objects_deleted_total\{reason="unreferenced"\} [1-9]/);
    await admin.disconnect();
  });
});
