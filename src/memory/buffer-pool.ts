// Reference-counted buffers for record batches, reused once nothing holds
// them: produce request frames and object blocks read back.
//
// Why: V8 frees a Buffer's memory only in a garbage collection, and it
// starts one for every 64 MB of new ArrayBuffer memory (and a scavenge for
// every few MB more). A broker taking 1 GB of produce requests made that
// many fresh buffers, so it ran a mark-compact every 1.6 s at 40 MB/s and
// two scavenges in between, and faulted in new pages for each; a consumer
// catching up from object storage did the same with the blocks it read.
// These buffers come from here instead; once the log cache or the block
// cache has evicted them and nothing else holds them, the next ones reuse
// them.
//
// The rule that keeps reuse safe: every holder of a pooled buffer (or of a
// view into one) counts itself in with retain() and out with release(). A
// holder that forgets release() only keeps its buffer from being reused
// (the garbage collector frees it as before); only a release() too early
// could hand out memory still in use, so releases sit where a holder's use
// provably ends (a socket write's callback, a flush settled, an eviction).
// Buffers not from the pool pass through retain() and release() untouched.
//
// The memory is shared (SharedArrayBuffer), so a thread of ours that writes
// it out (the fs store's writer) is handed the bytes themselves, not a copy.
// Handing a pooled buffer to a thread does not count as a hold: the sender
// keeps its own hold until the thread has answered.

/** Allocation sizes are rounded up to one of four steps per power of two, so a class wastes at most a fifth. */
const STEPS_PER_DOUBLING = 4;

interface Entry {
  refs: number;
  readonly cls: number;
  readonly buffer: Buffer;
}

export interface BufferPoolStats {
  /** Allocations served from a released buffer. */
  readonly reused: number;
  /** Allocations that had to make a new buffer. */
  readonly allocated: number;
  /** Bytes of released buffers waiting for reuse. */
  readonly freeBytes: number;
}

/** A pooled buffer's memory, carrying its entry (under the pool's own key). */
type Pooled = ArrayBufferLike & Record<symbol, Entry | undefined>;

export class BufferPool {
  private readonly classes: number[] = [];
  private readonly free: Buffer[][] = [];
  /**
   * Each pooled buffer's entry is a property of its own memory object, under
   * this key. A WeakMap keyed by that object did the same, but every request
   * frame is an insertion and a deletion in its hash table, and with 16 KiB
   * produce requests its probes and rehashes were 6% of the event loop.
   */
  private readonly key = Symbol('bufferPool.entry');
  private freeBytes = 0;
  private reused = 0;
  private allocated = 0;

  /**
   * Sizes from minBytes to maxBytes are pooled (others are plain
   * allocations); at most maxFreeBytes of released buffers are kept, the
   * rest left to the garbage collector.
   */
  constructor(
    readonly minBytes: number,
    readonly maxBytes: number,
    private readonly maxFreeBytes: number,
  ) {
    for (let base = minBytes; base <= maxBytes; base *= 2) {
      for (let s = 0; s < STEPS_PER_DOUBLING; s++) {
        const size = base + Math.floor((base * s) / STEPS_PER_DOUBLING);
        if (size > maxBytes) break;
        this.classes.push(size);
        this.free.push([]);
      }
    }
    if (this.classes[this.classes.length - 1] !== maxBytes) {
      this.classes.push(maxBytes);
      this.free.push([]);
    }
  }

  stats(): BufferPoolStats {
    return { reused: this.reused, allocated: this.allocated, freeBytes: this.freeBytes };
  }

  /** A buffer of exactly `size` bytes (a view of a pooled one when the size is pooled), held once by the caller. */
  allocate(size: number): Buffer {
    const cls = this.classOf(size);
    if (cls < 0) return Buffer.allocUnsafe(size);
    let buffer = this.free[cls].pop();
    if (buffer !== undefined) {
      this.freeBytes -= buffer.length;
      this.reused++;
    } else {
      // Its own backing memory, never a slice of Node's shared pool: the entry is keyed by it.
      buffer = Buffer.from(new SharedArrayBuffer(this.classes[cls]));
      this.allocated++;
    }
    (buffer.buffer as Pooled)[this.key] = { refs: 1, cls, buffer };
    return buffer.subarray(0, size);
  }

  /** One more holder of `view`'s buffer. */
  retain(view: Uint8Array): void {
    const e = (view.buffer as Pooled)[this.key];
    if (e !== undefined) e.refs++;
  }

  /** One holder fewer; the last one returns the buffer for reuse. */
  release(view: Uint8Array): void {
    const memory = view.buffer as Pooled;
    const e = memory[this.key];
    if (e === undefined) return;
    if (--e.refs > 0) return;
    // Forgotten even if not kept: a stray late release() must not count down a later holder's entry.
    memory[this.key] = undefined;
    if (this.freeBytes + e.buffer.length > this.maxFreeBytes) return;
    this.free[e.cls].push(e.buffer);
    this.freeBytes += e.buffer.length;
  }

  releaseAll(views: readonly Uint8Array[]): void {
    for (const v of views) this.release(v);
  }

  /** Holders of `view`'s buffer (0 for a buffer not from the pool, or back in it). */
  holders(view: Uint8Array): number {
    return (view.buffer as Pooled)[this.key]?.refs ?? 0;
  }

  private classOf(size: number): number {
    if (size < this.minBytes || size > this.maxBytes) return -1;
    // Few classes (about 25): a linear scan is as fast as a search here.
    for (let i = 0; i < this.classes.length; i++) if (this.classes[i] >= size) return i;
    return -1;
  }
}

/**
 * The pool the broker shares: request frames read in place (16 KiB up to
 * Kafka's 1 MiB default max.request.size) and object blocks (up to 16 MiB:
 * a stream's part of a WAL object), with up to 64 MiB of released buffers
 * kept between the caches' evictions and the next allocations.
 */
export const bufferPool = new BufferPool(16 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024);
