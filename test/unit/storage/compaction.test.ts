// Compaction on both object stores: many small stream-set objects merge into
// one, a busy stream is split out into stream objects, small stream objects
// merge, every offset reads the same record before, during and after, and a
// compaction that loses a race with retention changes nothing.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { BrokerMetrics } from '../../../src/observability/metrics.js';
import { createLogger, silentLogger } from '../../../src/observability/logger.js';
import { readBatchHeader } from '../../../src/protocol/records/batch.js';
import { buildBatch } from '../../../src/protocol/records/builder.js';
import { decodeRecords } from '../../../src/protocol/records/record.js';
import { Compactor, type CompactionOptions } from '../../../src/storage/compaction.js';
import type { ObjectStore } from '../../../src/storage/objectstore/types.js';
import { LogRetention } from '../../../src/storage/retention.js';
import { StreamStore } from '../../../src/storage/s3stream.js';
import type { Stream } from '../../../src/storage/stream.js';
import { tempDir } from '../../helpers/tmp.js';
import { objectStoreKinds } from './store-kinds.js';

// No LogCache: every read goes to the objects, which is what compaction rewrites.
const opts = { flushBytes: 1 << 20, flushIntervalMs: 1, maxInflight: 4, maxPendingBytes: 64 << 20, logCacheBytes: 0 };
const DELAY = 60_000;

async function keysIn(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('s3stream/')) out.push(o.key);
  return out.sort();
}

/** offset -> value of every record readable from `from` to the stream's end. */
async function readAll(store: StreamStore, stream: Stream, from = stream.startOffset): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let offset = from;
  while (offset < stream.committedEnd) {
    const batches = await store.read(stream, offset, 64 << 10, true);
    if (batches.length === 0) throw new Error(`no data at offset ${offset} of ${stream.committedEnd}`);
    for (const b of batches) {
      const h = readBatchHeader(b);
      for (const r of decodeRecords(b.subarray(61), h.recordCount)) {
        const o = h.baseOffset + r.offsetDelta;
        if (o >= offset) out.set(o, r.value?.toString() ?? '');
      }
      const next = h.baseOffset + h.lastOffsetDelta + 1;
      if (next <= offset) throw new Error(`read at ${offset} returned a batch ending at ${next - 1}`);
      offset = next;
    }
  }
  return out;
}

