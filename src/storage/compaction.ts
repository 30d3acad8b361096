// Compaction of S3Stream objects (ARCHITECTURE §5), one pass per
// compaction.interval.ms, each step its own fenced metadata commit:
//
// 1. Split: a stream whose data in stream-set objects (WAL flushes, merged
//    or not) reaches compaction.stream.object.bytes gets it rewritten into one
//    stream object, so cold reads of that partition touch few objects.
// 2. Merge stream-set objects smaller than compaction.small.object.bytes
//    into larger ones (what a lightly loaded broker's many tiny flushes need).
// 3. Merge a stream's consecutive small stream objects.
//
// Offsets never change, only where their bytes live: each commit swaps a set
// of ranges for new ranges over the same offsets, and is refused if any
// replaced range is gone (retention got there first). Readers that planned on
// an old range keep reading the old object, which is deleted only after the
// retention grace period, so no reader ever sees a gap.

import type { Logger } from 'pino';
import type { CompactedRange, MetadataStore, ObjectKind, StoredObject, StreamRange } from '../metadata/types.js';
import type { BrokerMetrics } from '../observability/metrics.js';
import { baseOffsetOf, readBatchHeader, splitBatches } from '../protocol/records/batch.js';
import { CorruptObjectError } from './errors.js';
import { buildObjectParts, objectKey, verifyBlock, type BlockInput } from './object-format.js';
import type { ObjectStore } from './objectstore/types.js';
import type { StreamStore } from './s3stream.js';
import { PeriodicTask } from './periodic.js';
import { rangeKey } from './stream.js';

export interface CompactionOptions {
  readonly intervalMs: number;
  /** Stream-set data of one stream that earns it a stream object. */
  readonly streamObjectBytes: number;
  /** Objects below this size are merged. */
  readonly smallObjectBytes: number;
  /** Largest object a merge writes (and holds in memory). */
  readonly maxObjectBytes: number;
  /** Largest block written: what one ranged GET of a cold read fetches at most. */
  readonly blockBytes: number;
}

export interface CompactionPass {
  readonly splits: number;
  readonly streamSetMerges: number;
  readonly streamObjectMerges: number;
  readonly aborted: number;
}

type Range = StoredObject['ranges'][number];

/** One output block: whole batches of one stream, contiguous offsets. */
interface PendingBlock {
  streamId: number;
  startOffset: number;
  endOffset: number;
  maxTimestamp: number;
  batches: Buffer[];
  bytes: number;
}

export class Compactor {
  private readonly task: PeriodicTask<CompactionPass>;

