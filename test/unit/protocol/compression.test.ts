// Batch decompression on the calling thread (decompressSync, for the table
// conversion workers) against the async path the broker's event loop uses:
// the same bytes for every codec and framing Kafka producers write, and
// DecodeErrors rather than allocations or crashes for hostile payloads:
// zstd headers that claim more than the limit, frames that never end,
// bombs, truncation and garbage.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompressSync } from 'snappy';
import { describe, expect, test } from 'vitest';
import { DecodeError } from '../../../src/protocol/primitives.js';
import { Compression } from '../../../src/protocol/records/batch.js';
import { compress, decompress, decompressSync } from '../../../src/protocol/records/compression.js';

const zstdNapi = createRequire(import.meta.url)('zstd-napi') as {
  Compressor: new () => { setParameters(p: Record<string, unknown>): void; compress(b: Buffer): Buffer };
};

/** A zstd frame whose header does not say its size, as streaming compressors (and compress() here) write it. */
function zstdWithoutSize(data: Buffer): Buffer {
  const c = new zstdNapi.Compressor();
  c.setParameters({ contentSizeFlag: false });
  return c.compress(data);
}

/** A zstd frame whose header gives its size, as one-shot compressors write it. */
function zstdWithSize(data: Buffer): Buffer {
  return new zstdNapi.Compressor().compress(data);
}

function xerial(blocks: Buffer[]): Buffer {
  const head = Buffer.alloc(16);
  Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]).copy(head);
  head.writeInt32BE(1, 8);
  head.writeInt32BE(1, 12);
  const parts = blocks.map((b) => {
    const z = snappyCompressSync(b);
    const len = Buffer.alloc(4);
    len.writeInt32BE(z.length);
    return Buffer.concat([len, z]);
  });
  return Buffer.concat([head, ...parts]);
}

// Records-like payloads: repeating text with random runs, from empty to past 1 MB.
const payloads = [0, 1, 700, 65_536, 1_200_000].map((n) => {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 64) (i % 192 === 0 ? randomBytes(Math.min(64, n - i)) : Buffer.from('{"order":"A-1234","status":"PAID","amount":12.50}...'.slice(0, Math.min(64, n - i)))).copy(out, i);
  return out;
});

