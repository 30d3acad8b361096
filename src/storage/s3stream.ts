// S3Stream: the storage engine's API. Streams are appended to through the
// WAL and read from the LogCache, or with ranged reads of the objects that
// the stream-range index names. This is the same read API a consumer-facing
// handler and (later) the table-topic workers use.

import type { Logger } from 'pino';
import { bufferPool } from '../memory/buffer-pool.js';
import type { MetadataStore, StreamRange } from '../metadata/types.js';
import { BrokerMetrics } from '../observability/metrics.js';
import { IdBlockAllocator } from '../metadata/id-blocks.js';
import { DecodeError } from '../protocol/primitives.js';
import {
  BATCH_HEADER_SIZE,
  compressionOf,
  lastOffsetOf,
  readBatchHeader,
  splitBatches,
  timestampTypeOf,
  TimestampType,
} from '../protocol/records/batch.js';
import { decompress } from '../protocol/records/compression.js';
import { decodeRecords } from '../protocol/records/record.js';
import { CorruptObjectError, StreamClosedError } from './errors.js';
import { BlockCache } from './block-cache.js';
import { LogCache } from './log-cache.js';
import { verifyBlock } from './object-format.js';
import type { ObjectStore } from './objectstore/types.js';
import { Stream } from './stream.js';
import { Wal, type WalOptions } from './wal.js';

export interface StreamStoreOptions extends WalOptions {
  readonly logCacheBytes: number;
  /** Memory for object blocks fetched by cold reads and read-ahead (0: none). */
  readonly blockCacheBytes?: number;
  /** How far ahead of a sequential cold reader blocks are fetched. */
  readonly readAheadBytes?: number;
  /**
   * How long an object id reservation lives before the sweeper may treat its
   * uncommitted ids as orphaned uploads; ids are taken only from blocks at
   * most a quarter of that old, so a live upload is never swept.
   */
  readonly orphanTimeoutMs?: number;
}

/** Object ids reserved per metadata transaction. */
export const OBJECT_ID_BLOCK = 64;
/** The default of object.orphan.timeout.ms. */
export const DEFAULT_ORPHAN_TIMEOUT_MS = 600_000;

export interface TimestampAndOffset {
  readonly timestamp: number;
  readonly offset: number;
  readonly leaderEpoch: number;
}

/** Object ranges one read fetches at once, and rounds of that before it returns what it has. */
const MAX_PARALLEL_GETS = 16;
const MAX_READ_ROUNDS = 2;

export class StreamStore {
  private readonly streams = new Map<number, Stream>();
  readonly cache: LogCache;
  readonly blocks: BlockCache;
  readonly wal: Wal;
  private readonly readAheadBytes: number;
  /** Where each stream's last cold read ended: a read starting there is sequential. */
  private readonly lastColdEnd = new Map<number, number>();
  readonly objectIds: IdBlockAllocator;
  objectReads = 0;
  objectReadBytes = 0;

  constructor(
    private readonly objects: ObjectStore,
    private readonly meta: MetadataStore,
    opts: StreamStoreOptions,
    private readonly log: Logger,
    readonly metrics: BrokerMetrics = new BrokerMetrics(),
  ) {
    this.cache = new LogCache(opts.logCacheBytes, metrics);
    this.blocks = new BlockCache(opts.blockCacheBytes ?? 64 * 1024 * 1024, metrics);
    this.readAheadBytes = opts.readAheadBytes ?? 4 * 1024 * 1024;
    this.objectIds = new IdBlockAllocator((n) => meta.reserveObjectIds(n), OBJECT_ID_BLOCK, (opts.orphanTimeoutMs ?? DEFAULT_ORPHAN_TIMEOUT_MS) / 4);
    this.wal = new Wal(objects, meta, this.objectIds, this.cache, opts, log, metrics);
    let pool = bufferPool.stats();
    metrics.onCollect(() => {
      metrics.walPendingBytes.set(this.wal.pendingBytes);
      metrics.cacheBytes.labels('log').set(this.cache.sizeBytes);
      const now = bufferPool.stats();
      metrics.bufferPoolAllocations.labels('reused').inc(now.reused - pool.reused);
      metrics.bufferPoolAllocations.labels('new').inc(now.allocated - pool.allocated);
      metrics.bufferPoolFreeBytes.set(now.freeBytes);
      pool = now;
    });
  }

  /** Takes ownership of streams (bumping their epochs) and starts serving them. */
  async open(streamIds: readonly number[]): Promise<Stream[]> {
    if (streamIds.length === 0) return [];
    const opened = await this.meta.openStreams(streamIds);
    return opened.map((o) => {
      this.streams.get(o.streamId)?.close();
      this.cache.dropStream(o.streamId);
      const s = new Stream(o);
      this.streams.set(s.id, s);
      return s;
    });
  }