  constructor(
    private readonly store: StreamStore,
    private readonly meta: MetadataStore,
    private readonly objects: ObjectStore,
    private readonly opts: CompactionOptions,
    private readonly log: Logger,
    private readonly metrics: BrokerMetrics,
  ) {
    this.task = new PeriodicTask(opts.intervalMs, () => this.pass());
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass now; concurrent callers share the pass in progress. */
  runOnce(): Promise<CompactionPass> {
    return this.task.runOnce();
  }

  private async pass(): Promise<CompactionPass> {
    const result = { splits: 0, streamSetMerges: 0, streamObjectMerges: 0, aborted: 0 };
    try {
      await this.split(result);
      await this.mergeStreamSetObjects(result);
      await this.mergeStreamObjects(result);
    } catch (err) {
      // Nothing changed that was not committed; the next pass plans afresh.
      this.log.warn({ err }, 'compaction pass failed; it runs again next interval');
    }
    if (result.splits + result.streamSetMerges + result.streamObjectMerges + result.aborted > 0) this.log.info(result, 'compaction pass');
    return result;
  }

  /** Objects whose every stream this broker serves (it owns their streams). */
  private async ownedObjects(): Promise<StoredObject[]> {
    return (await this.meta.listObjects()).filter((o) => o.ranges.length > 0 && o.ranges.every((r) => this.store.get(r.streamId) !== undefined));
  }

  private async split(result: { splits: number; aborted: number }): Promise<void> {
    const byStream = new Map<number, Range[]>();
    for (const o of await this.ownedObjects()) {
      if (o.kind !== 'stream_set') continue;
      for (const r of o.ranges) {
        let list = byStream.get(r.streamId);
        if (list === undefined) byStream.set(r.streamId, (list = []));
        list.push(r);
      }
    }
    for (const ranges of byStream.values()) {
      for (const run of contiguousRuns(ranges)) {
        if (run.reduce((n, r) => n + r.size, 0) < this.opts.streamObjectBytes) continue;
        for (const chunk of upTo(run, this.opts.maxObjectBytes)) {
          if (await this.rewrite('stream', chunk, 'stream_object_split')) result.splits++;
          else result.aborted++;
        }
      }
    }
  }

  private async mergeStreamSetObjects(result: { streamSetMerges: number; aborted: number }): Promise<void> {
    const small = (await this.ownedObjects()).filter((o) => o.kind === 'stream_set' && o.size < this.opts.smallObjectBytes);
    for (const group of groupsOf(small, this.opts.maxObjectBytes)) {
      if (await this.rewrite('stream_set', group.flatMap((o) => o.ranges), 'stream_set')) result.streamSetMerges++;
      else result.aborted++;
    }
  }

  private async mergeStreamObjects(result: { streamObjectMerges: number; aborted: number }): Promise<void> {
    const byStream = new Map<number, StoredObject[]>();
    for (const o of await this.ownedObjects()) {
      if (o.kind !== 'stream' || o.size >= this.opts.smallObjectBytes) continue;
      const id = o.ranges[0].streamId;
      let list = byStream.get(id);
      if (list === undefined) byStream.set(id, (list = []));
      list.push(o);
    }
    for (const objs of byStream.values()) {
      // Only neighbours merge: the objects' offsets must join up.
      objs.sort((a, b) => a.ranges[0].startOffset - b.ranges[0].startOffset);
      let run: StoredObject[] = [];
      const flush = async () => {
        if (run.length >= 2) {
          for (const group of groupsOf(run, this.opts.maxObjectBytes)) {
            if (await this.rewrite('stream', group.flatMap((o) => o.ranges), 'stream_object_merge')) result.streamObjectMerges++;
            else result.aborted++;
          }
        }
        run = [];
      };
      for (const o of objs) {
        const prev = run[run.length - 1];
        if (prev !== undefined && prev.ranges[prev.ranges.length - 1].endOffset !== o.ranges[0].startOffset) await flush();
        run.push(o);
      }
      await flush();
    }
  }

  /**
   * Reads `ranges`, writes their batches into one new object (blocks of at
   * most compaction.block.bytes, per stream in offset order), and commits the
   * swap. Returns false when the commit was refused.
   */
  private async rewrite(kind: ObjectKind, ranges: readonly Range[], metric: 'stream_set' | 'stream_object_split' | 'stream_object_merge'): Promise<boolean> {
    const sorted = [...ranges].sort((a, b) => a.streamId - b.streamId || a.startOffset - b.startOffset);
    const data = await Promise.all(sorted.map((r) => this.readRange(r)));
    const blocks: PendingBlock[] = [];
    sorted.forEach((r, i) => {
      const buf = data[i];
      const { spans, complete } = splitBatches(buf);
      if (!complete || spans.length === 0) throw new CorruptObjectError(`range ${r.startOffset}-${r.endOffset} of ${r.objectKey} does not hold whole batches`);
      spans.forEach((span, j) => {
        const batch = buf.subarray(span.position, span.position + span.size);
        // A range's own bounds at its ends; batch base offsets inside it.
        const start = j === 0 ? r.startOffset : baseOffsetOf(batch);
        const end = j === spans.length - 1 ? r.endOffset : baseOffsetOf(buf.subarray(spans[j + 1].position));
        const maxTimestamp = readBatchHeader(batch).maxTimestamp;
        const last = blocks[blocks.length - 1];
        if (last !== undefined && last.streamId === r.streamId && last.endOffset === start && last.bytes + batch.length <= this.opts.blockBytes) {
          last.batches.push(batch);
          last.bytes += batch.length;
          last.endOffset = end;
          last.maxTimestamp = Math.max(last.maxTimestamp, maxTimestamp);
        } else {
          blocks.push({ streamId: r.streamId, startOffset: start, endOffset: end, maxTimestamp, batches: [batch], bytes: batch.length });
        }
      });
    });
    const inputs: BlockInput[] = blocks.map((b) => ({
      streamId: b.streamId,
      startOffset: b.startOffset,
      endOffset: b.endOffset,
      recordCount: b.endOffset - b.startOffset,
      maxTimestamp: b.maxTimestamp,
      batches: b.batches,
    }));
    // The batches go to the store as views of the blocks read (no copy into one buffer), as the WAL's do.
    const built = buildObjectParts(inputs);
    const objectId = await this.store.objectIds.nextId();
    const key = objectKey(objectId);
    await this.objects.put(key, built.parts, built.crc32c);
    const newRanges: readonly CompactedRange[] = built.entries;
    let committed = false;
    try {
      committed = await this.meta.commitCompaction({
        objectId,
        objectKey: key,
        size: built.size,
        kind,
        replaced: sorted.map((r) => ({ streamId: r.streamId, startOffset: r.startOffset, objectId: r.objectId })),
        ranges: newRanges,
      });
    } finally {
      if (!committed) {
        this.metrics.compactions.labels(metric, 'aborted').inc();
        await this.objects.delete([key]).catch(() => {}); // else the orphan sweep gets it
      }
    }
    if (!committed) return false;
    this.metrics.compactions.labels(metric, 'committed').inc();
    // The same swap in the streams this broker serves.
    const byStream = new Map<number, { replaced: Set<string>; added: StreamRange[] }>();
    for (const r of sorted) {
      let s = byStream.get(r.streamId);
      if (s === undefined) byStream.set(r.streamId, (s = { replaced: new Set(), added: [] }));
      s.replaced.add(rangeKey(r.startOffset, r.objectId));
    }
    for (const n of newRanges) {
      byStream.get(n.streamId)?.added.push({ startOffset: n.startOffset, endOffset: n.endOffset, objectId, objectKey: key, position: n.position, size: n.size, maxTimestamp: n.maxTimestamp, crc: n.crc });
    }
    for (const [streamId, s] of byStream) this.store.get(streamId)?.replaceRanges(s.replaced, s.added);
    return true;
  }

  private async readRange(r: Range): Promise<Buffer> {
    const data = await this.objects.get(r.objectKey, { start: r.position, end: r.position + r.size });
    try {
      return verifyBlock(data, r.crc);
    } catch (err) {
      throw new CorruptObjectError(`object ${r.objectKey} [${r.position}, +${r.size}): ${(err as Error).message}`);
    }
  }
}

/** Splits ranges of one stream (any order) into runs of adjacent offsets. */
function contiguousRuns(ranges: readonly Range[]): Range[][] {
  const sorted = [...ranges].sort((a, b) => a.startOffset - b.startOffset);
  const runs: Range[][] = [];
  for (const r of sorted) {
    const run = runs[runs.length - 1];
    if (run !== undefined && run[run.length - 1].endOffset === r.startOffset) run.push(r);
    else runs.push([r]);
  }
  return runs;
}

/** Consecutive chunks of ranges, each at most `maxBytes` (a single larger range is its own chunk). */
function upTo(ranges: readonly Range[], maxBytes: number): Range[][] {
  const out: Range[][] = [];
  let chunk: Range[] = [];
  let bytes = 0;
  for (const r of ranges) {
    if (chunk.length > 0 && bytes + r.size > maxBytes) {
      out.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += r.size;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}

/** Groups of two or more objects whose sizes add up to at most `maxBytes`, in id order. */
function groupsOf(objects: readonly StoredObject[], maxBytes: number): StoredObject[][] {
  const out: StoredObject[][] = [];
  let group: StoredObject[] = [];
  let bytes = 0;
  for (const o of [...objects].sort((a, b) => a.objectId - b.objectId)) {
    if (group.length > 0 && bytes + o.size > maxBytes) {
      if (group.length >= 2) out.push(group);
      group = [];
      bytes = 0;
    }
    group.push(o);
    bytes += o.size;
  }
  if (group.length >= 2) out.push(group);
  return out;
}
