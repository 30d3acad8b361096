import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../../src/memory/buffer-pool.js';
import { seededRandom } from '../../helpers/random.js';

const KiB = 1024;

describe('BufferPool', () => {
  it('rounds pooled sizes up by at most a quarter, and leaves other sizes to plain allocations', () => {
    const pool = new BufferPool(16 * KiB, 1024 * KiB, 64 * 1024 * KiB);
    const { int } = seededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const size = 16 * KiB + int(1008 * KiB + 1);
      const b = pool.allocate(size);
      expect(b.length).toBe(size);
      const capacity = b.buffer.byteLength;
      expect(capacity).toBeGreaterThanOrEqual(size);
      expect(capacity).toBeLessThanOrEqual(Math.ceil(size * 1.25));
      expect(pool.holders(b)).toBe(1);
    }
    for (const size of [0, 100, 16 * KiB - 1, 1024 * KiB + 1]) {
      const b = pool.allocate(size);
      expect(b.length).toBe(size);
      expect(pool.holders(b)).toBe(0);
    }
    expect(pool.stats().allocated).toBe(2000);
  });

  it('hands a buffer out again only once its last holder has released it', () => {
    const pool = new BufferPool(16 * KiB, 1024 * KiB, 64 * 1024 * KiB);
    const a = pool.allocate(100 * KiB);
    const view = a.subarray(10, 20);
    pool.retain(view); // a view counts against its buffer
    pool.release(a);
    expect(pool.holders(a)).toBe(1);
    const b = pool.allocate(100 * KiB);
    expect(b.buffer).not.toBe(a.buffer);
    pool.release(view);
    expect(pool.holders(a)).toBe(0);
    expect(pool.stats().freeBytes).toBe(a.buffer.byteLength);
    const c = pool.allocate(99 * KiB); // same class
    expect(c.buffer).toBe(a.buffer);
    expect(c.length).toBe(99 * KiB);
    expect(pool.holders(c)).toBe(1);
    expect(pool.stats()).toMatchObject({ reused: 1, allocated: 2, freeBytes: 0 });
    // A different class does not take it.
    pool.release(c);
    const d = pool.allocate(300 * KiB);
    expect(d.buffer).not.toBe(a.buffer);
  });

  it('hands out shared memory, which a thread of ours is given without a copy, the same bytes on both sides', async () => {
    const pool = new BufferPool(16 * KiB, 1024 * KiB, 64 * 1024 * KiB);
    const b = pool.allocate(100 * KiB);
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    b.fill(1);
    const { Worker } = await import('node:worker_threads');
    // The thread writes into the view it was sent; the sender sees the write in its own buffer.
    const w = new Worker('require("node:worker_threads").parentPort.once("message", (v) => { v[5] = 42; require("node:worker_threads").parentPort.postMessage(null); });', { eval: true });
    const answered = new Promise((resolve) => w.once('message', resolve));
    w.postMessage(b.subarray(0, 10));
    await answered;
    await w.terminate();
    expect(b[5]).toBe(42);
  });

  it('passes buffers that are not its own through retain and release', () => {
    const pool = new BufferPool(16 * KiB, 1024 * KiB, 64 * 1024 * KiB);
    const plain = Buffer.alloc(100 * KiB, 7);
    pool.retain(plain);
    pool.release(plain);
    pool.release(plain);
    expect(pool.holders(plain)).toBe(0);
    expect(pool.stats()).toEqual({ reused: 0, allocated: 0, freeBytes: 0 });
    expect(pool.allocate(100 * KiB).buffer).not.toBe(plain.buffer);
    // Nor another pool's: its holders are counted by that pool alone.
    const other = new BufferPool(16 * KiB, 1024 * KiB, 64 * 1024 * KiB);
    const theirs = other.allocate(100 * KiB);
    pool.retain(theirs);
    pool.release(theirs);
    pool.release(theirs);
    expect(pool.holders(theirs)).toBe(0);
    expect(other.holders(theirs)).toBe(1);
    expect(pool.stats().freeBytes).toBe(0);
    // A stray release after the last one returns nothing twice.
    other.release(theirs);
    other.release(theirs);
    expect(other.stats().freeBytes).toBe(theirs.buffer.byteLength);
    expect(other.allocate(100 * KiB).buffer).toBe(theirs.buffer);
    expect(other.allocate(100 * KiB).buffer).not.toBe(theirs.buffer);
  });

  it('keeps at most maxFreeBytes of released buffers', () => {
    const pool = new BufferPool(16 * KiB, 1024 * KiB, 1024 * KiB);
    const bufs = Array.from({ length: 20 }, () => pool.allocate(128 * KiB));
    pool.releaseAll(bufs);
    expect(pool.stats().freeBytes).toBe(8 * 128 * KiB);
    const again = Array.from({ length: 20 }, () => pool.allocate(128 * KiB));
    expect(pool.stats()).toMatchObject({ reused: 8, allocated: 32, freeBytes: 0 });
    const reusedBuffers = new Set(bufs.map((b) => b.buffer));
    expect(again.filter((b) => reusedBuffers.has(b.buffer)).length).toBe(8);
  });
});
