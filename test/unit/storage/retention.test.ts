// Retention and garbage collection on both object stores: log start offsets
// move by time and size as Kafka moves them (whole ranges, our segments),
// unreferenced objects leave the store after the grace period, and uploads
// that were never committed are swept without touching committed ones.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FencedError } from '../../../src/metadata/types.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { BrokerMetrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { buildBatch } from '../../../src/protocol/records/builder.js';
import { objectKey } from '../../../src/storage/object-format.js';
import type { ObjectStore } from '../../../src/storage/objectstore/types.js';
import { LogRetention, retainedStart, type RetentionTarget } from '../../../src/storage/retention.js';
import { StreamStore } from '../../../src/storage/s3stream.js';
import type { Stream } from '../../../src/storage/stream.js';
import { tempDir } from '../../helpers/tmp.js';
import { objectStoreKinds } from './store-kinds.js';

const opts = { flushBytes: 1 << 20, flushIntervalMs: 1, maxInflight: 4, maxPendingBytes: 64 << 20, logCacheBytes: 64 << 20 };
const DELAY = 60_000;
const ORPHAN = 600_000;

async function keysIn(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('s3stream/')) out.push(o.key);
  return out.sort();
}

describe.each(objectStoreKinds())('retention and object GC on the $name store', (kind) => {
  let dir: { path: string; cleanup: () => void };
  let objects: ObjectStore;
  let meta: SqliteMetadataStore;
  let store: StreamStore;
  let streams: Stream[];
  let targets: RetentionTarget[];
  let retention: LogRetention;
  beforeAll(() => kind.start());
  afterAll(() => kind.stop());
  beforeEach(async () => {
    dir = tempDir();
    objects = kind.open(kind.location(dir.path));
    meta = new SqliteMetadataStore(join(dir.path, 'metadata.db'));
    const topic = await meta.createTopic({ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', name: 't', partitionCount: 2, replicationFactor: 1, configs: {} });
    const metrics = new BrokerMetrics();
    store = new StreamStore(objects, meta, opts, silentLogger(), metrics);
    streams = await store.open(topic.partitions.map((p) => p.streamId));
    targets = [];
    retention = new LogRetention(store, meta, objects, () => targets, { checkIntervalMs: 3_600_000, deleteDelayMs: DELAY, orphanTimeoutMs: ORPHAN }, silentLogger(), metrics);
  });
  afterEach(async () => {
    await retention.stop();
    await meta.close();
    await objects.close();
    dir.cleanup();
  });

  /** One object per call: each append is flushed and committed before the next. */
  async function appendOne(stream: Stream, value: string, timestamp = Date.now()): Promise<number> {
    return store.append(stream, await buildBatch([{ value, timestamp }]), 1, timestamp);
  }

  it('moves the start offset by retention.bytes in whole ranges, then deletes the objects after the grace period', async () => {
    const [a] = streams;
    for (let i = 0; i < 10; i++) await appendOne(a, `v${i}-${'x'.repeat(1000)}`);
    const rangeSize = a.ranges[0].size;
    expect(await keysIn(objects)).toHaveLength(10);
    // A limit of 3.5 ranges keeps the newest 4: as Kafka deletes a segment only
    // while what is left without it is still at least retention.bytes.
    expect(a.ranges.every((r) => r.size === rangeSize)).toBe(true);
    targets = [{ stream: a, retentionMs: -1, retentionBytes: Math.floor(rangeSize * 3.5) }];
    const now = Date.now();
    const pass = await retention.runOnce(now);
    expect(pass).toMatchObject({ trimmedStreams: 1, markedObjects: 6, deletedObjects: 0 });
    expect(a.startOffset).toBe(6);
    expect(a.ranges.map((r) => r.startOffset)).toEqual([6, 7, 8, 9]);
    // Readers still find the old objects during the grace period...
    expect(await keysIn(objects)).toHaveLength(10);
    // ...and after it they are gone.
    expect(await retention.runOnce(now + DELAY)).toMatchObject({ deletedObjects: 6 });
    const left = await keysIn(objects);
    expect(left).toEqual(a.ranges.map((r) => r.objectKey).sort());
    // The start offset is durable, and reads begin there.
    const [reopened] = await store.open([a.id]);
    expect(reopened.startOffset).toBe(6);
    expect(reopened.ranges).toHaveLength(4);
  });

  it('moves the start offset by retention.ms, up to the first range that is not old enough', async () => {
    const [a] = streams;
    const now = Date.now();
    for (let i = 0; i < 4; i++) await appendOne(a, `old${i}`, now - 3_600_000 + i);
    await appendOne(a, 'new', now);
    await appendOne(a, 'older-again', now - 7_200_000);
    targets = [{ stream: a, retentionMs: 60_000, retentionBytes: -1 }];
    await retention.runOnce(now);
    // The range with a recent record stops retention, even though one after it is old.
    expect(a.startOffset).toBe(4);
    expect(retainedStart(a, { retentionMs: 60_000, retentionBytes: -1 }, now)).toBeNull();
    // Once everything is past the limit, the whole log goes: start = end, as Kafka does.
    await retention.runOnce(now + 120_000);
    expect(a.startOffset).toBe(6);
    expect(a.committedEnd).toBe(6);
    await retention.runOnce(now + 120_000 + DELAY);
    expect(await keysIn(objects)).toEqual([]);
    // The partition keeps its offsets: the next append gets offset 6.
    expect(await appendOne(a, 'after')).toBe(6);
  });

  it('keeps an object shared by two streams until both have let go of it', async () => {
    const [a, b] = streams;
    const both = await Promise.all([store.append(a, await buildBatch([{ value: 'a0' }]), 1, Date.now()), store.append(b, await buildBatch([{ value: 'b0' }]), 1, Date.now())]);
    expect(both).toEqual([0, 0]);
    expect(a.ranges[0].objectId).toBe(b.ranges[0].objectId);
    await appendOne(a, 'a1');
    targets = [{ stream: a, retentionMs: -1, retentionBytes: 0 }];
    const now = Date.now();
    await retention.runOnce(now);
    await retention.runOnce(now + DELAY);
    expect(a.startOffset).toBe(2);
    // b still reads offset 0 from the shared object.
    expect(await keysIn(objects)).toContain(b.ranges[0].objectKey);
    targets = [{ stream: b, retentionMs: -1, retentionBytes: 0 }];
    await retention.runOnce(now + DELAY);
    await retention.runOnce(now + 2 * DELAY);
    expect(await keysIn(objects)).toEqual([]);
  });

  it('sweeps uploads that were never committed, and refuses to commit them afterwards', async () => {
    const [a] = streams;
    await appendOne(a, 'committed');
    const committedKey = a.ranges[0].objectKey;
    // A broker that died between PUT and commit: an id reserved, its object uploaded, no commit.
    const first = await meta.reserveObjectIds(4);
    await objects.put(objectKey(first + 1), Buffer.from('an upload nobody committed'));
    expect(await keysIn(objects)).toEqual([committedKey, objectKey(first + 1)].sort());
    // Not yet: the reservation is younger than object.orphan.timeout.ms.
    expect(await retention.runOnce(Date.now())).toMatchObject({ sweptOrphanIds: 0 });
    expect(await keysIn(objects)).toHaveLength(2);
    const pass = await retention.runOnce(Date.now() + ORPHAN + 1000);
    expect(pass.sweptOrphanIds).toBeGreaterThanOrEqual(4);
    expect(await keysIn(objects)).toEqual([committedKey]);
    // A commit that shows up after the sweep is refused (its bytes may be gone).
    await expect(
      meta.commitObject({ objectId: first + 2, objectKey: objectKey(first + 2), size: 1, streams: [] }),
    ).rejects.toBeInstanceOf(FencedError);
    // The committed data is untouched. This store's own block expired too (as
    // if the process had been paused past the timeout): one flush is refused,
    // never acknowledged, and the next one goes out on a fresh block.
    await expect(appendOne(a, 'refused')).rejects.toThrow(/expired reservation/);
    expect(await appendOne(a, 'next')).toBe(1);
    expect(await keysIn(objects)).toContain(committedKey);
  });
});
