// Validation of a produced partition's records, as Kafka 4's ProduceRequest
// .validateRecords, UnifiedLog.analyzeAndValidateRecords and LogValidator do it:
// the same checks, the same error codes, the same messages. Pure: bytes in,
// verdict out. Records are walked only for uncompressed batches; compressed
// batches are checked from their header (Floe never decompresses on the
// produce path), which bounds their timestamps by base and max timestamp.

import { DecodeError } from '../primitives.js';
import { ErrorCode, type ErrorCodeValue } from '../errors.js';
import {
  BATCH_HEADER_SIZE,
  BatchOffset,
  Compression,
  LOG_OVERHEAD,
  compressionOf,
  computeBatchCrc,
  isControlBatch,
  readBatchHeader,
  timestampTypeOf,
  TimestampType,
  type BatchHeader,
} from './batch.js';
import { scanRecords } from './record.js';

export interface RecordError {
  readonly batchIndex: number;
  readonly message: string | null;
}

export interface ValidationFailure {
  readonly ok: false;
  readonly code: ErrorCodeValue;
  readonly message: string;
  readonly recordErrors: readonly RecordError[];
}

export interface ValidBatch {
  readonly ok: true;
  /** The one whole batch (trailing partial bytes, if any, are dropped as Kafka drops them). */
  readonly batch: Buffer;
  readonly header: BatchHeader;
}

export interface ValidationPolicy {
  readonly apiVersion: number;
  readonly maxMessageBytes: number;
  readonly timestampType: number;
  readonly timestampBeforeMaxMs: number;
  readonly timestampAfterMaxMs: number;
  readonly now: number;
  readonly topicPartition: string;
}

function fail(code: ErrorCodeValue, message: string, recordErrors: RecordError[] = []): ValidationFailure {
  return { ok: false, code, message, recordErrors };
}

