// BlockCache: an LRU over object blocks (one stream's run of batches in one
// object, the unit of a ranged GET), bounded by bytes. It holds what cold
// readers fetched and what read-ahead fetched for them, so a consumer catching
// up from an old offset makes one GET per block, not one per Fetch request.
// Blocks are immutable (objects are written once), so a cached block never
// goes stale; at worst it outlives its object by an eviction.
//
// Loads of the same block share one GET.
//
// Blocks are counted in the buffer pool (their loads allocate from it): the
// cache holds each block it keeps until it evicts it, and get() hands every
// caller a hold of its own, taken before anything else can run, so an
// eviction never returns to the pool a block a reader is about to use.

import { bufferPool } from '../memory/buffer-pool.js';
import type { BrokerMetrics } from '../observability/metrics.js';

export class BlockCache {
  /** Insertion order is recency order: a hit re-inserts. */
  private readonly blocks = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer>>();
  private bytes = 0;
  private readonly hit;
  private readonly miss;

  constructor(
    private readonly maxBytes: number,
    metrics: BrokerMetrics,
  ) {
    this.hit = metrics.cacheRequests.labels('block', 'hit');
    this.miss = metrics.cacheRequests.labels('block', 'miss');
    metrics.onCollect(() => metrics.cacheBytes.labels('block').set(this.bytes));
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Whether the block is cached or on its way (read-ahead skips those). */
  has(key: string): boolean {
    return this.blocks.has(key) || this.loading.has(key);
  }

  /**
   * The block from the cache, else from `load` (counted as a miss), shared
   * with any load of the same block already in flight. The caller gets it
   * held once (bufferPool) and releases it when done.
   */
  async get(key: string, load: () => Promise<Buffer>, countAccess = true): Promise<Buffer> {
    const cached = this.blocks.get(key);
    if (cached !== undefined) {
      this.blocks.delete(key);
      this.blocks.set(key, cached);
      if (countAccess) this.hit.inc();
      bufferPool.retain(cached);
      return cached;
    }
    let inflight = this.loading.get(key);
    if (inflight !== undefined) {
      // Read-ahead got there first: the GET is already paid for.
      if (countAccess) this.hit.inc();
    } else {
      if (countAccess) this.miss.inc();
      inflight = load().then(
        (data) => {
          this.loading.delete(key);
          this.put(key, data);
          // The load's own hold lasts until every caller waiting on it has run and taken its own: an eviction in between must not free it.
          setImmediate(() => bufferPool.release(data));
          return data;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, inflight);
    }
    const data = await inflight;
    bufferPool.retain(data);
    return data;
  }

  private put(key: string, data: Buffer): void {
    if (this.maxBytes <= 0 || data.length > this.maxBytes / 4) return; // a block that would flush the cache is not kept
    const old = this.blocks.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      bufferPool.release(old);
    }
    bufferPool.retain(data);
    this.blocks.set(key, data);
    this.bytes += data.length;
    for (const [k, v] of this.blocks) {
      if (this.bytes <= this.maxBytes) break;
      this.blocks.delete(k);
      this.bytes -= v.length;
      bufferPool.release(v);
    }
  }
}
