// The write-ahead buffer of S3Stream. Appends from every partition collect in
// one buffer; a flush (by size or time) writes them as one object, then one
// metadata transaction commits the object and every stream's new end offset,
// fenced by epoch; only then are the appends acknowledged.
//
// Several uploads may be in flight at once, but commits happen strictly in
// flush order, and the metadata store refuses any commit that does not start
// exactly at a stream's committed end, so no stream can get a gap or overlap.

import type { Logger } from 'pino';
import { ReservationExpiredError, type MetadataStore, type StreamRange } from '../metadata/types.js';
import type { BrokerMetrics } from '../observability/metrics.js';
import { setBaseOffset, setPartitionLeaderEpoch } from '../protocol/records/batch.js';
import { StorageWriteError, StreamClosedError, StreamFencedError } from './errors.js';
import type { CachedBatch, LogCache } from './log-cache.js';
import { buildObjectParts, objectKey, type BlockInput } from './object-format.js';
import type { IdBlockAllocator } from '../metadata/id-blocks.js';
import { bufferPool } from '../memory/buffer-pool.js';
import type { ObjectStore } from './objectstore/types.js';
import type { Stream } from './stream.js';

/** The most throttle_time_ms a produce response carries when the write buffer is full. */
export const MAX_THROTTLE_MS = 1000;

export interface WalOptions {
  readonly flushBytes: number;
  readonly flushIntervalMs: number;
  readonly maxInflight: number;
  readonly maxPendingBytes: number;
}

interface PendingAppend {
  readonly batch: Buffer;
  readonly baseOffset: number;
  readonly endOffset: number;
  readonly recordCount: number;
  readonly maxTimestamp: number;
  readonly resolve: (baseOffset: number) => void;
  readonly reject: (err: Error) => void;
}

interface StreamBuffer {
  readonly stream: Stream;
  readonly appends: PendingAppend[];
  bytes: number;
}

export class Wal {
  private buffer = new Map<Stream, StreamBuffer>();
  private bufferBytes = 0;
  private inflight = 0;
  private inflightBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private due = false;
  private commitChain: Promise<void> = Promise.resolve();
  private capacityWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  /**
   * `objectIds` hands out ids from reserved blocks, so a flush needs no
   * metadata round trip before its upload. The reservation is what lets the
   * sweeper find uploads never committed: an expired reservation's ids
   * without an object row name orphans (keys derive from ids).
   */
  constructor(
    private readonly store: ObjectStore,
    private readonly meta: MetadataStore,
    private readonly objectIds: IdBlockAllocator,
    private readonly cache: LogCache,
    private readonly opts: WalOptions,
    private readonly log: Logger,
    private readonly metrics: BrokerMetrics,
  ) {}

  get pendingBytes(): number {
    return this.bufferBytes + this.inflightBytes;
  }

  /**
   * Kafka's quota signal (KIP-219) for a filling write buffer: 0 below half of
   * wal.max.pending.bytes, then rising linearly to MAX_THROTTLE_MS when full,
   * so clients slow down before produce requests have to wait for capacity.
   */
  throttleTimeMs(): number {
    const half = this.opts.maxPendingBytes / 2;
    const over = this.pendingBytes - half;
    if (over <= 0) return 0;
    return Math.min(MAX_THROTTLE_MS, Math.ceil((over / half) * MAX_THROTTLE_MS));
  }

  /** Waits until the unacknowledged bytes fall below wal.max.pending.bytes. */
  async waitForCapacity(): Promise<void> {
    while (this.pendingBytes >= this.opts.maxPendingBytes) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
  }

