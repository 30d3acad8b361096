// RecordBatch v2 header layout and in-place edits. The broker moves batches as
// opaque bytes; this module only reads and patches the 61-byte header.
//
//  baseOffset: int64              0
//  batchLength: int32             8   (bytes after this field)
//  partitionLeaderEpoch: int32   12
//  magic: int8                   16   (2)
//  crc: uint32                   17   CRC32C of attributes..end
//  attributes: int16             21
//  lastOffsetDelta: int32        23
//  baseTimestamp: int64          27
//  maxTimestamp: int64           35
//  producerId: int64             43
//  producerEpoch: int16          51
//  baseSequence: int32           53
//  recordCount: int32            57
//  records                       61

import { readInt64, writeInt64 } from '../primitives.js';
import { crc32c, crc32cCombine } from './crc32c.js';

export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes not counted in batchLength. */
export const LOG_OVERHEAD = 12;

export const BatchOffset = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const;

export const Compression = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
export type CompressionCodec = (typeof Compression)[keyof typeof Compression];
export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_TIMESTAMP_TYPE = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

export const TimestampType = { CREATE_TIME: 0, LOG_APPEND_TIME: 1 } as const;

/** A view of one batch's header fields (read once; the bytes stay where they are). */
export interface BatchHeader {
  readonly baseOffset: number;
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

/** Reads a header; the caller guarantees BATCH_HEADER_SIZE bytes at `pos`. */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, pos + BatchOffset.baseOffset),
    batchLength: buf.readInt32BE(pos + BatchOffset.batchLength),
    partitionLeaderEpoch: buf.readInt32BE(pos + BatchOffset.partitionLeaderEpoch),
    magic: buf.readInt8(pos + BatchOffset.magic),
    crc: buf.readUInt32BE(pos + BatchOffset.crc),
    attributes: buf.readInt16BE(pos + BatchOffset.attributes),
    lastOffsetDelta: buf.readInt32BE(pos + BatchOffset.lastOffsetDelta),
    baseTimestamp: readInt64(buf, pos + BatchOffset.baseTimestamp),
    maxTimestamp: readInt64(buf, pos + BatchOffset.maxTimestamp),
    producerId: readInt64(buf, pos + BatchOffset.producerId),
    producerEpoch: buf.readInt16BE(pos + BatchOffset.producerEpoch),
    baseSequence: buf.readInt32BE(pos + BatchOffset.baseSequence),
    recordCount: buf.readInt32BE(pos + BatchOffset.recordCount),
  };
}

export const compressionOf = (attributes: number): number => attributes & ATTR_COMPRESSION_MASK;
export const isTransactional = (attributes: number): boolean => (attributes & ATTR_TRANSACTIONAL) !== 0;
export const isControlBatch = (attributes: number): boolean => (attributes & ATTR_CONTROL) !== 0;
export const timestampTypeOf = (attributes: number): number =>
  (attributes & ATTR_TIMESTAMP_TYPE) !== 0 ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;

export function baseOffsetOf(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + BatchOffset.baseOffset);
}

export function lastOffsetOf(buf: Buffer, pos = 0): number {
  return baseOffsetOf(buf, pos) + buf.readInt32BE(pos + BatchOffset.lastOffsetDelta);
}

export function maxTimestampOf(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + BatchOffset.maxTimestamp);
}

/** Total size of the batch at `pos` (header fields included), or -1 if fewer than 12 bytes remain. */
export function batchSizeAt(buf: Buffer, pos: number, end = buf.length): number {
  if (end - pos < LOG_OVERHEAD) return -1;
  return LOG_OVERHEAD + buf.readInt32BE(pos + BatchOffset.batchLength);
}

/** The CRC a batch should carry: CRC32C over attributes to the end. */
export function computeBatchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(BatchOffset.attributes));
}

/**
 * CRC32C of a whole batch's bytes (header included), without reading its
 * records: the CRC the batch carries covers everything from its attributes
 * on, so only the 21 bytes before them are checksummed and combined with it.
 * `batch` must be exactly one batch whose CRC holds (validated on produce,
 * or built by the broker).
 */
export function wholeBatchCrc32c(batch: Buffer): number {
  const head = crc32c(batch.subarray(0, BatchOffset.attributes));
  return crc32cCombine(head, batch.readUInt32BE(BatchOffset.crc), batch.length - BatchOffset.attributes);
}

/** Patches baseOffset in place; outside the CRC, so the CRC stays valid. */
export function setBaseOffset(batch: Buffer, baseOffset: number): void {
  writeInt64(batch, baseOffset, BatchOffset.baseOffset);
}

/** Patches partitionLeaderEpoch in place; also outside the CRC. */
export function setPartitionLeaderEpoch(batch: Buffer, epoch: number): void {
  batch.writeInt32BE(epoch, BatchOffset.partitionLeaderEpoch);
}

/**
 * Marks a batch LogAppendTime with the broker's clock, as Kafka's
 * DefaultRecordBatch.setMaxTimestamp does: attributes and maxTimestamp change,
 * so the CRC is recomputed.
 */
export function setLogAppendTime(batch: Buffer, now: number): void {
  const attrs = batch.readInt16BE(BatchOffset.attributes);
  batch.writeInt16BE(attrs | ATTR_TIMESTAMP_TYPE, BatchOffset.attributes);
  writeInt64(batch, now, BatchOffset.maxTimestamp);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchOffset.crc);
}

/** One whole batch inside a buffer of several. */
export interface BatchSpan {
  readonly position: number;
  readonly size: number;
}

/**
 * Splits a run of batches into whole batches. A partial trailing batch is left
 * out (Kafka's fetch responses may end with one). Sizes that cannot be a batch
 * stop the walk: callers that need to reject them check `complete`.
 */
export function splitBatches(buf: Buffer, start = 0, end = buf.length): { spans: BatchSpan[]; complete: boolean } {
  const spans: BatchSpan[] = [];
  let pos = start;
  while (pos < end) {
    const size = batchSizeAt(buf, pos, end);
    if (size < 0 || pos + size > end) return { spans, complete: false };
    if (size < BATCH_HEADER_SIZE) return { spans, complete: false };
    spans.push({ position: pos, size });
    pos += size;
  }
  return { spans, complete: true };
}
