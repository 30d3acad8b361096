// Compression codecs of record batches. Not our core, so each is a library:
// node's zlib (gzip), snappy (napi-rs), lz4-napi (LZ4 frame format, as Kafka
// writes it) and @mongodb-js/zstd (prebuilt; async only). The broker never
// recompresses what producers send; it decompresses only where it must look
// inside a batch (timestamp lookups, later table conversion).

import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';
import { DecodeError } from '../primitives.js';
import { Compression } from './batch.js';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** Ceiling on a decompressed batch, so a hostile "zip bomb" cannot exhaust memory. */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

// snappy-java's stream framing, which the Java client writes:
// magic \x82SNAPPY\x00, version int32, compatible version int32, then [int32 length][raw block]...
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

async function snappyDecompress(data: Buffer): Promise<Buffer> {
  if (data.length >= 16 && data.subarray(0, 8).equals(XERIAL_MAGIC)) {
    const parts: Buffer[] = [];
    let total = 0;
    let pos = 16;
    while (pos < data.length) {
      if (pos + 4 > data.length) throw new DecodeError('truncated xerial snappy block header');
      const len = data.readInt32BE(pos);
      pos += 4;
      if (len < 0 || pos + len > data.length) throw new DecodeError('truncated xerial snappy block');
      const block = (await snappyUncompress(data.subarray(pos, pos + len))) as Buffer;
      total += block.length;
      if (total > MAX_DECOMPRESSED_BYTES) throw new DecodeError('decompressed batch too large');
      parts.push(block);
      pos += len;
    }
    return Buffer.concat(parts, total);
  }
  return (await snappyUncompress(data)) as Buffer;
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
        out = await snappyDecompress(data);
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