  get(streamId: number): Stream | undefined {
    return this.streams.get(streamId);
  }

  close(streamId: number): void {
    this.lastColdEnd.delete(streamId);
    this.streams.get(streamId)?.close();
    this.streams.delete(streamId);
    this.cache.dropStream(streamId);
  }

  throttleTimeMs(): number {
    return this.wal.throttleTimeMs();
  }

  waitForCapacity(): Promise<void> {
    return this.wal.waitForCapacity();
  }

  append(stream: Stream, batch: Buffer, recordCount: number, maxTimestamp: number): Promise<number> {
    return this.wal.append(stream, batch, recordCount, maxTimestamp);
  }

  /** The block, held once for the caller (bufferPool), who releases it. */
  private readBlock(range: StreamRange, countAccess = true): Promise<Buffer> {
    return this.blocks.get(blockKey(range), () => this.fetchBlock(range), countAccess);
  }

  private async fetchBlock(range: StreamRange): Promise<Buffer> {
    const data = await this.objects.get(range.objectKey, { start: range.position, end: range.position + range.size });
    this.objectReads++;
    this.objectReadBytes += data.length;
    try {
      return verifyBlock(data, range.crc);
    } catch (err) {
      throw new CorruptObjectError(`object ${range.objectKey} [${range.position}, +${range.size}): ${(err as Error).message}`);
    }
  }

