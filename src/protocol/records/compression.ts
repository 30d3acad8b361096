// Compression codecs of record batches. Not our core, so each is a library:
// node's zlib (gzip), snappy (napi-rs), lz4-napi (LZ4 frame format, as Kafka
// writes it) and @mongodb-js/zstd (prebuilt; async only). The broker never
// recompresses what producers send; it decompresses only where it must look
// inside a batch (timestamp lookups, later table conversion).
//
// decompressSync is for threads that may block (the table conversion
// workers): there an async call per batch (a thread-pool hop and a promise)
// cost more than the decompression itself: 1,000 zstd batches of 67 KB took
// 168–181 ms of CPU async against 67–82 ms on the thread (BENCHMARKS.md).
// zstd's synchronous decoder is zstd-napi, an optional dependency built at
// install; where it did not build, zstd batches take the async path.

import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gunzip, gunzipSync, gzip } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { compressFrame, decompressFrame, decompressFrameSync } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress, uncompressSync as snappyUncompressSync } from 'snappy';
import { DecodeError } from '../primitives.js';
import { Compression } from './batch.js';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** Ceiling on a decompressed batch, so a hostile "zip bomb" cannot exhaust memory. */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

// snappy-java's stream framing, which the Java client writes:
// magic \x82SNAPPY\x00, version int32, compatible version int32, then [int32 length][raw block]...
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** The raw snappy blocks of a batch: snappy-java's xerial framing split up, or the whole payload as one block. */
function snappyBlocks(data: Buffer): Buffer[] {
  if (!(data.length >= 16 && data.subarray(0, 8).equals(XERIAL_MAGIC))) return [data];
  const blocks: Buffer[] = [];
  let pos = 16;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new DecodeError('truncated xerial snappy block header');
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > data.length) throw new DecodeError('truncated xerial snappy block');
    blocks.push(data.subarray(pos, pos + len));
    pos += len;
  }
  return blocks;
}

/** Decoded blocks joined into one batch payload, refused once past `limit` bytes. */
class Joined {
  private readonly parts: Buffer[] = [];
  private total = 0;
  constructor(private readonly limit: number) {}
  add(block: Buffer): void {
    this.total += block.length;
    if (this.total > this.limit) throw new DecodeError('decompressed batch too large');
    this.parts.push(block);
  }
  result(): Buffer {
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.total);
  }
}

/** One codec's decoders: async for the event loop, and on the calling thread (null where there is none here). */
interface Decoder {
  decode(data: Buffer, limit: number): Promise<Buffer>;
  decodeSync(data: Buffer, limit: number): Buffer | null;
}

const DECODERS: ReadonlyMap<number, Decoder> = new Map<number, Decoder>([
  [Compression.GZIP, { decode: (d, limit) => gunzipAsync(d, { maxOutputLength: limit }), decodeSync: (d, limit) => gunzipSync(d, { maxOutputLength: limit }) }],
  [
    Compression.SNAPPY,
    {
      decode: async (d, limit) => {
        const out = new Joined(limit);
        for (const block of snappyBlocks(d)) out.add((await snappyUncompress(block)) as Buffer);
        return out.result();
      },
      decodeSync: (d, limit) => {
        const out = new Joined(limit);
        for (const block of snappyBlocks(d)) out.add(snappyUncompressSync(block) as Buffer);
        return out.result();
      },
    },
  ],
  [Compression.LZ4, { decode: (d) => decompressFrame(d), decodeSync: (d) => decompressFrameSync(d) }],
  [
    Compression.ZSTD,
    {
      decode: (d) => zstdDecompress(d),
      decodeSync: (d, limit) => {
        const zstd = zstdSync();
        return zstd === null ? null : zstdDecompressSync(zstd, d, limit);
      },
    },
  ],
]);

function decoderOf(codec: number): Decoder {
  const d = DECODERS.get(codec);
  if (d === undefined) throw new DecodeError(`unknown compression codec ${codec}`);
  return d;
}

/** A library's failure on the bytes of a batch is a malformed batch. */
function asDecodeError(codec: number, err: unknown): DecodeError {
  return err instanceof DecodeError ? err : new DecodeError(`cannot decompress batch (codec ${codec}): ${(err as Error).message}`);
}

function withinLimit(out: Buffer, limit: number): Buffer {
  if (out.length > limit) throw new DecodeError('decompressed batch too large');
  return out;
}

export async function decompress(codec: number, data: Buffer): Promise<Buffer> {
  if (codec === Compression.NONE) return data;
  const decoder = decoderOf(codec);
  let out: Buffer;
  try {
    out = await decoder.decode(data, MAX_DECOMPRESSED_BYTES);
  } catch (err) {
    throw asDecodeError(codec, err);
  }
  return withinLimit(out, MAX_DECOMPRESSED_BYTES);
}

