// The checksums a WAL object carries are built from the CRCs its batches
// already hold (crc32cCombine, wholeBatchCrc32c) instead of reading every
// byte again; each must equal the CRC32C of the bytes, computed directly.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setBaseOffset, setLogAppendTime, setPartitionLeaderEpoch, wholeBatchCrc32c } from '../../../src/protocol/records/batch.js';
import { buildBatch } from '../../../src/protocol/records/builder.js';
import { crc32c, crc32cCombine, crc32cImplementation, crc32cImplementations } from '../../../src/protocol/records/crc32c.js';
import { buildObjectParts, readObject } from '../../../src/storage/object-format.js';

describe('CRC32C libraries', () => {
  it('agree on every input: the check value, empty input, slices at odd offsets, and checksums continued piece by piece', () => {
    // aws-crt where it ships a binary; the fallback must give the same answers.
    const awsCrtBinaries = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'];
    expect(crc32cImplementation).toBe(awsCrtBinaries.includes(`${process.platform}-${process.arch}`) ? 'aws-crt' : '@node-rs/crc32');
    expect(crc32cImplementations.map((i) => i.name)).toContain('@node-rs/crc32');
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const inputs = [Buffer.alloc(0), Buffer.from('123456789'), data.subarray(1, 2), data.subarray(3, 64), data.subarray(7, 4096 + 7), data.subarray(13), data];
    const expected = inputs.map((b) => crc32cImplementations[crc32cImplementations.length - 1].crc32c(b) >>> 0);
    expect(expected[0]).toBe(0);
    expect(expected[1]).toBe(0xe3069283);
    for (const impl of crc32cImplementations) {
      expect(inputs.map((b) => impl.crc32c(b) >>> 0)).toEqual(expected);
      let crc: number | undefined;
      for (let at = 0; at < data.length; at += 999_983) crc = impl.crc32c(data.subarray(at, at + 999_983), crc) >>> 0;
      expect(crc).toBe(expected[6]);
    }
    expect(inputs.map((b) => crc32c(b))).toEqual(expected);
  });
});

describe('CRC32C combination', () => {
  it('gives the CRC of two pieces joined, for any split, empty pieces and large ones', () => {
    const data = randomBytes(70_000);
    const splits = [0, 1, 2, 3, 7, 8, 63, 64, 1000, 4096, 32_767, 65_536, 69_999, 70_000];
    for (let i = 0; i < 40; i++) splits.push(Math.floor(Math.random() * 70_001));
    for (const at of splits) {
      const a = data.subarray(0, at);
      const b = data.subarray(at);
      expect(crc32cCombine(crc32c(a), crc32c(b), b.length)).toBe(crc32c(data));
    }
    const big = randomBytes(5 * 1024 * 1024 + 3);
    expect(crc32cCombine(crc32c(big.subarray(0, 11)), crc32c(big.subarray(11)), big.length - 11)).toBe(crc32c(big));
    // RFC 3720's check value: CRC32C("123456789") = 0xE3069283, also when combined from its halves.
    const digits = Buffer.from('123456789');
    expect(crc32c(digits)).toBe(0xe3069283);
    expect(crc32cCombine(crc32c(digits.subarray(0, 4)), crc32c(digits.subarray(4)), 5)).toBe(0xe3069283);
  });

  it('holds for second pieces whose lengths have a nonzero byte in each of their four places', () => {
    // The power of x is built a byte of the length at a time: 0x01100305 and 0x01020304 bytes reach the fourth.
    const data = randomBytes(0x01100305);
    for (const at of [0, 1, 0x0102, 0x010203, data.length - 0x0305]) {
      const b = data.subarray(at);
      expect(crc32cCombine(crc32c(data.subarray(0, at)), crc32c(b), b.length)).toBe(crc32c(data));
    }
    const head = Buffer.from('floe');
    const zeros = Buffer.alloc(0x01020304);
    expect(crc32cCombine(crc32c(head), crc32c(zeros), zeros.length)).toBe(crc32c(Buffer.concat([head, zeros])));
  });
});

describe('a whole batch\'s CRC from its own', () => {
  it('equals the CRC of the batch\'s bytes after the broker patches its offset, epoch and log-append time', async () => {
    const batches = [
      await buildBatch([{ value: 'one' }]),
      await buildBatch(Array.from({ length: 300 }, (_, i) => ({ key: i % 3 === 0 ? null : `k${i}`, value: randomBytes(i * 7), headers: i % 5 === 0 ? [{ key: 'h', value: Buffer.from('v') }] : [] }))),
      await buildBatch(Array.from({ length: 50 }, (_, i) => ({ value: `compressed ${i}`.repeat(20) })), { compression: 4 }),
    ];
    for (const batch of batches) {
      expect(wholeBatchCrc32c(batch)).toBe(crc32c(batch));
      setBaseOffset(batch, 123_456_789_012);
      setPartitionLeaderEpoch(batch, 42);
      expect(wholeBatchCrc32c(batch)).toBe(crc32c(batch));
      setLogAppendTime(batch, 1_790_000_000_000);
      expect(wholeBatchCrc32c(batch)).toBe(crc32c(batch));
    }
  });
});

describe('a built object\'s checksums', () => {
  it('match its bytes: each block\'s CRC in the index, and the whole object\'s for the upload', async () => {
    const batch = async (n: number, base: number) => {
      const b = await buildBatch(Array.from({ length: n }, (_, i) => ({ value: randomBytes(10 + ((i * 31) % 500)) })));
      setBaseOffset(b, base);
      return b;
    };
    const blocks = [
      { streamId: 1, startOffset: 0, endOffset: 15, recordCount: 15, maxTimestamp: 1, batches: [await batch(5, 0), await batch(10, 5)] },
      { streamId: 2, startOffset: 7, endOffset: 8, recordCount: 1, maxTimestamp: 2, batches: [await batch(1, 7)] },
      { streamId: 3, startOffset: 0, endOffset: 120, recordCount: 120, maxTimestamp: 3, batches: [await batch(40, 0), await batch(40, 40), await batch(40, 80)] },
    ];
    const built = buildObjectParts(blocks);
    const bytes = Buffer.concat(built.parts);
    expect(bytes.length).toBe(built.size);
    expect(built.crc32c).toBe(crc32c(bytes));
    const object = readObject(bytes);
    expect(object.entries.map((e) => e.crc)).toEqual(object.entries.map((e) => crc32c(bytes.subarray(e.position, e.position + e.size))));
    expect(object.entries.map((e) => e.streamId)).toEqual([1, 2, 3]);
    // Read back as a reader does: every block verifies and holds its batches.
    expect(object.entries.map((e) => object.block(e).length)).toEqual(blocks.map((b) => b.batches.reduce((n, x) => n + x.length, 0)));
  });
});