  /**
   * Fetches the blocks after `offset` into the BlockCache, up to
   * read.ahead.bytes, without waiting: the next Fetch of a catching-up
   * consumer then finds its data in memory.
   */
  private readAhead(stream: Stream, offset: number): void {
    let bytes = 0;
    let next = offset;
    const cacheStart = this.cache.startOffset(stream.id);
    while (bytes < this.readAheadBytes && next < stream.committedEnd && (cacheStart === undefined || next < cacheStart)) {
      const r = stream.rangeFor(next);
      if (r === undefined) break;
      if (!this.blocks.has(blockKey(r))) {
        this.readBlock(r, false).then(
          (block) => bufferPool.release(block),
          (err: unknown) => this.log.debug({ err, stream: stream.id }, 'read-ahead failed; the reader will fetch it'),
        );
      }
      bytes += r.size;
      next = r.endOffset;
    }
  }

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one
   * batch when `minOneBatch`, as KIP-74 asks). The caller checks that `offset`
   * lies within [startOffset, committedEnd]. The batches are held for the
   * caller in the buffer pool (produce frames from the log cache, blocks read):
   * it releases them (bufferPool.releaseAll) once it no longer uses them; a
   * caller that never does only keeps them from being reused.
   */
  async read(stream: Stream, offset: number, maxBytes: number, minOneBatch: boolean): Promise<Buffer[]> {
    const out: Buffer[] = [];
    let bytes = 0;
    let pos = offset;
    const end = stream.committedEnd;
    const fits = (size: number) => bytes + size <= maxBytes || (minOneBatch && out.length === 0);
    let cold = false;
    for (let round = 0; round < MAX_READ_ROUNDS && pos < end; round++) {
      const cacheStart = this.cache.startOffset(stream.id);
      if (cacheStart !== undefined && pos >= cacheStart) {
        const cached = this.cache.read(stream.id, pos, maxBytes - bytes, minOneBatch && out.length === 0);
        if (cached !== null) {
          for (const b of cached) {
            if (b.baseOffset < end) out.push(b.data);
            else bufferPool.release(b.data);
          }
        }
        break;
      }
      // Plan the ranges this read needs and fetch them in parallel: one round
      // trip to object storage however many small objects the data spans.
      const planned: StreamRange[] = [];
      let estimate = bytes;
      let next = pos;
      while (planned.length < MAX_PARALLEL_GETS && next < end && (cacheStart === undefined || next < cacheStart)) {
        const r = stream.rangeFor(next);
        if (r === undefined || (planned.length > 0 && estimate >= maxBytes)) break;
        planned.push(r);
        estimate += r.size;
        next = r.endOffset;
      }
      if (planned.length === 0) break;
      cold = true;
      const blocks = await Promise.all(planned.map((r) => this.readBlock(r)));
      let full = false;
      for (let i = 0; i < blocks.length && !full; i++) {
        const block = blocks[i];
        for (const span of splitBatches(block).spans) {
          const lastOffset = lastOffsetOf(block, span.position);
          if (lastOffset < pos) continue;
          if (!fits(span.size)) {
            full = true;
            break;
          }
          const batch = block.subarray(span.position, span.position + span.size);
          bufferPool.retain(batch);
          out.push(batch);
          bytes += span.size;
          pos = lastOffset + 1;
        }
        if (!full) pos = Math.max(pos, planned[i].endOffset);
      }
      bufferPool.releaseAll(blocks);
      if (full || bytes >= maxBytes) break;
    }
    if (cold) {
      if (this.lastColdEnd.get(stream.id) === offset && this.readAheadBytes > 0) this.readAhead(stream, pos);
      this.lastColdEnd.set(stream.id, pos);
    }
    return out;
  }

  /** Kafka's ListOffsets by timestamp: the first record whose timestamp is >= `timestamp`. */
  async offsetForTimestamp(stream: Stream, timestamp: number): Promise<TimestampAndOffset | null> {
    for (const range of stream.ranges) {
      if (range.endOffset <= stream.startOffset || range.maxTimestamp < timestamp) continue;
      const found = await this.scanRange(stream, range, (ts) => ts >= timestamp);
      if (found !== null) return found;
    }
    return null;
  }

  /** Kafka's ListOffsets MAX_TIMESTAMP (-3): the first record carrying the largest timestamp. */
  async maxTimestampOffset(stream: Stream): Promise<TimestampAndOffset | null> {
    let max = -1;
    for (const r of stream.ranges) if (r.endOffset > stream.startOffset && r.maxTimestamp > max) max = r.maxTimestamp;
    if (max < 0) return null;
    for (const range of stream.ranges) {
      if (range.endOffset <= stream.startOffset || range.maxTimestamp !== max) continue;
      const found = await this.scanRange(stream, range, (ts) => ts === max);
      if (found !== null) return found;
    }
    return null;
  }

  private async scanRange(stream: Stream, range: StreamRange, match: (ts: number) => boolean): Promise<TimestampAndOffset | null> {
    const block = await this.readBlock(range);
    try {
      return await this.scanBlock(stream, block, match);
    } finally {
      bufferPool.release(block);
    }
  }

  private async scanBlock(stream: Stream, block: Buffer, match: (ts: number) => boolean): Promise<TimestampAndOffset | null> {
    for (const span of splitBatches(block).spans) {
      const batch = block.subarray(span.position, span.position + span.size);
      const h = readBatchHeader(batch);
      const last = h.baseOffset + h.lastOffsetDelta;
      if (last < stream.startOffset) continue;
      // maxTimestamp bounds every record of the batch, so a batch whose max does not match holds no match.
      if (h.maxTimestamp < 0 || !match(h.maxTimestamp)) continue;
      if (timestampTypeOf(h.attributes) === TimestampType.LOG_APPEND_TIME) {
        return { timestamp: h.maxTimestamp, offset: Math.max(h.baseOffset, stream.startOffset), leaderEpoch: h.partitionLeaderEpoch };
      }
      let records;
      try {
        const payload = await decompress(compressionOf(h.attributes), batch.subarray(BATCH_HEADER_SIZE));
        records = decodeRecords(payload, h.recordCount);
      } catch (err) {
        if (err instanceof DecodeError) throw new CorruptObjectError(`batch at offset ${h.baseOffset}: ${err.message}`);
        throw err;
      }
      for (const r of records) {
        const offset = h.baseOffset + r.offsetDelta;
        const ts = h.baseTimestamp + r.timestampDelta;
        if (offset >= stream.startOffset && match(ts)) return { timestamp: ts, offset, leaderEpoch: h.partitionLeaderEpoch };
      }
    }
    return null;
  }

  /** DeleteRecords: moves the log start offset forward (durably, fenced by epoch). */
  async trim(stream: Stream, newStartOffset: number): Promise<void> {
    if (stream.closed) throw new StreamClosedError(`stream ${stream.id} is closed`);
    if (newStartOffset <= stream.startOffset) return;
    await this.meta.trimStream(stream.id, stream.epoch, newStartOffset);
    stream.startOffset = Math.max(stream.startOffset, newStartOffset);
    stream.dropRangesBelow(stream.startOffset);
  }

  /** Flushes and commits everything buffered (graceful shutdown). */
  async drain(): Promise<void> {
    await this.wal.drain();
  }

  closeAll(): void {
    for (const id of [...this.streams.keys()]) this.close(id);
  }
}

/** A block's name in the BlockCache: its object and where it starts. */
function blockKey(range: StreamRange): string {
  return `${range.objectKey}@${range.position}`;
}