/**
 * Decompresses on the calling thread, for threads that may block (see the
 * top of this file): the same bytes and errors as decompress(), at most
 * `limit` bytes out. Null when this codec has no synchronous decoder here
 * (zstd without zstd-napi): use decompress().
 */
export function decompressSync(codec: number, data: Buffer, limit = MAX_DECOMPRESSED_BYTES): Buffer | null {
  if (codec === Compression.NONE) return data;
  const decoder = decoderOf(codec);
  let out: Buffer | null;
  try {
    out = decoder.decodeSync(data, limit);
  } catch (err) {
    throw asDecodeError(codec, err);
  }
  return out === null ? null : withinLimit(out, limit);
}

/** zstd-napi's native binding, as much of it as is used here. */
interface ZstdBinding {
  DCtx: new () => {
    decompress(dst: Uint8Array, src: Uint8Array): number;
    decompressStream(dst: Uint8Array, src: Uint8Array): [remaining: number, produced: number, consumed: number];
    reset(directive: number): void;
  };
  getFrameContentSize(frame: Uint8Array): number | null;
  findFrameCompressedSize(frame: Uint8Array): number;
  ResetDirective: { sessionOnly: number };
}

/** The binding and this thread's decompression context. */
interface ZstdSync {
  readonly binding: ZstdBinding;
  readonly dctx: InstanceType<ZstdBinding['DCtx']>;
}

let zstdBinding: ZstdSync | null | undefined;

function zstdSync(): ZstdSync | null {
  if (zstdBinding === undefined) {
    try {
      // The binding itself, not zstd-napi's Decompressor: that one allocates whatever size a frame header claims.
      const binding = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding;
      zstdBinding = { binding, dctx: new binding.DCtx() };
    } catch {
      zstdBinding = null;
    }
  }
  return zstdBinding;
}

/**
 * One zstd payload, all of its frames, into at most `limit` bytes. A single
 * frame whose header gives its size (one-shot compressors write it) is
 * decoded in one call into a buffer of that size, once the size is checked
 * against the limit. Anything else (streaming compressors leave the size
 * out, as compress() here does) is streamed into this thread's scratch
 * buffer, which doubles up to the limit, and copied out at its size: a
 * header's claim is never what memory is allocated for.
 */
function zstdDecompressSync(zstd: ZstdSync, data: Buffer, limit: number): Buffer {
  const { binding, dctx } = zstd;
  const size = binding.getFrameContentSize(data);
  if (size !== null && size > limit) throw new DecodeError('decompressed batch too large');
  if (size !== null && binding.findFrameCompressedSize(data) === data.length) {
    const out = Buffer.allocUnsafe(size);
    if (dctx.decompress(out, data) !== size) throw new DecodeError('zstd frame shorter than its header says');
    return out;
  }
  dctx.reset(binding.ResetDirective.sessionOnly);
  let out = zstdScratch ?? Buffer.allocUnsafeSlow(1024 * 1024);
  let produced = 0;
  let consumed = 0;
  try {
    for (;;) {
      const [remaining, wrote, read] = dctx.decompressStream(out.subarray(produced, Math.min(out.length, limit)), data.subarray(consumed));
      produced += wrote;
      consumed += read;
      // The batch's own copy: its records' slices may outlive the next batch (a partition value is one).
      if (consumed === data.length && remaining === 0) return Buffer.from(out.subarray(0, produced));
      if (produced === Math.min(out.length, limit)) {
        if (produced >= limit) throw new DecodeError('decompressed batch too large');
        const next = Buffer.allocUnsafeSlow(Math.min(limit, out.length * 2));
        out.copy(next, 0, 0, produced);
        out = next;
      } else if (wrote === 0 && read === 0) throw new DecodeError('truncated zstd frame');
    }
  } finally {
    // Kept for the next batch unless a huge one grew it.
    if (out.length <= MAX_KEPT_SCRATCH) zstdScratch = out;
  }
}

/**
 * Where streamed zstd frames are decoded before their exact-size copy: one
 * buffer per thread, grown to the largest batch (up to 16 MiB kept),
 * instead of a buffer that doubled its way up for every batch, new memory
 * each time for V8 to collect (BENCHMARKS.md, 2026-11-23).
 */
const MAX_KEPT_SCRATCH = 16 * 1024 * 1024;
let zstdScratch: Buffer | null = null;

export async function compress(codec: number, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case Compression.NONE:
      return data;
    case Compression.GZIP:
      return gzipAsync(data);
    case Compression.SNAPPY:
      return (await snappyCompress(data)) as Buffer;
    case Compression.LZ4:
      return compressFrame(data);
    case Compression.ZSTD:
      return zstdCompress(data);
    default:
      throw new Error(`unknown compression codec ${codec}`);
  }
}
