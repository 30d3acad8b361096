// The object format of S3Stream: [data blocks][index][footer].
//
// A data block is a run of whole record batches of one stream. The index has
// one 52-byte entry per block; the 32-byte footer says where the index is, so
// one ranged GET of the tail finds every block without reading the data.
//
//  index entry                     footer
//   streamId      int64             indexPosition  int64
//   startOffset   int64             entryCount     int32
//   endOffset     int64             indexCrc       uint32  CRC32C of the index
//   recordCount   int32             formatVersion  int16
//   position      int64             flags          int16
//   size          int32             footerCrc      uint32  CRC32C of the 20 bytes above
//   maxTimestamp  int64             magic          8 bytes "FLOEOBJ\x01"
//   crc           uint32  CRC32C of the block
//
// This is our own format (it is the storage engine, our core), shaped after
// AutoMQ's S3Stream objects.

import { DecodeError, readInt64, writeInt64 } from '../protocol/primitives.js';
import { wholeBatchCrc32c } from '../protocol/records/batch.js';
import { crc32c, crc32cCombine } from '../protocol/records/crc32c.js';

export const FORMAT_VERSION = 1;
export const INDEX_ENTRY_SIZE = 52;
export const FOOTER_SIZE = 32;
const MAGIC = Buffer.from('FLOEOBJ\x01', 'latin1');

export interface BlockInput {
  readonly streamId: number;
  readonly startOffset: number;
  readonly endOffset: number;
  readonly recordCount: number;
  readonly maxTimestamp: number;
  /** The block's batches, in offset order: each exactly one batch whose own CRC holds. */
  readonly batches: readonly Buffer[];
}

export interface IndexEntry {
  readonly streamId: number;
  readonly startOffset: number;
  readonly endOffset: number;
  readonly recordCount: number;
  readonly position: number;
  readonly size: number;
  readonly maxTimestamp: number;
  readonly crc: number;
}

export interface BuiltObjectParts {
  /** The object's bytes, in order: the blocks' batches as given (no copy), then index and footer. */
  readonly parts: readonly Buffer[];
  readonly size: number;
  readonly entries: readonly IndexEntry[];
  /** CRC32C of the whole object, for the store's upload checksum. */
  readonly crc32c: number;
}

/**
 * Lays blocks out as an object without copying them: the batches themselves
 * are the data, followed by one new buffer with the index and footer. The WAL
 * uploads these parts as they are (a write path that never copies a record).
 */
export function buildObjectParts(blocks: readonly BlockInput[]): BuiltObjectParts {
  const entries: IndexEntry[] = [];
  const parts: Buffer[] = [];
  let pos = 0;
  let objectCrc: number | undefined;
  for (const b of blocks) {
    const start = pos;
    let crc: number | undefined;
    for (const batch of b.batches) {
      parts.push(batch);
      // From the CRC each batch carries: the records are not read again (see wholeBatchCrc32c).
      const c = wholeBatchCrc32c(batch);
      crc = crc === undefined ? c : crc32cCombine(crc, c, batch.length);
      pos += batch.length;
    }
    if (crc !== undefined) objectCrc = objectCrc === undefined ? crc : crc32cCombine(objectCrc, crc, pos - start);
    entries.push({
      streamId: b.streamId,
      startOffset: b.startOffset,
      endOffset: b.endOffset,
      recordCount: b.recordCount,
      position: start,
      size: pos - start,
      maxTimestamp: b.maxTimestamp,
      crc: crc ?? crc32c(Buffer.alloc(0)),
    });
  }
  const indexPosition = pos;
  const tail = Buffer.allocUnsafe(entries.length * INDEX_ENTRY_SIZE + FOOTER_SIZE);
  writeIndexAndFooter(tail, entries, indexPosition);
  parts.push(tail);
  const tailCrc = crc32c(tail);
  return { parts, size: pos + tail.length, entries, crc32c: objectCrc === undefined ? tailCrc : crc32cCombine(objectCrc, tailCrc, tail.length) };
}

