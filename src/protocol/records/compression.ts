// Compression codecs of record batches. Not our core, so each is a library:
// node's zlib (gzip), snappy (napi-rs), lz4-napi (LZ4 frame format, as Kafka
// writes it) and @mongodb-js/zstd (prebuilt; async only). The broker never
// recompresses what producers send; it decompresses only where it must look
// inside a batch (timestamp lookups, later table conversion).
//
// decompressSync is for threads that may block (the table conversion
// workers): there an async call per batch cost more than many batches'
// decompression (a thread-pool hop and a promise each). zstd's synchronous
// decoder is zstd-napi, an optional dependency built at install; where it did
// not build, zstd batches take the async path.

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

function joinBlocks(parts: Buffer[], limit: number): Buffer {
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((n, p) => n + p.length, 0);
  if (total > limit) throw new DecodeError('decompressed batch too large');
  return Buffer.concat(parts, total);
}

async function snappyDecompress(data: Buffer, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for (const block of snappyBlocks(data)) {
    const out = (await snappyUncompress(block)) as Buffer;
    total += out.length;
    if (total > limit) throw new DecodeError('decompressed batch too large');
    parts.push(out);
  }
  return joinBlocks(parts, limit);
}

function snappyDecompressSync(data: Buffer, limit: number): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  for (const block of snappyBlocks(data)) {
    const out = snappyUncompressSync(block) as Buffer;
    total += out.length;
    if (total > limit) throw new DecodeError('decompressed batch too large');
    parts.push(out);
  }
  return joinBlocks(parts, limit);
}

export async function decompress(codec: number, data: Buffer): Promise<Buffer> {
  try {
    let out: Buffer;
    switch (codec) {
      case Compression.NONE:
        return data;
      case Compression.GZIP:
        out = await gunzipAsync(data, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
        break;
      case Compression.SNAPPY:
        out = await snappyDecompress(data, MAX_DECOMPRESSED_BYTES);
        break;
      case Compression.LZ4:
        out = await decompressFrame(data);
        break;
      case Compression.ZSTD:
        out = await zstdDecompress(data);
        break;
      default:
        throw new DecodeError(`unknown compression codec ${codec}`);
    }
    if (out.length > MAX_DECOMPRESSED_BYTES) throw new DecodeError('decompressed batch too large');
    return out;
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`cannot decompress batch (codec ${codec}): ${(err as Error).message}`);
  }
}

/**
 * Decompresses on the calling thread, for threads that may block (see the
 * top of this file): the same bytes and errors as decompress(), at most
 * `limit` bytes out. Null when this codec has no synchronous decoder here
 * (zstd without zstd-napi): use decompress().
 */
export function decompressSync(codec: number, data: Buffer, limit = MAX_DECOMPRESSED_BYTES): Buffer | null {
  try {
    let out: Buffer;
    switch (codec) {
      case Compression.NONE:
        return data;
      case Compression.GZIP:
        out = gunzipSync(data, { maxOutputLength: limit });
        break;
      case Compression.SNAPPY:
        out = snappyDecompressSync(data, limit);
        break;
      case Compression.LZ4:
        out = decompressFrameSync(data);
        break;
      case Compression.ZSTD: {
        const zstd = zstdSync();
        if (zstd === null) return null;
        out = zstdDecompressSync(zstd, data, limit);
        break;
      }
      default:
        throw new DecodeError(`unknown compression codec ${codec}`);
    }
    if (out.length > limit) throw new DecodeError('decompressed batch too large');
    return out;
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`cannot decompress batch (codec ${codec}): ${(err as Error).message}`);
  }
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

let zstdBinding: { binding: ZstdBinding; dctx: InstanceType<ZstdBinding['DCtx']> } | null | undefined;

function zstdSync(): { binding: ZstdBinding; dctx: InstanceType<ZstdBinding['DCtx']> } | null {
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
 * One zstd payload, all of its frames, into at most `limit` bytes. A batch
 * is one frame whose header gives its size (as Kafka's producers write it):
 * decoded in one call into a buffer of that size, once the size is checked
 * against the limit. Anything else is streamed into a buffer that doubles up
 * to the limit, so a header's claim is never what memory is allocated for.
 */
function zstdDecompressSync(zstd: { binding: ZstdBinding; dctx: InstanceType<ZstdBinding['DCtx']> }, data: Buffer, limit: number): Buffer {
  const { binding, dctx } = zstd;
  const size = binding.getFrameContentSize(data);
  if (size !== null && size > limit) throw new DecodeError('decompressed batch too large');
  if (size !== null && binding.findFrameCompressedSize(data) === data.length) {
    const out = Buffer.allocUnsafe(size);
    if (dctx.decompress(out, data) !== size) throw new DecodeError('zstd frame shorter than its header says');
    return out;
  }
  dctx.reset(binding.ResetDirective.sessionOnly);
  let out = Buffer.allocUnsafe(Math.min(limit, Math.max(64 * 1024, data.length * 4)));
  let produced = 0;
  let consumed = 0;
  for (;;) {
    const [remaining, wrote, read] = dctx.decompressStream(out.subarray(produced), data.subarray(consumed));
    produced += wrote;
    consumed += read;
    if (consumed === data.length && remaining === 0) return out.subarray(0, produced);
    if (produced === out.length) {
      if (out.length >= limit) throw new DecodeError('decompressed batch too large');
      const next = Buffer.allocUnsafe(Math.min(limit, out.length * 2));
      out.copy(next, 0, 0, produced);
      out = next;
    } else if (wrote === 0 && read === 0) throw new DecodeError('truncated zstd frame');
  }
}

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
