// Builds v2 record batches. The broker never builds batches on the produce
// path; this is for tools, tests, the benchmark client and (later) re-encoding
// batches read back from table files.

import { writeInt64 } from '../primitives.js';
import { BATCH_HEADER_SIZE, BatchOffset, Compression, computeBatchCrc } from './batch.js';
import { compress } from './compression.js';
import { encodeRecords, type RecordHeader } from './record.js';

export interface RecordInput {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: readonly { key: string; value: Buffer | string | null }[];
  readonly timestamp?: number;
}

export interface BatchOptions {
  readonly baseOffset?: number;
  readonly compression?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly partitionLeaderEpoch?: number;
  readonly transactional?: boolean;
  readonly logAppendTime?: boolean;
  readonly now?: number;
}

const toBuf = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');

export async function buildBatch(records: readonly RecordInput[], opts: BatchOptions = {}): Promise<Buffer> {
  if (records.length === 0) throw new Error('a batch needs at least one record');
  const now = opts.now ?? Date.now();
  const timestamps = records.map((r) => r.timestamp ?? now);
  const baseTimestamp = timestamps[0];
  const maxTimestamp = Math.max(...timestamps);
  const payload = encodeRecords(
    records.map((r, i) => ({
      offsetDelta: i,
      timestampDelta: timestamps[i] - baseTimestamp,
      key: toBuf(r.key),
      value: toBuf(r.value),
      headers: (r.headers ?? []).map((h): RecordHeader => ({ key: h.key, value: toBuf(h.value) })),
    })),
  );
  const codec = opts.compression ?? Compression.NONE;
  const body = await compress(codec, payload);
  const batch = Buffer.alloc(BATCH_HEADER_SIZE + body.length);
  writeInt64(batch, opts.baseOffset ?? 0, BatchOffset.baseOffset);
  batch.writeInt32BE(batch.length - 12, BatchOffset.batchLength);
  batch.writeInt32BE(opts.partitionLeaderEpoch ?? -1, BatchOffset.partitionLeaderEpoch);
  batch.writeInt8(2, BatchOffset.magic);
  let attributes = codec;
  if (opts.logAppendTime) attributes |= 0x08;
  if (opts.transactional) attributes |= 0x10;
  batch.writeInt16BE(attributes, BatchOffset.attributes);
  batch.writeInt32BE(records.length - 1, BatchOffset.lastOffsetDelta);
  writeInt64(batch, baseTimestamp, BatchOffset.baseTimestamp);
  writeInt64(batch, maxTimestamp, BatchOffset.maxTimestamp);
  writeInt64(batch, opts.producerId ?? -1, BatchOffset.producerId);
  batch.writeInt16BE(opts.producerEpoch ?? -1, BatchOffset.producerEpoch);
  batch.writeInt32BE(opts.baseSequence ?? -1, BatchOffset.baseSequence);
  batch.writeInt32BE(records.length, BatchOffset.recordCount);
  body.copy(batch, BATCH_HEADER_SIZE);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchOffset.crc);
  return batch;
}