describe.each(objectStoreKinds())('compaction on the $name store', (kind) => {
  let dir: { path: string; cleanup: () => void };
  let location: string;
  let objects: ObjectStore;
  let meta: SqliteMetadataStore;
  let store: StreamStore;
  let streams: Stream[];
  let retention: LogRetention;
  let metrics: BrokerMetrics;
  beforeAll(() => kind.start());
  afterAll(() => kind.stop());
  beforeEach(async () => {
    dir = tempDir();
    location = kind.location(dir.path);
    objects = kind.open(location);
    meta = new SqliteMetadataStore(join(dir.path, 'metadata.db'));
    const topic = await meta.createTopic({ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', name: 't', partitionCount: 3, replicationFactor: 1, configs: {} });
    metrics = new BrokerMetrics();
    store = new StreamStore(objects, meta, opts, silentLogger(), metrics);
    streams = await store.open(topic.partitions.map((p) => p.streamId));
    retention = new LogRetention(store, meta, objects, () => [], { checkIntervalMs: 3_600_000, deleteDelayMs: DELAY, orphanTimeoutMs: 600_000 }, silentLogger(), metrics);
  });
  afterEach(async () => {
    await meta.close();
    await objects.close();
    dir.cleanup();
  });

  const compactor = (o: Partial<CompactionOptions>) =>
    new Compactor(store, meta, objects, { intervalMs: 3_600_000, streamObjectBytes: 1 << 30, smallObjectBytes: 1 << 20, maxObjectBytes: 8 << 20, blockBytes: 4096, ...o }, process.env.FLOE_TEST_LOG ? createLogger(process.env.FLOE_TEST_LOG) : silentLogger(), metrics);

  /** Appends `n` records to each stream, one flush (one object) per round. */
  async function fill(rounds: number, values: (stream: number, round: number) => string | null): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const appends: Promise<number>[] = [];
      for (let s = 0; s < streams.length; s++) {
        const v = values(s, round);
        if (v !== null) appends.push(store.append(streams[s], await buildBatch([{ value: v, timestamp: 1_700_000_000_000 + round }]), 1, 1_700_000_000_000 + round));
      }
      await Promise.all(appends);
    }
  }

  it('merges small stream-set objects into one, and reads, timestamps and a reopen still find every record', async () => {
    await fill(20, (s, r) => `s${s}-r${r}`);
    expect(await keysIn(objects)).toHaveLength(20);
    const before = await Promise.all(streams.map((s) => readAll(store, s)));
    const pass = await compactor({}).runOnce();
    expect(pass).toMatchObject({ streamSetMerges: 1, splits: 0, aborted: 0 });
    const listed = await meta.listObjects();
    expect(listed).toHaveLength(1);
    expect(listed[0].kind).toBe('stream_set');
    // Each stream's 20 ranges became one block.
    expect(listed[0].ranges.map((r) => [r.streamId, r.startOffset, r.endOffset])).toEqual(streams.map((s) => [s.id, 0, 20]));
    for (const s of streams) expect(s.ranges).toHaveLength(1);
    expect(await Promise.all(streams.map((s) => readAll(store, s)))).toEqual(before);
    expect(await store.offsetForTimestamp(streams[1], 1_700_000_000_007)).toMatchObject({ offset: 7 });
    // The replaced objects go after the grace period, not before.
    await retention.runOnce(Date.now());
    expect(await keysIn(objects)).toHaveLength(21);
    await retention.runOnce(Date.now() + DELAY);
    expect(await keysIn(objects)).toEqual([listed[0].objectKey]);
    // A reopened store reads the compacted object.
    const again = new StreamStore(kind.open(location), meta, opts, silentLogger());
    const reopened = await again.open(streams.map((s) => s.id));
    expect(await Promise.all(reopened.map((s) => readAll(again, s)))).toEqual(before);
  });

  it('splits a busy stream out into a stream object with bounded blocks, and merges its small stream objects', async () => {
    const big = 'x'.repeat(900);
    await fill(30, (s, r) => (s === 0 ? `big-${r}-${big}` : s === 1 && r % 10 === 0 ? `small-${r}` : null));
    const before = await readAll(store, streams[0]);
    const c = compactor({ streamObjectBytes: 20_000, smallObjectBytes: 1 << 20 });
    expect(await c.runOnce()).toMatchObject({ splits: 1, aborted: 0 });
    let listed = await meta.listObjects();
    const streamObjects = listed.filter((o) => o.kind === 'stream');
    expect(streamObjects).toHaveLength(1);
    expect(new Set(streamObjects[0].ranges.map((r) => r.streamId))).toEqual(new Set([streams[0].id]));
    // Blocks are at most compaction.block.bytes (whole batches), and cover 0..30 without a gap.
    const ranges = streamObjects[0].ranges;
    expect(ranges.every((r) => r.size <= 4096)).toBe(true);
    expect(ranges[0].startOffset).toBe(0);
    expect(ranges[ranges.length - 1].endOffset).toBe(30);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].startOffset).toBe(ranges[i - 1].endOffset);
    // Stream 1's few records stay in a stream-set object (merged from the small ones).
    expect(listed.filter((o) => o.kind === 'stream_set').flatMap((o) => o.ranges.map((r) => r.streamId))).toEqual([streams[1].id]);
    expect(await readAll(store, streams[0])).toEqual(before);

    // More data, another split: two neighbouring small stream objects, then merged into one.
    await fill(30, (s, r) => (s === 0 ? `big-${30 + r}-${big}` : null));
    await c.runOnce();
    listed = await meta.listObjects();
    expect(listed.filter((o) => o.kind === 'stream')).toHaveLength(1);
    const merged = listed.find((o) => o.kind === 'stream')!;
    expect(merged.ranges[0].startOffset).toBe(0);
    expect(merged.ranges[merged.ranges.length - 1].endOffset).toBe(60);
    const all = await readAll(store, streams[0]);
    expect(all.size).toBe(60);
    for (const [o, v] of before) expect(all.get(o)).toBe(v);
    const text = await metrics.text();
    expect(text).toMatch(/floe_compactions_total\{kind="stream_object_split",result="committed"\} 2/);
    expect(text).toMatch(/floe_compactions_total\{kind="stream_object_merge",result="committed"\} 1/);
  });

  it('never shows a reader a gap while producers, compaction and retention run together', async () => {
    const c = compactor({ streamObjectBytes: 8_000, smallObjectBytes: 16_000 });
    const expected = streams.map(() => new Map<number, string>());
    let stop = false;
    let reads = 0;
    const producer = (async () => {
      for (let round = 0; !stop; round++) {
        await Promise.all(
          streams.map(async (s, i) => {
            const value = `p${i}-r${round}-${'z'.repeat(round % 200)}`;
            const offset = await store.append(s, await buildBatch([{ value }]), 1, Date.now());
            expected[i].set(offset, value);
          }),
        );
      }
    })();
    const reader = (async () => {
      while (!stop) {
        for (let i = 0; i < streams.length; i++) {
          const s = streams[i];
          const end = s.committedEnd;
          const got = await readAll(store, s);
          for (let o = 0; o < end; o++) expect(got.get(o)).toBe(expected[i].get(o));
          reads++;
        }
        // Yield to timers and I/O (an empty log reads without awaiting any).
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    let passes = 0;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const p = await c.runOnce();
      passes += p.splits + p.streamSetMerges + p.streamObjectMerges;
      // Deletes replaced objects only after the (real) grace period: none here.
      await retention.runOnce();
      // In-process SQLite answers synchronously: let the WAL's flush timer run.
      await new Promise((r) => setTimeout(r, 20));
    }
    stop = true;
    await Promise.all([producer, reader]);
    expect(passes).toBeGreaterThan(3);
    expect(reads).toBeGreaterThan(10);
    // Afterwards, with the grace period over, the old objects are gone and every offset still reads.
    await c.runOnce();
    const now = Date.now();
    await retention.runOnce(now); // marks what the last pass replaced
    await retention.runOnce(now + DELAY);
    for (let i = 0; i < streams.length; i++) {
      const got = await readAll(store, streams[i]);
      expect(got.size).toBe(streams[i].committedEnd);
      for (const [o, v] of expected[i]) expect(got.get(o)).toBe(v);
    }
    const referenced = new Set(streams.flatMap((s) => s.ranges.map((r) => r.objectKey)));
    expect(new Set(await keysIn(objects))).toEqual(referenced);
  });

  it('changes nothing when retention removed a range between planning and commit', async () => {
    await fill(5, (s, r) => (s === 0 ? `v${r}` : null));
    const [stored] = (await meta.listObjects()).slice(0, 1);
    await store.trim(streams[0], 2);
    const committed = await meta.commitCompaction({
      objectId: await store.objectIds.nextId(),
      objectKey: 'unused',
      size: 1,
      kind: 'stream',
      replaced: [{ streamId: streams[0].id, startOffset: stored.ranges[0].startOffset, objectId: stored.objectId }],
      ranges: [],
    });
    expect(committed).toBe(false);
    expect((await meta.listObjects()).map((o) => o.objectKey)).not.toContain('unused');
    expect([...(await readAll(store, streams[0])).keys()]).toEqual([2, 3, 4]);
  });
});
