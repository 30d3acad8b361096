import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { baseOffsetOf, Compression, readBatchHeader, splitBatches } from '../../../src/protocol/records/batch.js';
import { buildBatch } from '../../../src/protocol/records/builder.js';
import { decodeRecords } from '../../../src/protocol/records/record.js';
import { CorruptObjectError, StorageWriteError } from '../../../src/storage/errors.js';
import { readObject } from '../../../src/storage/object-format.js';
import type { ObjectStore } from '../../../src/storage/objectstore/types.js';
import { StreamStore } from '../../../src/storage/s3stream.js';
import { BrokerMetrics } from '../../../src/observability/metrics.js';
import { metricValue } from '../../helpers/metrics.js';
import { tempDir } from '../../helpers/tmp.js';
import { objectStoreKinds } from './store-kinds.js';

const opts = { flushBytes: 1 << 20, flushIntervalMs: 2, maxInflight: 4, maxPendingBytes: 64 << 20, logCacheBytes: 64 << 20 };

const opened: ObjectStore[] = [];

/** The object store under test, at one location per test; `open` may be called again to reopen it. */
let openStore: () => ObjectStore;

async function setup(dir: string, store?: ObjectStore) {
  const meta = new SqliteMetadataStore(join(dir, 'metadata.db'));
  const objects = store ?? openStore();
  opened.push(objects);
  const topic = await meta.createTopic({ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', name: 't', partitionCount: 2, replicationFactor: 1, configs: {} });
  const s3 = new StreamStore(objects, meta, opts, silentLogger());
  const streams = await s3.open(topic.partitions.map((p) => p.streamId));
  return { meta, objects, s3, streams };
}

const values = (batches: Buffer[]) =>
  batches.flatMap((b) => {
    const h = readBatchHeader(b);
    return decodeRecords(b.subarray(61), h.recordCount).map((r) => [h.baseOffset + r.offsetDelta, r.value?.toString()]);
  });

describe.each(objectStoreKinds())('S3Stream on the $name store and SQLite', (kind) => {
  let dir: { path: string; cleanup: () => void };
  beforeAll(() => kind.start());
  afterAll(() => kind.stop());
  beforeEach(() => {
    dir = tempDir();
    const location = kind.location(dir.path);
    openStore = () => kind.open(location);
  });
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
    dir.cleanup();
  });

  it('assigns offsets, commits one object for many streams and serves reads', async () => {
    const { s3, streams, meta, objects } = await setup(dir.path);
    const [a, b] = streams;
    const acks = await Promise.all([
      s3.append(a, await buildBatch([{ value: 'a0' }, { value: 'a1' }]), 2, Date.now()),
      s3.append(b, await buildBatch([{ value: 'b0' }]), 1, Date.now()),
      s3.append(a, await buildBatch([{ value: 'a2' }]), 1, Date.now()),
    ]);
    expect(acks).toEqual([0, 0, 2]);
    expect(a.committedEnd).toBe(3);
    expect(b.committedEnd).toBe(1);
    // one object holds both streams' blocks
    const keys: string[] = [];
    for await (const o of objects.list('s3stream/')) keys.push(o.key);
    expect(keys).toHaveLength(1);
    const obj = readObject(await objects.get(keys[0]));
    expect(obj.entries.map((e) => [e.streamId, e.startOffset, e.endOffset, e.recordCount])).toEqual([
      [a.id, 0, 3, 3],
      [b.id, 0, 1, 1],
    ]);
    expect(values(await s3.read(a, 0, 1 << 20, true))).toEqual([
      [0, 'a0'],
      [1, 'a1'],
      [2, 'a2'],
    ]);
    // reads from the middle of a batch return the batch holding the offset
    expect(values(await s3.read(a, 1, 1 << 20, true))[0][0]).toBe(0);
    await meta.close();
  });

  it('reads back from object storage after a reopen (cold read, ranged GET)', async () => {
    const first = await setup(dir.path);
    const [a] = first.streams;
    for (let i = 0; i < 5; i++) await first.s3.append(a, await buildBatch([{ value: `v${i}` }], { compression: i % 2 ? Compression.GZIP : Compression.NONE }), 1, Date.now());
    await first.meta.close();

    const meta = new SqliteMetadataStore(join(dir.path, 'metadata.db'));
    const store2 = openStore();
    opened.push(store2);
    const s3 = new StreamStore(store2, meta, opts, silentLogger());
    const [reopened] = await s3.open([a.id]);
    expect(reopened.epoch).toBe(a.epoch + 1);
    expect(reopened.committedEnd).toBe(5);
    const batches = await s3.read(reopened, 2, 1 << 20, true);
    expect(batches.map((b) => baseOffsetOf(b))).toEqual([2, 3, 4]);
    expect(s3.objectReads).toBe(3);
    // appends continue at the committed end, under the new epoch
    expect(await s3.append(reopened, await buildBatch([{ value: 'v5' }]), 1, Date.now())).toBe(5);
    const [last] = await s3.read(reopened, 5, 1 << 20, true);
    expect(readBatchHeader(last).partitionLeaderEpoch).toBe(reopened.epoch);
    expect(reopened.endOffsetForEpoch(a.epoch)).toEqual({ epoch: a.epoch, endOffset: 5 });
    await meta.close();
  });

  it('refuses a block whose bytes changed in object storage, and serves the blocks around it', async () => {
    const first = await setup(dir.path);
    const [a, b] = first.streams;
    await Promise.all([first.s3.append(a, await buildBatch([{ value: 'a0' }]), 1, Date.now()), first.s3.append(b, await buildBatch([{ value: 'b0' }]), 1, Date.now())]);
    await first.meta.close();
    // One bit of stream a's block flipped in the stored object, as rot on a disk or a bucket would.
    const keys: string[] = [];
    for await (const o of first.objects.list('s3stream/')) keys.push(o.key);
    expect(keys).toHaveLength(1);
    const bytes = Buffer.from(await first.objects.get(keys[0]));
    const entry = readObject(bytes).entries.find((e) => e.streamId === a.id)!;
    bytes[entry.position + entry.size - 3] ^= 0x10;
    await first.objects.put(keys[0], bytes);

    const meta = new SqliteMetadataStore(join(dir.path, 'metadata.db'));
    const store2 = openStore();
    opened.push(store2);
    const s3 = new StreamStore(store2, meta, opts, silentLogger());
    const [ra, rb] = await s3.open([a.id, b.id]);
    await expect(s3.read(ra, 0, 1 << 20, true)).rejects.toThrow(CorruptObjectError);
    await expect(s3.read(ra, 0, 1 << 20, true)).rejects.toThrow(/block checksum mismatch/);
    expect(values(await s3.read(rb, 0, 1 << 20, true))).toEqual([[0, 'b0']]);
    await meta.close();
  });

  it('respects maxBytes but always returns a first batch when asked', async () => {
    const { s3, streams, meta } = await setup(dir.path);
    const [a] = streams;
    for (let i = 0; i < 3; i++) await s3.append(a, await buildBatch([{ value: Buffer.alloc(1000, i) }]), 1, Date.now());
    expect(await s3.read(a, 0, 10, true)).toHaveLength(1);
    expect(await s3.read(a, 0, 10, false)).toHaveLength(0);
    expect(await s3.read(a, 0, 2200, false)).toHaveLength(2);
    await meta.close();
  });

  it('finds offsets by timestamp, including inside compressed batches', async () => {
    const { s3, streams, meta } = await setup(dir.path);
    const [a] = streams;
    const t0 = 1_700_000_000_000;
    await s3.append(a, await buildBatch([{ value: 'x', timestamp: t0 }, { value: 'y', timestamp: t0 + 10 }], { compression: Compression.ZSTD }), 2, t0 + 10);
    await s3.append(a, await buildBatch([{ value: 'z', timestamp: t0 + 20 }], { compression: Compression.LZ4 }), 1, t0 + 20);
    expect(await s3.offsetForTimestamp(a, t0 + 5)).toMatchObject({ offset: 1, timestamp: t0 + 10 });
    expect(await s3.offsetForTimestamp(a, t0 + 11)).toMatchObject({ offset: 2, timestamp: t0 + 20 });
    expect(await s3.offsetForTimestamp(a, t0 + 21)).toBeNull();
    expect(await s3.maxTimestampOffset(a)).toMatchObject({ offset: 2, timestamp: t0 + 20 });
    await meta.close();
  });

  it('never acknowledges a write that did not reach object storage, and recovers', async () => {
    let failPuts = false;
    const fs = openStore();
    opened.push(fs);
    const flaky: ObjectStore = {
      put: (k, d) => (failPuts ? Promise.reject(new Error('injected outage')) : fs.put(k, d)),
      get: (k, r) => fs.get(k, r),
      head: (k) => fs.head(k),
      delete: (k) => fs.delete(k),
      list: (p) => fs.list(p),
      close: () => fs.close(),
    };
    const { s3, streams, meta } = await setup(dir.path, flaky);
    const [a] = streams;
    expect(await s3.append(a, await buildBatch([{ value: 'ok' }]), 1, Date.now())).toBe(0);
    failPuts = true;
    await expect(s3.append(a, await buildBatch([{ value: 'lost' }]), 1, Date.now())).rejects.toBeInstanceOf(StorageWriteError);
    expect(a.committedEnd).toBe(1);
    failPuts = false;
    // the stream hands out offset 1 again: no gap where the failed write was
    expect(await s3.append(a, await buildBatch([{ value: 'next' }]), 1, Date.now())).toBe(1);
    const got = values(await s3.read(a, 0, 1 << 20, true));
    expect(got).toEqual([
      [0, 'ok'],
      [1, 'next'],
    ]);
    await meta.close();
  });

  it('times every committed flush by stage, and the stages add up to the total', async () => {
    const meta = new SqliteMetadataStore(join(dir.path, 'metadata.db'));
    const objects = openStore();
    opened.push(objects);
    const topic = await meta.createTopic({ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', name: 't', partitionCount: 1, replicationFactor: 1, configs: {} });
    const metrics = new BrokerMetrics();
    const s3 = new StreamStore(objects, meta, opts, silentLogger(), metrics);
    const [a] = await s3.open(topic.partitions.map((p) => p.streamId));
    for (let i = 0; i < 3; i++) await s3.append(a, await buildBatch([{ value: `v${i}` }]), 1, Date.now());
    const text = await metrics.text();
    const stages = ['prepare', 'upload', 'commit_wait', 'commit'];
    for (const stage of [...stages, 'total']) expect(metricValue(text, 'floe_wal_flush_seconds_count', { stage })).toBe(3);
    const total = metricValue(text, 'floe_wal_flush_seconds_sum', { stage: 'total' });
    expect(total).toBeGreaterThan(0);
    expect(stages.reduce((n, stage) => n + metricValue(text, 'floe_wal_flush_seconds_sum', { stage }), 0)).toBeCloseTo(total, 6);
    await meta.close();
  });

  it('moves the log start offset with trim, durably', async () => {
    const { s3, streams, meta } = await setup(dir.path);
    const [a] = streams;
    for (let i = 0; i < 4; i++) await s3.append(a, await buildBatch([{ value: `v${i}` }]), 1, Date.now());
    await s3.trim(a, 3);
    expect(a.startOffset).toBe(3);
    const [re] = await s3.open([a.id]);
    expect(re.startOffset).toBe(3);
    expect(splitBatches(Buffer.concat(await s3.read(re, 3, 1 << 20, true))).spans).toHaveLength(1);
    await meta.close();
  });

  it('reads ahead of a sequential cold reader into the block cache, fetching each block once', async () => {
    const first = await setup(dir.path);
    const [a] = first.streams;
    for (let i = 0; i < 20; i++) await first.s3.append(a, await buildBatch([{ value: `v${i}` }]), 1, Date.now());
    await first.meta.close();
    const meta = new SqliteMetadataStore(join(dir.path, 'metadata.db'));
    const store2 = openStore();
    opened.push(store2);
    const metrics = new BrokerMetrics();
    const cold = new StreamStore(store2, meta, { ...opts, logCacheBytes: 0, readAheadBytes: 1 << 20 }, silentLogger(), metrics);
    const [reopened] = await cold.open([a.id]);
    // One batch per read, as a consumer with a small fetch size would.
    const seen: number[] = [];
    for (let offset = 0; offset < 20; ) {
      const [batch] = await cold.read(reopened, offset, 1, true);
      seen.push(baseOffsetOf(batch));
      offset = baseOffsetOf(batch) + 1;
      await new Promise((r) => setTimeout(r, 5)); // the consumer's turnaround: read-ahead lands meanwhile
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // Every block fetched exactly once; after the first two reads, read-ahead had them ready.
    expect(cold.objectReads).toBe(20);
    const text = await metrics.text();
    const count = (result: string) => Number(new RegExp(`floe_cache_requests_total\\{cache="block",result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect(count('miss')).toBe(2);
    expect(count('hit')).toBe(18);
    // Read again: all from memory, no GET.
    await cold.read(reopened, 0, 1 << 20, true);
    expect(cold.objectReads).toBe(20);
    await meta.close();
  });

  it('evicts the least recently used blocks beyond block.cache.bytes', async () => {
    const first = await setup(dir.path);
    const [a] = first.streams;
    for (let i = 0; i < 10; i++) await first.s3.append(a, await buildBatch([{ value: Buffer.alloc(1000, i) }]), 1, Date.now());
    await first.meta.close();
    const meta = new SqliteMetadataStore(join(dir.path, 'metadata.db'));
    const store2 = openStore();
    opened.push(store2);
    const blockSize = a.ranges[0].size;
    const cold = new StreamStore(store2, meta, { ...opts, logCacheBytes: 0, readAheadBytes: 0, blockCacheBytes: blockSize * 4 }, silentLogger());
    const [reopened] = await cold.open([a.id]);
    for (let o = 0; o < 10; o++) await cold.read(reopened, o, 1, true);
    expect(cold.blocks.sizeBytes).toBe(blockSize * 4);
    expect(cold.objectReads).toBe(10);
    await cold.read(reopened, 9, 1, true); // still cached
    expect(cold.objectReads).toBe(10);
    await cold.read(reopened, 0, 1, true); // evicted long ago
    expect(cold.objectReads).toBe(11);
    await meta.close();
  });
});
