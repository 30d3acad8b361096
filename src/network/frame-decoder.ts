// Splits a TCP byte stream into Kafka request frames (int32 size + body).
// A frame that fits in one socket chunk is handed on as a view of it (no
// copy). A frame spanning chunks is assembled, or, where the socket can read
// into a buffer it is given (readTarget), read straight into its own buffer
// once its size is known: then only the part that came with its header is
// copied. Memory is bounded by what the peer actually sent, plus at most one
// frame of up to directMaxBytes allocated ahead of its bytes.
//
// With a pool (BufferPool), chunks and frames are counted: the decoder holds
// each chunk pushed to it until it keeps no part of it, and every frame it
// returns comes with one hold of its own, so a chunk goes back to the pool
// once the decoder and each frame's holder are done with it.

/** Where the decoder's frame buffers come from, and how views of them are counted (a BufferPool, in the broker). */
export interface FrameMemory {
  allocate(size: number): Buffer;
  retain(view: Uint8Array): void;
  release(view: Uint8Array): void;
}

const UNPOOLED: FrameMemory = { allocate: (size) => Buffer.allocUnsafe(size), retain: () => {}, release: () => {} };

/**
 * After a frame larger than a chunk, a read at the next frame's start takes
 * only this much of it (chunkReadBytes): clients pipeline requests of much
 * the same size, so the next frame is likely large too, and whatever of it a
 * chunk read took would be copied into its own buffer by readTarget, up to a
 * chunk per request (8.6% of the broker's main thread on fs produce with
 * 16 KiB chunks, 2026-12-06). The read costs one system call either way:
 * the size first, then the rest in place.
 */
const HEAD_READ_BYTES = 64;

export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameSize = -1;
  /** The frame being read in place (readTarget), and how much of it has arrived. */
  private target: Buffer | null = null;
  private targetFilled = 0;
  private lastFrameSize = 0;
  private copied = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly directMaxBytes = 0,
    private readonly memory: FrameMemory = UNPOOLED,
  ) {}

  get bufferedBytes(): number {
    return this.target === null ? this.buffered : this.targetFilled;
  }

  /** Bytes copied so far to assemble frames (the rest were read in place or are views of what was pushed). */
  get copiedBytes(): number {
    return this.copied;
  }

  /**
   * How much the next read should take when it goes to a fresh chunk of
   * `chunkBytes` (readTarget() gave null): HEAD_READ_BYTES at the start of a
   * frame that follows one larger than a chunk, else the whole chunk (a
   * frame too large to be read in place is assembled from whole chunks).
   */
  chunkReadBytes(chunkBytes: number): number {
    return this.lastFrameSize > chunkBytes && this.target === null && this.buffered === 0 ? Math.min(HEAD_READ_BYTES, chunkBytes) : chunkBytes;
  }

  /**
   * Where the next socket read should land: the rest of the frame under
   * way, when its size is known and at most directMaxBytes, so that its
   * bytes arrive in its own buffer (the ones buffered so far are moved into
   * it); null when the next read should go to a fresh chunk, given to push().
   */
  readTarget(): Buffer | null {
    if (this.target !== null) return this.target.subarray(this.targetFilled);
    if (this.frameSize < 0 || this.frameSize > this.directMaxBytes || this.buffered >= this.frameSize) return null;
    const frame = this.memory.allocate(this.frameSize);
    let filled = 0;
    for (const c of this.chunks) {
      c.copy(frame, filled);
      filled += c.length;
      this.memory.release(c);
    }
    this.copied += filled;
    this.chunks = [];
    this.buffered = 0;
    this.target = frame;
    this.targetFilled = filled;
    return frame.subarray(filled);
  }

  /** n bytes were read into the last readTarget(): the frame, once complete. */
  filled(n: number): Buffer[] {
    const frame = this.target;
    if (frame === null || n < 0 || this.targetFilled + n > frame.length) throw new Error(`${n} bytes read past the frame under way`);
    this.targetFilled += n;
    if (this.targetFilled < frame.length) return [];
    this.target = null;
    this.targetFilled = 0;
    this.frameSize = -1;
    this.lastFrameSize = frame.length;
    return [frame];
  }

  /** Adds bytes (and the caller's hold on them) and returns every frame body now complete. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    if (this.target !== null) throw new Error('a chunk pushed while a frame is read in place');
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) break;
        const size = this.take(4, false).readInt32BE(0);
        if (size < 0 || size > this.maxFrameBytes) {
          throw new FrameTooLargeError(`Invalid receive (size = ${size} larger than ${this.maxFrameBytes})`);
        }
        this.frameSize = size;
      }
      if (this.buffered < this.frameSize) break;
      frames.push(this.take(this.frameSize, true));
      this.lastFrameSize = this.frameSize;
      this.frameSize = -1;
    }
    return frames;
  }

  /** The next n bytes: a view of the first chunk where it holds them all (held once more when `hold`), else a copy. */
  private take(n: number, hold: boolean): Buffer {
    // An empty frame may follow its size at the very end of a read, with no chunk left to view.
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (hold) this.memory.retain(out);
      if (first.length === n) this.memory.release(this.chunks.shift() as Buffer);
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        this.copied += k;
        if (k === c.length) this.memory.release(this.chunks.shift() as Buffer);
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