  /**
   * Assigns offsets to a validated batch (patching baseOffset and the leader
   * epoch in place) and queues it. Synchronous up to the returned promise, so
   * appends keep the order they are called in. Resolves with the base offset
   * once the batch is durable and committed.
   */
  append(stream: Stream, batch: Buffer, recordCount: number, maxTimestamp: number): Promise<number> {
    if (stream.closed) return Promise.reject(new StreamClosedError(`stream ${stream.id} is closed`));
    if (stream.broken) return Promise.reject(new StorageWriteError(`stream ${stream.id} is recovering from a failed write`));
    const baseOffset = stream.nextOffset;
    stream.nextOffset += recordCount;
    setBaseOffset(batch, baseOffset);
    setPartitionLeaderEpoch(batch, stream.epoch);
    // Held until its flush settles (the log cache takes its own hold first): the request's frame may be reused after its response.
    bufferPool.retain(batch);
    return new Promise<number>((resolve, reject) => {
      let sb = this.buffer.get(stream);
      if (sb === undefined) {
        sb = { stream, appends: [], bytes: 0 };
        this.buffer.set(stream, sb);
      }
      sb.appends.push({ batch, baseOffset, endOffset: baseOffset + recordCount, recordCount, maxTimestamp, resolve, reject });
      sb.bytes += batch.length;
      this.bufferBytes += batch.length;
      if (this.timer === null && !this.due) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.due = true;
          this.maybeFlush();
        }, this.opts.flushIntervalMs);
      }
      if (this.bufferBytes >= this.opts.flushBytes) this.maybeFlush();
    });
  }

  private maybeFlush(): void {
    if (this.buffer.size === 0) {
      this.due = false;
      return;
    }
    if (!this.due && this.bufferBytes < this.opts.flushBytes) return;
    if (this.inflight >= this.opts.maxInflight) return; // picked up when a flush completes
    const blocks = [...this.buffer.values()];
    const bytes = this.bufferBytes;
    this.buffer = new Map();
    this.bufferBytes = 0;
    this.due = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.inflight++;
    this.inflightBytes += bytes;
    void this.flush(blocks).finally(() => {
      this.inflight--;
      this.inflightBytes -= bytes;
      const waiters = this.capacityWaiters;
      this.capacityWaiters = [];
      for (const w of waiters) w();
      if (this.buffer.size > 0 && (this.due || this.bufferBytes >= this.opts.flushBytes)) this.maybeFlush();
      if (this.inflight === 0 && this.buffer.size === 0) {
        const idle = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of idle) w();
      }
    });
  }

  private async flush(blocks: StreamBuffer[]): Promise<void> {
    for (const b of blocks) b.stream.inflightFlushes++;
    const inputs: BlockInput[] = blocks.map((b) => ({
      streamId: b.stream.id,
      startOffset: b.appends[0].baseOffset,
      endOffset: b.appends[b.appends.length - 1].endOffset,
      recordCount: b.appends.reduce((n, a) => n + a.recordCount, 0),
      maxTimestamp: b.appends.reduce((m, a) => Math.max(m, a.maxTimestamp), -1),
      batches: b.appends.map((a) => a.batch),
    }));
    // The batches are uploaded as they arrived: no copy of a record on the write path.
    const built = buildObjectParts(inputs);

    const t = { start: performance.now(), prepared: 0, uploaded: 0, turn: 0, committed: 0 };
    const upload = (async () => {
      const objectId = await this.objectIds.nextId();
      const prepared = { objectId, key: objectKey(objectId) };
      t.prepared = performance.now();
      await this.store.put(prepared.key, built.parts, built.crc32c);
      t.uploaded = performance.now();
      return prepared;
    })();
    const previous = this.commitChain;
    const commit = (async () => {
      const prepared = await upload;
      await previous;
      t.turn = performance.now();
      const result = await this.meta.commitObject({
        objectId: prepared.objectId,
        objectKey: prepared.key,
        size: built.size,
        streams: built.entries.map((e, i) => ({ ...e, epoch: blocks[i].stream.epoch })),
      });
      t.committed = performance.now();
      return { prepared, fenced: new Set(result.fenced) };
    })();
    // The next flush commits only after this one has committed or failed.
    this.commitChain = commit.then(
      () => undefined,
      () => previous,
    );

    try {
      const { prepared, fenced } = await commit;
      this.metrics.walFlushes.labels('committed').inc();
      this.metrics.walFlushBytes.observe(built.size);
      this.metrics.walFlushSeconds.labels('prepare').observe((t.prepared - t.start) / 1000);
      this.metrics.walFlushSeconds.labels('upload').observe((t.uploaded - t.prepared) / 1000);
      this.metrics.walFlushSeconds.labels('commit_wait').observe((t.turn - t.uploaded) / 1000);
      this.metrics.walFlushSeconds.labels('commit').observe((t.committed - t.turn) / 1000);
      this.metrics.walFlushSeconds.labels('total').observe((t.committed - t.start) / 1000);
      this.log.debug(
        { objectId: prepared.objectId, bytes: built.size, streams: blocks.length, prepareMs: +(t.prepared - t.start).toFixed(2), uploadMs: +(t.uploaded - t.prepared).toFixed(2), commitWaitMs: +(t.turn - t.uploaded).toFixed(2), commitMs: +(t.committed - t.turn).toFixed(2) },
        'WAL object committed',
      );
      blocks.forEach((b, i) => {
        const e = built.entries[i];
        if (fenced.has(b.stream.id)) {
          this.failStream(b, b.stream.broken ? new StorageWriteError('an earlier write of this stream failed') : new StreamFencedError(`stream ${b.stream.id} was fenced at epoch ${b.stream.epoch}`));
          return;
        }
        const range: StreamRange = {
          startOffset: e.startOffset,
          endOffset: e.endOffset,
          objectId: prepared.objectId,
          objectKey: prepared.key,
          position: e.position,
          size: e.size,
          maxTimestamp: e.maxTimestamp,
          crc: e.crc,
        };
        // The cache holds the batches themselves (views into the request frames).
        const cached: CachedBatch[] = b.appends.map((a) => ({ baseOffset: a.baseOffset, endOffset: a.endOffset, data: a.batch }));
        this.cache.add(b.stream.id, cached);
        b.stream.committed(range);
        for (const a of b.appends) a.resolve(a.baseOffset);
      });
    } catch (err) {
      if (err instanceof ReservationExpiredError) this.objectIds.discardBlock();
      this.metrics.walFlushes.labels('failed').inc();
      this.log.error({ err, streams: blocks.length, bytes: built.size }, 'WAL flush failed; its produce requests get KAFKA_STORAGE_ERROR');
      const failure = new StorageWriteError(`write to object storage failed: ${(err as Error).message}`);
      for (const b of blocks) this.failStream(b, failure);
    } finally {
      for (const b of blocks) {
        for (const a of b.appends) bufferPool.release(a.batch);
        const s = b.stream;
        s.inflightFlushes--;
        if (s.broken && s.inflightFlushes === 0 && !this.buffer.has(s)) {
          // Everything after the last commit has been refused: hand out offsets from there again.
          s.nextOffset = s.committedEnd;
          s.broken = false;
        }
      }
    }
  }

  /** Refuses a block and every later append of its stream still waiting in the buffer. */
  private failStream(b: StreamBuffer, err: Error): void {
    const s = b.stream;
    s.broken = true;
    for (const a of b.appends) a.reject(err);
    const later = this.buffer.get(s);
    if (later !== undefined) {
      this.buffer.delete(s);
      this.bufferBytes -= later.bytes;
      for (const a of later.appends) {
        bufferPool.release(a.batch);
        a.reject(err);
      }
    }
  }

  /** Flushes whatever is buffered and waits for every in-flight flush. */
  async drain(): Promise<void> {
    this.due = true;
    this.maybeFlush();
    if (this.inflight === 0 && this.buffer.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