function writeIndexAndFooter(data: Buffer, entries: readonly IndexEntry[], indexPosition: number): void {
  let pos = 0;
  for (const e of entries) {
    writeInt64(data, e.streamId, pos);
    writeInt64(data, e.startOffset, pos + 8);
    writeInt64(data, e.endOffset, pos + 16);
    data.writeInt32BE(e.recordCount, pos + 24);
    writeInt64(data, e.position, pos + 28);
    data.writeInt32BE(e.size, pos + 36);
    writeInt64(data, e.maxTimestamp, pos + 40);
    data.writeUInt32BE(e.crc, pos + 48);
    pos += INDEX_ENTRY_SIZE;
  }
  const indexCrc = crc32c(data.subarray(0, pos));
  writeInt64(data, indexPosition, pos);
  data.writeInt32BE(entries.length, pos + 8);
  data.writeUInt32BE(indexCrc, pos + 12);
  data.writeInt16BE(FORMAT_VERSION, pos + 16);
  data.writeInt16BE(0, pos + 18);
  data.writeUInt32BE(crc32c(data.subarray(pos, pos + 20)), pos + 20);
  MAGIC.copy(data, pos + 24);
}

export interface Footer {
  readonly indexPosition: number;
  readonly entryCount: number;
  readonly indexCrc: number;
}

export function parseFooter(tail: Buffer, objectSize: number): Footer {
  if (tail.length !== FOOTER_SIZE) throw new DecodeError(`footer must be ${FOOTER_SIZE} bytes, got ${tail.length}`);
  if (!tail.subarray(24).equals(MAGIC)) throw new DecodeError('not a Floe object (bad magic)');
  if (crc32c(tail.subarray(0, 20)) !== tail.readUInt32BE(20)) throw new DecodeError('footer checksum mismatch');
  const version = tail.readInt16BE(16);
  if (version !== FORMAT_VERSION) throw new DecodeError(`unknown object format version ${version}`);
  const indexPosition = readInt64(tail, 0);
  const entryCount = tail.readInt32BE(8);
  if (entryCount < 0 || indexPosition < 0 || indexPosition + entryCount * INDEX_ENTRY_SIZE + FOOTER_SIZE !== objectSize) {
    throw new DecodeError('footer does not match the object size');
  }
  return { indexPosition, entryCount, indexCrc: tail.readUInt32BE(12) };
}

export function parseIndex(index: Buffer, footer: Footer): IndexEntry[] {
  if (index.length !== footer.entryCount * INDEX_ENTRY_SIZE) throw new DecodeError('index size mismatch');
  if (crc32c(index) !== footer.indexCrc) throw new DecodeError('index checksum mismatch');
  const out: IndexEntry[] = [];
  for (let pos = 0; pos < index.length; pos += INDEX_ENTRY_SIZE) {
    const e: IndexEntry = {
      streamId: readInt64(index, pos),
      startOffset: readInt64(index, pos + 8),
      endOffset: readInt64(index, pos + 16),
      recordCount: index.readInt32BE(pos + 24),
      position: readInt64(index, pos + 28),
      size: index.readInt32BE(pos + 36),
      maxTimestamp: readInt64(index, pos + 40),
      crc: index.readUInt32BE(pos + 48),
    };
    if (e.position < 0 || e.size < 0 || e.position + e.size > footer.indexPosition) throw new DecodeError('index entry outside the data');
    out.push(e);
  }
  return out;
}

/** Reads a whole object back (tools, compaction, tests). */
export function readObject(data: Buffer): { entries: IndexEntry[]; block: (e: IndexEntry) => Buffer } {
  const footer = parseFooter(data.subarray(data.length - FOOTER_SIZE), data.length);
  const entries = parseIndex(data.subarray(footer.indexPosition, footer.indexPosition + footer.entryCount * INDEX_ENTRY_SIZE), footer);
  return { entries, block: (e) => verifyBlock(data.subarray(e.position, e.position + e.size), e.crc) };
}

export function verifyBlock(block: Buffer, crc: number): Buffer {
  if (crc32c(block) !== crc) throw new DecodeError('block checksum mismatch');
  return block;
}

/** `s3stream/<2 hex chars of a hash>/<objectId>`: spreads keys over S3 partitions. */
export function objectKey(objectId: number): string {
  const h = crc32c(Buffer.from(String(objectId))) & 0xff;
  return `s3stream/${h.toString(16).padStart(2, '0')}/${objectId}`;
}
