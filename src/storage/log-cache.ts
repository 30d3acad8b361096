// LogCache: recently committed batches kept in memory, so consumers at the
// tail never touch object storage. Everything in it is already durable, so
// eviction (oldest first, across all streams) never loses data. Batches are
// views into the produce requests' frames: no copy on insert, no copy on
// read. The cache holds each in the buffer pool until it evicts it, and
// read() hands out holds of their own (see BufferPool).

import { bufferPool } from '../memory/buffer-pool.js';
import type { BrokerMetrics } from '../observability/metrics.js';

export interface CachedBatch {
  readonly baseOffset: number;
  /** Exclusive: lastOffset + 1. */
  readonly endOffset: number;
  readonly data: Buffer;
}

class StreamEntries {
  items: CachedBatch[] = [];
  head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  first(): CachedBatch | undefined {
    return this.items[this.head];
  }

  shift(): CachedBatch | undefined {
    const b = this.items[this.head];
    if (b === undefined) return undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return b;
  }

  /** Index of the batch holding `offset`, or -1. */
  find(offset: number): number {
    let lo = this.head;
    let hi = this.items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.items[mid];
      if (offset < b.baseOffset) hi = mid - 1;
      else if (offset >= b.endOffset) lo = mid + 1;
      else return mid;
    }
    return -1;
  }
}

export class LogCache {
  private readonly streams = new Map<number, StreamEntries>();
  /** Insertion order across streams, for oldest-first eviction. */
  private readonly order: number[] = [];
  private orderHead = 0;
  private bytes = 0;
  private readonly hit;
  private readonly miss;

  constructor(
    private readonly maxBytes: number,
    metrics: BrokerMetrics,
  ) {
    this.hit = metrics.cacheRequests.labels('log', 'hit');
    this.miss = metrics.cacheRequests.labels('log', 'miss');
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Adds committed batches of one stream; they must follow what is cached for it. */
  add(streamId: number, batches: readonly CachedBatch[]): void {
    if (this.maxBytes <= 0 || batches.length === 0) return;
    let s = this.streams.get(streamId);
    if (s === undefined) {
      s = new StreamEntries();
      this.streams.set(streamId, s);
    }
    const last = s.items[s.items.length - 1];
    if (last !== undefined && s.size > 0 && last.endOffset !== batches[0].baseOffset) {
      // Not contiguous (the stream was reopened): start over for this stream.
      this.dropStream(streamId);
      s = new StreamEntries();
      this.streams.set(streamId, s);
    }
    for (const b of batches) {
      bufferPool.retain(b.data);
      s.items.push(b);
      this.order.push(streamId);
      this.bytes += b.data.length;
    }
    this.evict();
  }

  private evict(): void {
    while (this.bytes > this.maxBytes && this.orderHead < this.order.length) {
      const id = this.order[this.orderHead++];
      const b = this.streams.get(id)?.shift();
      if (b !== undefined) {
        this.bytes -= b.data.length;
        bufferPool.release(b.data);
      }
    }
    if (this.orderHead > 4096 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }

  /** First offset this cache can serve for a stream (undefined if none). */
  startOffset(streamId: number): number | undefined {
    const s = this.streams.get(streamId);
    return s === undefined || s.size === 0 ? undefined : s.first()?.baseOffset;
  }

  /**
   * Batches from the one holding `offset`, up to `maxBytes` (the first batch is
   * always included when `minOneBatch`). Null when the cache does not hold `offset`.
   * Each batch comes held once for the caller, who releases it (bufferPool) when done.
   */
  read(streamId: number, offset: number, maxBytes: number, minOneBatch: boolean): CachedBatch[] | null {
    const s = this.streams.get(streamId);
    const i = s?.find(offset) ?? -1;
    if (s === undefined || i < 0) {
      this.miss.inc();
      return null;
    }
    this.hit.inc();
    const out: CachedBatch[] = [];
    let bytes = 0;
    for (let j = i; j < s.items.length; j++) {
      const b = s.items[j];
      if (bytes + b.data.length > maxBytes && !(minOneBatch && out.length === 0)) break;
      bufferPool.retain(b.data);
      out.push(b);
      bytes += b.data.length;
    }
    return out;
  }

  dropStream(streamId: number): void {
    const s = this.streams.get(streamId);
    if (s === undefined) return;
    for (let j = s.head; j < s.items.length; j++) {
      this.bytes -= s.items[j].data.length;
      bufferPool.release(s.items[j].data);
    }
    this.streams.delete(streamId);
    // Stale ids left in `order` are skipped by evict() (shift() of a missing stream is a no-op).
  }
}
