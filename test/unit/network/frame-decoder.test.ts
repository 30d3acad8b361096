import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../../src/memory/buffer-pool.js';
import { FrameDecoder, FrameTooLargeError } from '../../../src/network/frame-decoder.js';
import { seededRandom } from '../../helpers/random.js';

function framed(bodies: readonly Buffer[]): Buffer {
  return Buffer.concat(bodies.flatMap((b) => [Buffer.from([b.length >>> 24, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff]), b]));
}

/**
 * Feeds `stream` to the decoder as a socket with reads into chosen buffers
 * would (Connection): each read lands in readTarget() when there is one,
 * else in a fresh chunk of `chunk` bytes, and carries at most `maxRead`
 * bytes (what the peer has sent so far).
 */
function readAll(decoder: FrameDecoder, stream: Buffer, chunk: number, random: (n: number) => number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const target = decoder.readTarget();
    const buf = target ?? Buffer.alloc(chunk);
    const n = Math.min(buf.length, stream.length - at, 1 + random(70_000));
    stream.copy(buf, 0, at, at + n);
    at += n;
    out.push(...(target !== null ? decoder.filled(n) : decoder.push(buf.subarray(0, n))));
  }
  return out;
}

describe('FrameDecoder', () => {
  it('gives every frame back byte for byte, read in place or from chunks, whatever the read sizes', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed).int;
      const bodies = Array.from({ length: 40 }, () => randomBytes([0, 1, 100, 16_380, 16_400, 100_000, 300_000][random(7)] + random(3)));
      const stream = framed(bodies);
      // Frames up to 200 KB read in place, larger ones assembled.
      const frames = readAll(new FrameDecoder(1 << 20, 200_000), stream, 16 * 1024, random);
      expect(frames.length, `seed ${seed}`).toBe(bodies.length);
      frames.forEach((f, i) => expect(f.equals(bodies[i]), `seed ${seed}, frame ${i}`).toBe(true));
    }
  });

  it('with a pool, holds each chunk until no frame or part of a frame uses it, so reuse never overwrites a frame still held', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const { int } = seededRandom(seed);
      const pool = new BufferPool(16 * 1024, 1024 * 1024, 64 * 1024 * 1024);
      const bodies = Array.from({ length: 60 }, () => randomBytes([0, 5, 100, 3000, 16_400, 100_000][int(6)] + int(3)));
      const decoder = new FrameDecoder(1 << 20, 200_000, pool);
      // Frames are released as they come (as produce frames are, once answered), or kept to the end.
      const kept: [Buffer, number][] = [];
      const chunks: Buffer[] = [];
      let index = 0;
      let at = 0;
      const stream = framed(bodies);
      while (at < stream.length) {
        const target = decoder.readTarget();
        const buf = target ?? pool.allocate(16 * 1024);
        if (target === null) chunks.push(buf);
        const n = Math.min(buf.length, stream.length - at, 1 + int(40_000));
        stream.copy(buf, 0, at, at + n);
        at += n;
        for (const f of target !== null ? decoder.filled(n) : decoder.push(buf.subarray(0, n))) {
          expect(f.equals(bodies[index]), `seed ${seed}, frame ${index} as it arrived`).toBe(true);
          if (int(2) === 0) pool.release(f);
          else kept.push([f, index]);
          index++;
        }
      }
      expect(index).toBe(bodies.length);
      expect(pool.stats().reused, `seed ${seed}: chunks and frames were reused`).toBeGreaterThan(0);
      for (const [f, i] of kept) expect(f.equals(bodies[i]), `seed ${seed}, frame ${i} kept to the end`).toBe(true);
      // Once every frame is released, the decoder holds nothing: each buffer is back in the pool.
      for (const [f] of kept) pool.release(f);
      for (const [f] of kept) expect(pool.holders(f)).toBe(0);
      chunks.forEach((c, i) => expect(pool.holders(c), `seed ${seed}, chunk ${i}`).toBe(0));
    }
  });

  it('reads a large frame into its own buffer, copying only what came with its header', () => {
    const body = randomBytes(100_000);
    const stream = framed([body]);
    const decoder = new FrameDecoder(1 << 20, 1 << 20);
    expect(decoder.push(stream.subarray(0, 16 * 1024))).toEqual([]);
    const target = decoder.readTarget()!;
    expect(target.length).toBe(100_000 + 4 - 16 * 1024);
    // The rest of the frame is read where the frame lives: the buffer given back is the one read into.
    stream.copy(target, 0, 16 * 1024);
    const [frame] = decoder.filled(target.length);
    expect(frame.equals(body)).toBe(true);
    expect(frame.buffer).toBe(target.buffer);
    expect(decoder.readTarget()).toBeNull();
  });

  it('after a large frame, reads only the next one\'s first bytes into a chunk, so pipelined large frames are not copied', () => {
    const CHUNK = 16 * 1024;
    const large = () => randomBytes(100_000);
    // Pipelined produce-sized frames, small ones between, one past the in-place limit (assembled from chunks), and large again.
    const bodies = [large(), large(), large(), randomBytes(300), randomBytes(9_000), large(), randomBytes(1_500_000), large(), large(), Buffer.alloc(0), large()];
    const stream = framed(bodies);
    const decoder = new FrameDecoder(4 << 20, 1 << 20);
    const out: Buffer[] = [];
    let reads = 0;
    // The peer has sent everything: each read takes all its buffer can hold, as a socket with a backlog does.
    for (let at = 0; at < stream.length; reads++) {
      const target = decoder.readTarget();
      const buf = target ?? Buffer.alloc(decoder.chunkReadBytes(CHUNK));
      const n = Math.min(buf.length, stream.length - at);
      stream.copy(buf, 0, at, at + n);
      at += n;
      out.push(...(target !== null ? decoder.filled(n) : decoder.push(buf.subarray(0, n))));
    }
    expect(out.map((f) => f.toString('base64'))).toEqual(bodies.map((b) => b.toString('base64')));
    // Copied: the first chunk of the large frames that shared a chunk read with what came before them (the first, the
    // one after the small frames, the one after the oversized frame's last chunk), a few bytes of each frame after a
    // large one, and the frame past the limit (assembled from chunks, as before). With a whole chunk read at every
    // frame's start, each of the other four large frames would have had 16 KiB copied too.
    expect(decoder.copiedBytes).toBeLessThan(3 * CHUNK + 1_500_000 + bodies.length * 64);
    expect(decoder.copiedBytes).toBeGreaterThanOrEqual(1_500_000);
    // And no more reads than before: the frame past the limit still came in whole chunks, not 64-byte reads.
    expect(reads).toBeLessThan(1_500_000 / CHUNK + 3 * bodies.length);
  });

  it('refuses a frame claiming more than the maximum before anything is allocated, and holds no more than was sent of a smaller one', () => {
    const decoder = new FrameDecoder(1000, 1000);
    expect(() => decoder.push(Buffer.from([0, 0, 0x03, 0xe9]))).toThrow(FrameTooLargeError);
    expect(() => new FrameDecoder(1000, 1000).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(FrameTooLargeError);
    const big = new FrameDecoder(1 << 30, 1 << 20);
    // Past directMaxBytes, nothing is allocated ahead: the frame is assembled from what arrives.
    expect(big.push(Buffer.from([0x10, 0, 0, 0, 1, 2, 3]))).toEqual([]);
    expect(big.readTarget()).toBeNull();
    expect(big.bufferedBytes).toBe(3);
  });

  it('takes an empty frame whose size ends a read (the size was once read past the last chunk)', () => {
    const decoder = new FrameDecoder(1000, 1000);
    expect(decoder.push(Buffer.from([0, 0, 0, 0]))).toEqual([Buffer.alloc(0)]);
    expect(decoder.push(Buffer.from([0, 0, 0, 1, 9]))).toEqual([Buffer.from([9])]);
  });

  it('will not take a chunk while a frame is read in place, nor more bytes than the frame has room for', () => {
    const decoder = new FrameDecoder(1 << 20, 1 << 20);
    decoder.push(framed([Buffer.alloc(50_000)]).subarray(0, 10));
    const target = decoder.readTarget()!;
    expect(() => decoder.push(Buffer.alloc(1))).toThrow('read in place');
    expect(() => decoder.filled(target.length + 1)).toThrow('past the frame');
  });
});
