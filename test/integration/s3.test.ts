// The broker end to end on S3 (a real S3-compatible server): kafkajs produces
// and a kafkajs consumer group consumes; the broker restarts and a new group
// reads everything again from S3 with ranged GETs; the operator's endpoint
// shows what happened.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { objectRows } from '../helpers/metadata-db.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { committedOffsets, currentSnapshotOf, duckRows, waitForTable } from '../helpers/iceberg.js';
import { readManifest, readManifestList } from '../../src/table/iceberg/manifest.js';
import { tempDir } from '../helpers/tmp.js';

let s3: S3TestServer;
const dir = tempDir();
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
  dir.cleanup();
});

async function consumeAll(bootstrap: string, groupId: string, topic: string, expected: number): Promise<Map<string, string>> {
  const kafka = new Kafka({ clientId: groupId, brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Map<string, string>();
  let duplicates = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of ${expected}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const at = `${partition}:${message.offset}`;
        if (seen.has(at)) duplicates++;
        seen.set(at, message.value?.toString() ?? '');
        if (seen.size === expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  expect(duplicates).toBe(0);
  return seen;
}

describe('Floe on S3', () => {
  it('produces, consumes, restarts and reads everything back from the bucket', async () => {
    const overrides = {
      ...s3.brokerOverrides('e2e/'),
      'group.initial.rebalance.delay.ms': '0',
      // Compaction on demand (runOnce below), with thresholds this test's data crosses.
      'compaction.interval.ms': '3600000',
      'compaction.stream.object.bytes': String(64 << 10),
      'compaction.block.bytes': String(16 << 10),
    };
    let broker: TestBroker = await startTestBroker(overrides, dir.path);
    const kafka = new Kafka({ clientId: 's3-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'on-s3', numPartitions: 3 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const sent: string[] = [];
    for (let round = 0; round < 10; round++) {
      const messages = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 50}`, value: `r${round}-${i}-${'y'.repeat(i % 300)}` }));
      await producer.send({ topic: 'on-s3', acks: -1, messages });
      sent.push(...messages.map((m) => m.value));
    }
    await producer.disconnect();
    const live = await consumeAll(broker.bootstrap, 'first', 'on-s3', sent.length);
    expect([...live.values()].sort()).toEqual([...sent].sort());

    const base = `http://127.0.0.1:${broker.metricsPort}`;
    const before = await scrape(base);
    expect(metricValue(before, 'floe_object_store_requests_total', { operation: 'put', outcome: 'success' })).toBeGreaterThan(0);
    expect(metricValue(before, 'floe_wal_flushes_total', { result: 'committed' })).toBeGreaterThan(0);
    // One Produce request per send: one broker leads all three partitions.
    expect(metricValue(before, 'floe_requests_total', { api: 'Produce' })).toBe(10);
    expect(metricValue(before, 'floe_request_seconds_count', { api: 'Fetch' })).toBeGreaterThan(0);
    expect(metricValue(before, 'floe_produce_bytes_total')).toBeGreaterThan(sent.reduce((n, v) => n + v.length, 0));
    expect(metricValue(before, 'floe_cache_requests_total', { cache: 'log', result: 'hit' })).toBeGreaterThan(0);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);

    // Rewrite the partitions into stream objects before the restart: the cold reads below go to them.
    const compacted = await broker.compactor.runOnce();
    expect(compacted.splits).toBeGreaterThanOrEqual(3);
    expect(compacted.aborted).toBe(0);
    await broker.stop();
    broker = await startTestBroker(overrides, dir.path);
    expect(objectRows(dir.path).filter((o) => o.kind === 'stream' && o.state === 'committed').length).toBeGreaterThanOrEqual(3);
    try {
      // A new group after the restart: every record comes from the bucket.
      const cold = await consumeAll(broker.bootstrap, 'second', 'on-s3', sent.length);
      expect([...cold.entries()].sort()).toEqual([...live.entries()].sort());
      const after = await scrape(`http://127.0.0.1:${broker.metricsPort}`);
      expect(metricValue(after, 'floe_object_store_requests_total', { operation: 'get', outcome: 'success' })).toBeGreaterThan(0);
      expect(metricValue(after, 'floe_object_store_bytes_total', { direction: 'download' })).toBeGreaterThan(sent.reduce((n, v) => n + v.length, 0));
      expect(metricValue(after, 'floe_object_store_requests_total', { operation: 'put' })).toBe(0);
    } finally {
      await broker.stop();
    }
  });

  it('keeps a table topic\'s Iceberg table in the bucket: s3:// metadata, manifests and Parquet files that read back as the records', async () => {
    const broker = await startTestBroker(s3.brokerOverrides('tables/'));
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const local = tempDir('floe-s3-table-');
    try {
      const kafka = new Kafka({ clientId: 's3-table', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: 'events', numPartitions: 2, configEntries: [{ name: 'automq.table.topic.enable', value: 'true' }, { name: 'automq.table.topic.commit.interval.ms', value: '300' }] }],
      });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      const messages = Array.from({ length: 100 }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: `event-${i}` }));
      await producer.send({ topic: 'events', acks: -1, messages });
      await producer.disconnect();

      const catalogUrl = `http://127.0.0.1:${broker.catalogPort}`;
      const { metadataLocation, metadata } = await waitForTable(catalogUrl, 'default', 'events', (t) => committedOffsets(t)['0'] === 50 && committedOffsets(t)['1'] === 50);
      expect(metadataLocation).toMatch(/^s3:\/\/floe\/tables\/iceberg\/default\/events\/metadata\/00001-.*\.metadata\.json$/);
      // Everything read straight from the bucket with the AWS SDK, as an engine on S3 would.
      const get = async (uri: string): Promise<Buffer> => {
        const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
        const r = await client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
        return Buffer.from(await r.Body!.transformToByteArray());
      };
      expect(JSON.parse((await get(metadataLocation)).toString())['current-snapshot-id']).toBe(metadata['current-snapshot-id']);
      const files: string[] = [];
      for (const mf of await readManifestList(await get(currentSnapshotOf(metadata)!['manifest-list']))) {
        expect(mf.manifestPath).toMatch(/^s3:\/\/floe\/tables\/iceberg\/default\/events\/metadata\//);
        for (const e of (await readManifest(await get(mf.manifestPath))).entries) {
          expect(e.dataFile.filePath).toMatch(/^s3:\/\/floe\/tables\/iceberg\/default\/events\/data\/floe-.*\.parquet$/);
          const path = join(local.path, `${files.length}.parquet`);
          writeFileSync(path, await get(e.dataFile.filePath));
          files.push(path);
        }
      }
      const rows = await duckRows(files, '_kafka_key AS k, decode(_kafka_value) AS v, _kafka_metadata.partition AS p', 'p, _kafka_metadata.offset');
      expect(rows).toEqual([0, 1].flatMap((p) => messages.filter((m) => m.partition === p).map((m) => ({ k: m.key, v: m.value, p }))));
    } finally {
      client.destroy();
      await broker.cleanup();
      local.cleanup();
    }
  }, 60_000);

  it('on S3\'s defaults, gathers produce requests that arrive within 250 ms into one object, and says so in DescribeConfigs', async () => {
    const broker = await startTestBroker(s3.brokerOverrides('gather/'));
    try {
      const kafka = new Kafka({ clientId: 's3-gather', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      const described = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['wal.flush.interval.ms', 'wal.flush.bytes'] }],
        includeSynonyms: false,
      });
      const entries = new Map(described.resources[0].configEntries.map((e) => [e.configName, e]));
      expect(entries.get('wal.flush.interval.ms')).toMatchObject({ configValue: '250', isDefault: true });
      expect(entries.get('wal.flush.bytes')).toMatchObject({ configValue: String(16 << 20), isDefault: true });
      await admin.createTopics({ topics: [{ topic: 'gathered', numPartitions: 3 }] });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      const base = `http://127.0.0.1:${broker.metricsPort}`;
      const flushes = async () => metricValue(await scrape(base), 'floe_wal_flushes_total', { result: 'committed' });
      const before = await flushes();
      // Ten sends 15 ms apart, none waiting for another: 5 ms flushes (the fs default) would make about ten objects.
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        sends.push(producer.send({ topic: 'gathered', acks: -1, messages: [{ partition: i % 3, value: `v${i}` }] }));
        await new Promise((r) => setTimeout(r, 15));
      }
      const results = (await Promise.all(sends)) as { partition: number; baseOffset: string }[][];
      expect(results.map((r) => r[0].partition)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
      expect(results.map((r) => Number(r[0].baseOffset))).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3]);
      expect(metricValue(await scrape(base), 'floe_requests_total', { api: 'Produce' })).toBe(10);
      // One object, or two when a slow machine spreads the sends past one interval.
      expect((await flushes()) - before).toBeLessThanOrEqual(2);
      await producer.disconnect();
    } finally {
      await broker.stop();
    }
  });
});