export function validateProducedRecords(records: Buffer | null, p: ValidationPolicy): ValidBatch | ValidationFailure {
  const v = p.apiVersion;
  if (records === null || records.length < LOG_OVERHEAD) {
    return fail(ErrorCode.INVALID_RECORD, `Produce requests with version ${v} must have at least one record batch per partition`);
  }
  const batchLength = records.readInt32BE(BatchOffset.batchLength);
  const size = LOG_OVERHEAD + batchLength;
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) {
    return fail(ErrorCode.CORRUPT_MESSAGE, `Record batch size ${size} is less than the minimum batch size ${BATCH_HEADER_SIZE}`);
  }
  if (size > records.length) {
    // A lone partial batch: Kafka's batch iterator yields nothing for it.
    return fail(ErrorCode.INVALID_RECORD, `Produce requests with version ${v} must have at least one record batch per partition`);
  }
  const magic = records.readInt8(BatchOffset.magic);
  if (magic !== 2) {
    return fail(ErrorCode.INVALID_RECORD, `Produce requests with version ${v} are only allowed to contain record batches with magic version 2`);
  }
  const header = readBatchHeader(records, 0);
  const codec = compressionOf(header.attributes);
  if (codec > Compression.ZSTD) {
    return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `Unknown compression type id: ${codec}`);
  }
  if (v < 7 && codec === Compression.ZSTD) {
    return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `Produce requests with version ${v} are not allowed to use ZStandard compression`);
  }
  if (records.length - size >= LOG_OVERHEAD) {
    const next = LOG_OVERHEAD + records.readInt32BE(size + BatchOffset.batchLength);
    if (size + next <= records.length) {
      return fail(ErrorCode.INVALID_RECORD, `Produce requests with version ${v} are only allowed to contain exactly one record batch per partition`);
    }
  }
  const batch = records.subarray(0, size);
  if (header.baseOffset !== 0) {
    return fail(ErrorCode.INVALID_RECORD, `The baseOffset of the record batch in the append to ${p.topicPartition} should be 0, but it is ${header.baseOffset}`);
  }
  if (size > p.maxMessageBytes) {
    return fail(ErrorCode.MESSAGE_TOO_LARGE, `The record batch size in the append to ${p.topicPartition} is ${size} bytes which exceeds the maximum configured value of ${p.maxMessageBytes}.`);
  }
  if (computeBatchCrc(batch) !== header.crc) {
    return fail(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (stored crc = ${header.crc}) in topic partition ${p.topicPartition}.`);
  }
  const countFromOffsets = header.lastOffsetDelta + 1;
  if (countFromOffsets <= 0) {
    return fail(ErrorCode.INVALID_RECORD, `Batch has an invalid offset range: [0, ${header.lastOffsetDelta}] in partition ${p.topicPartition}`);
  }
  if (header.recordCount <= 0) {
    return fail(ErrorCode.INVALID_RECORD, `Invalid reported count for record batch: ${header.recordCount} in partition ${p.topicPartition}`);
  }
  if (countFromOffsets !== header.recordCount) {
    return fail(ErrorCode.INVALID_RECORD, `Inconsistent batch offset range [0, ${header.lastOffsetDelta}] and count of records ${header.recordCount} in partition ${p.topicPartition}`);
  }
  if (isControlBatch(header.attributes)) {
    return fail(ErrorCode.INVALID_RECORD, `Clients are not allowed to write control records in partition ${p.topicPartition}`);
  }
  if (header.producerId >= 0 && header.baseSequence < 0) {
    return fail(ErrorCode.INVALID_RECORD, `Invalid sequence number ${header.baseSequence} in record batch with producerId ${header.producerId} in partition ${p.topicPartition}`);
  }

  const clientLogAppendTime = timestampTypeOf(header.attributes) === TimestampType.LOG_APPEND_TIME;
  const checkTimestamps = p.timestampType === TimestampType.CREATE_TIME;
  const recordErrors: RecordError[] = [];
  const invalidTimestamp = (ts: number): boolean => {
    if (ts === -1) return false;
    const diff = p.now - ts;
    return diff > p.timestampBeforeMaxMs || -diff > p.timestampAfterMaxMs;
  };
  const range = `[${p.now - p.timestampBeforeMaxMs}, ${p.now + p.timestampAfterMaxMs}]`;

  if (codec === Compression.NONE) {
    try {
      scanRecords(batch, BATCH_HEADER_SIZE, size, header.recordCount, (offsetDelta, timestampDelta, index) => {
        if (offsetDelta !== index) {
          throw new OffsetDeltaError(`Inner record with offset delta ${offsetDelta} at index ${index} has invalid offset in topic partition ${p.topicPartition}`);
        }
        if (clientLogAppendTime) {
          recordErrors.push({ batchIndex: index, message: 'Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.' });
        } else if (checkTimestamps && header.baseTimestamp !== -1) {
          const ts = header.baseTimestamp + timestampDelta;
          if (invalidTimestamp(ts)) {
            recordErrors.push({ batchIndex: index, message: `Timestamp ${ts} of message with offset ${index} is out of range. The timestamp should be within ${range}` });
          }
        }
      });
    } catch (err) {
      if (err instanceof OffsetDeltaError) return fail(ErrorCode.INVALID_RECORD, err.message);
      if (err instanceof DecodeError) {
        return fail(ErrorCode.INVALID_RECORD, `Found invalid record structure in topic partition ${p.topicPartition}: ${err.message}`);
      }
      throw err;
    }
  } else if (clientLogAppendTime) {
    recordErrors.push({ batchIndex: 0, message: 'Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.' });
  } else if (checkTimestamps && header.baseTimestamp !== -1) {
    for (const ts of [header.baseTimestamp, header.maxTimestamp]) {
      if (invalidTimestamp(ts)) {
        recordErrors.push({ batchIndex: 0, message: `Timestamp ${ts} of message with offset 0 is out of range. The timestamp should be within ${range}` });
        break;
      }
    }
  }
  if (recordErrors.length > 0) {
    const message = recordErrors.length === 1 && recordErrors[0].message !== null ? recordErrors[0].message : `${recordErrors.length} records have invalid timestamps`;
    return fail(ErrorCode.INVALID_TIMESTAMP, message, recordErrors);
  }
  return { ok: true, batch, header };
}

class OffsetDeltaError extends Error {}