describe('decompressSync', () => {
  test.each([
    ['gzip', Compression.GZIP],
    ['snappy', Compression.SNAPPY],
    ['lz4', Compression.LZ4],
    ['zstd', Compression.ZSTD],
  ])('%s: the same bytes as the async path, for payloads of 0 B to 1.2 MB', async (_name, codec) => {
    for (const p of payloads) {
      const z = await compress(codec, p);
      const out = decompressSync(codec, z);
      expect(out).not.toBeNull();
      expect(out!.equals(p), `${p.length} bytes`).toBe(true);
      expect((await decompress(codec, z)).equals(p)).toBe(true);
    }
  });

  test('snappy in snappy-java framing (xerial), block by block', async () => {
    const blocks = [payloads[3], payloads[2], payloads[4]];
    const framed = xerial(blocks);
    expect(decompressSync(Compression.SNAPPY, framed)!.equals(Buffer.concat(blocks))).toBe(true);
    expect((await decompress(Compression.SNAPPY, framed)).equals(Buffer.concat(blocks))).toBe(true);
  });

  test('zstd frames without a content size, and several frames in one payload, are streamed', () => {
    const big = payloads[4];
    expect(decompressSync(Compression.ZSTD, zstdWithoutSize(big))!.equals(big)).toBe(true);
    expect(decompressSync(Compression.ZSTD, zstdWithoutSize(Buffer.alloc(0)))!.length).toBe(0);
    const two = Buffer.concat([zstdWithoutSize(payloads[3]), zstdWithoutSize(payloads[2])]);
    expect(decompressSync(Compression.ZSTD, two)!.equals(Buffer.concat([payloads[3], payloads[2]]))).toBe(true);
  });

  test('zstd frames that give their size, one or several in a payload', () => {
    for (const p of payloads) expect(decompressSync(Compression.ZSTD, zstdWithSize(p))!.equals(p)).toBe(true);
    const two = Buffer.concat([zstdWithSize(payloads[3]), zstdWithSize(payloads[4])]);
    expect(decompressSync(Compression.ZSTD, two)!.equals(Buffer.concat([payloads[3], payloads[4]]))).toBe(true);
  });

  test('hostile zstd: a header claiming more than the limit, a bomb without one, truncation and garbage are DecodeErrors', async () => {
    const limit = 1 << 20;
    const zeros = Buffer.alloc(4 << 20);
    const withSize = zstdWithSize(zeros);
    expect(withSize.length).toBeLessThan(1024);
    expect(() => decompressSync(Compression.ZSTD, withSize, limit)).toThrow(new DecodeError('decompressed batch too large'));
    // A header may claim any size: this one 2^52 bytes (single segment, an 8-byte size), then one raw block of 3.
    // It is refused for its claim, before anything that size is allocated.
    const forged = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]), Buffer.from([0, 0, 0, 0, 0, 0, 0x10, 0]), Buffer.from([(3 << 3) | 1, 0, 0]), Buffer.from('abc')]);
    expect(() => decompressSync(Compression.ZSTD, forged)).toThrow(new DecodeError('decompressed batch too large'));
    // Without a size in the header, the output stops growing at the limit.
    expect(() => decompressSync(Compression.ZSTD, zstdWithoutSize(zeros), limit)).toThrow(new DecodeError('decompressed batch too large'));
    expect(decompressSync(Compression.ZSTD, zstdWithoutSize(zeros), 4 << 20)!.equals(zeros)).toBe(true);
    const sized = zstdWithSize(payloads[4]);
    for (const cut of [sized.subarray(0, sized.length - 1), sized.subarray(0, 20), zstdWithoutSize(payloads[4]).subarray(0, 5000)]) {
      expect(() => decompressSync(Compression.ZSTD, cut)).toThrow(DecodeError);
      await expect(decompress(Compression.ZSTD, cut)).rejects.toThrow(DecodeError);
    }
    for (let seed = 0; seed < 50; seed++) {
      const junk = randomBytes(1 + seed * 37);
      // Some junk starts with zstd's magic number: mostly it does not, and both are refused.
      if (seed % 2 === 0) Buffer.from([0x28, 0xb5, 0x2f, 0xfd]).copy(junk);
      expect(() => decompressSync(Compression.ZSTD, junk)).toThrow(DecodeError);
    }
  });

  test('hostile gzip and snappy: over the limit, bad xerial lengths, garbage', () => {
    const zeros = Buffer.alloc(4 << 20);
    expect(() => decompressSync(Compression.GZIP, gzipSync(zeros), 1 << 20)).toThrow(DecodeError);
    const framed = xerial([payloads[3], payloads[3]]);
    expect(() => decompressSync(Compression.SNAPPY, framed, 100_000)).toThrow(new DecodeError('decompressed batch too large'));
    // Blocks stop being decoded once past the limit: the garbage block after it is never reached.
    const pastLimitThenGarbage = Buffer.concat([framed, Buffer.from([0, 0, 0, 8]), Buffer.alloc(8, 0xff)]);
    expect(() => decompressSync(Compression.SNAPPY, pastLimitThenGarbage, 100_000)).toThrow(new DecodeError('decompressed batch too large'));
    expect(() => decompressSync(Compression.SNAPPY, pastLimitThenGarbage)).toThrow(DecodeError);
    // lz4's library has no limit of its own: the payload is checked after it.
    expect(() => decompressSync(Compression.LZ4, compressFrameSync(zeros), 1 << 20)).toThrow(new DecodeError('decompressed batch too large'));
    const badLength = Buffer.from(framed);
    badLength.writeInt32BE(1 << 30, 16);
    expect(() => decompressSync(Compression.SNAPPY, badLength)).toThrow(new DecodeError('truncated xerial snappy block'));
    expect(() => decompressSync(Compression.SNAPPY, framed.subarray(0, 18))).toThrow(new DecodeError('truncated xerial snappy block header'));
    expect(() => decompressSync(Compression.LZ4, randomBytes(100))).toThrow(DecodeError);
    expect(() => decompressSync(Compression.GZIP, randomBytes(100))).toThrow(DecodeError);
    expect(() => decompressSync(9, Buffer.alloc(10))).toThrow(new DecodeError('unknown compression codec 9'));
  });
});
