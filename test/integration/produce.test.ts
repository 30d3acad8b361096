// Produce: offsets, validation of batches with Kafka's error codes and
// messages, LogAppendTime, and auto-creation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import { CreateTopics, Fetch, IncrementalAlterConfigs, Metadata, Produce } from '../../src/protocol/messages/index.js';
import { BatchOffset, Compression, computeBatchCrc, readBatchHeader, TimestampType, timestampTypeOf } from '../../src/protocol/records/batch.js';
import { buildBatch } from '../../src/protocol/records/builder.js';
import { encodeRecords } from '../../src/protocol/records/record.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: TestBroker;
let c: RawClient;
beforeAll(async () => {
  broker = await startTestBroker();
  c = await RawClient.connect(broker.port);
});
afterAll(async () => {
  c.close();
  await broker.cleanup();
});

async function produce(topic: string, records: Buffer | null, opts: { version?: number; acks?: number; partition?: number } = {}) {
  const res = await c.request(Produce, opts.version ?? 11, {
    acks: opts.acks ?? -1,
    timeoutMs: 30000,
    topicData: [{ name: topic, partitionData: [{ index: opts.partition ?? 0, records }] }],
  });
  return res.responses[0].partitionResponses[0];
}

describe('Produce', () => {
  it('assigns consecutive offsets and reports the log start offset', async () => {
    const a = await produce('offsets', await buildBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }]));
    const b = await produce('offsets', await buildBatch([{ value: 'd' }]));
    expect(a).toMatchObject({ errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 });
    expect(b).toMatchObject({ errorCode: 0, baseOffset: 3 });
  });

  it('accepts every compression codec as is, at v3 (lowest) and v11 (highest)', async () => {
    for (const [codec, version] of [
      [Compression.NONE, 3],
      [Compression.GZIP, 3],
      [Compression.SNAPPY, 8],
      [Compression.LZ4, 9],
      [Compression.ZSTD, 11],
    ]) {
      const batch = await buildBatch([{ value: `codec ${codec}` }, { value: 'x' }], { compression: codec });
      const sent = Buffer.from(batch);
      const r = await produce('codecs', batch, { version });
      expect(r.errorCode).toBe(0);
      const f = await c.request(Fetch, 16, fetchBody(topicId('codecs'), r.baseOffset));
      const stored = f.responses[0].partitions[0].records as Buffer;
      // byte for byte what was sent, but for baseOffset and the leader epoch the broker patched
      expect(stored.subarray(BatchOffset.magic).equals(sent.subarray(BatchOffset.magic))).toBe(true);
      expect(readBatchHeader(stored).baseOffset).toBe(r.baseOffset);
    }
  });

  it('returns CORRUPT_MESSAGE for a CRC mismatch', async () => {
    const batch = await buildBatch([{ value: 'x' }]);
    batch[batch.length - 1] ^= 1;
    const r = await produce('bad', batch);
    expect(r.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(r.errorMessage).toContain('Record is corrupt');
  });

  it('returns INVALID_RECORD for magic 0 and 1 batches (Kafka 4 dropped those formats)', async () => {
    for (const magic of [0, 1]) {
      const batch = await buildBatch([{ value: 'x' }]);
      batch.writeInt8(magic, BatchOffset.magic);
      const r = await produce('bad', batch);
      expect(r.errorCode).toBe(ErrorCode.INVALID_RECORD);
      expect(r.errorMessage).toContain('only allowed to contain record batches with magic version 2');
    }
  });

  it('returns INVALID_RECORD for no batch, two batches, or a baseOffset other than 0', async () => {
    expect((await produce('bad', null)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await produce('bad', Buffer.alloc(5))).errorCode).toBe(ErrorCode.INVALID_RECORD);
    const two = Buffer.concat([await buildBatch([{ value: 'a' }]), await buildBatch([{ value: 'b' }])]);
    expect((await produce('bad', two)).errorMessage).toContain('exactly one record batch');
    const shifted = await buildBatch([{ value: 'a' }], { baseOffset: 7 });
    expect((await produce('bad', shifted)).errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  it('returns INVALID_RECORD when an uncompressed record has the wrong offset delta or count', async () => {
    const batch = await buildBatch([{ value: 'a' }, { value: 'b' }]);
    // rewrite the records with offset deltas 0, 5 and fix the CRC
    const records = encodeRecords([
      { offsetDelta: 0, timestampDelta: 0, key: null, value: Buffer.from('a') },
      { offsetDelta: 5, timestampDelta: 0, key: null, value: Buffer.from('b') },
    ]);
    const forged = Buffer.concat([batch.subarray(0, 61), records]);
    forged.writeInt32BE(forged.length - 12, BatchOffset.batchLength);
    forged.writeUInt32BE(computeBatchCrc(forged), BatchOffset.crc);
    const r = await produce('bad', forged);
    expect(r.errorCode).toBe(ErrorCode.INVALID_RECORD);
    const miscounted = await buildBatch([{ value: 'a' }, { value: 'b' }]);
    miscounted.writeInt32BE(3, BatchOffset.recordCount);
    miscounted.writeUInt32BE(computeBatchCrc(miscounted), BatchOffset.crc);
    expect((await produce('bad', miscounted)).errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  it('returns MESSAGE_TOO_LARGE above max.message.bytes', async () => {
    await c.request(CreateTopics, 7, { topics: [{ name: 'small', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'max.message.bytes', value: '200' }] }] });
    const r = await produce('small', await buildBatch([{ value: Buffer.alloc(500) }]));
    expect(r.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect((await produce('small', await buildBatch([{ value: Buffer.alloc(50) }]))).errorCode).toBe(0);
  });

  it('returns INVALID_TIMESTAMP with per-record errors beyond message.timestamp.after.max.ms', async () => {
    const now = Date.now();
    const r = await produce('ts', await buildBatch([{ value: 'ok', timestamp: now }, { value: 'future', timestamp: now + 2 * 3600_000 }]));
    expect(r.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(r.recordErrors).toEqual([{ batchIndex: 1, batchIndexErrorMessage: expect.stringContaining('is out of range') }]);
  });

  it('returns INVALID_TIMESTAMP when a producer sets LogAppendTime itself', async () => {
    const r = await produce('ts', await buildBatch([{ value: 'x' }], { logAppendTime: true }));
    expect(r.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
  });

  it('stamps LogAppendTime topics with the broker clock and a valid CRC', async () => {
    await c.request(CreateTopics, 7, { topics: [{ name: 'appendtime', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }] });
    const before = Date.now();
    const r = await produce('appendtime', await buildBatch([{ value: 'x', timestamp: 1000 }]));
    expect(r.errorCode).toBe(0);
    expect(r.logAppendTimeMs).toBeGreaterThanOrEqual(before);
    const f = await c.request(Fetch, 16, fetchBody(topicId('appendtime'), 0));
    const batch = f.responses[0].partitions[0].records as Buffer;
    const h = readBatchHeader(batch);
    expect(timestampTypeOf(h.attributes)).toBe(TimestampType.LOG_APPEND_TIME);
    expect(h.maxTimestamp).toBe(r.logAppendTimeMs);
    expect(h.crc).toBe(computeBatchCrc(batch));
  });

  it('returns UNSUPPORTED_COMPRESSION_TYPE for zstd below v7', async () => {
    const r = await produce('codecs', await buildBatch([{ value: 'z' }], { compression: Compression.ZSTD }), { version: 6 });
    expect(r.errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });

  it('returns INVALID_REQUIRED_ACKS for acks=2', async () => {
    expect((await produce('offsets', await buildBatch([{ value: 'x' }]), { acks: 2 })).errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
  });

  it('returns INVALID_TOPIC_EXCEPTION for a bad name and UNKNOWN_TOPIC_OR_PARTITION for a missing partition', async () => {
    expect((await produce('bad name!', await buildBatch([{ value: 'x' }]))).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await produce('offsets', await buildBatch([{ value: 'x' }]), { partition: 7 })).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce('offsets', await buildBatch([{ value: 'x' }]), { partition: -1 })).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('does not auto-create when auto.create.topics.enable=false', async () => {
    const strict = await startTestBroker({ 'auto.create.topics.enable': 'false' });
    const sc = await RawClient.connect(strict.port);
    const r = await sc.request(Produce, 11, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'nope', partitionData: [{ index: 0, records: await buildBatch([{ value: 'x' }]) }] }] });
    expect(r.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const m = await sc.request(Metadata, 12, { topics: [{ name: 'nope' }], allowAutoTopicCreation: true });
    expect(m.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    sc.close();
    await strict.cleanup();
  });

  it('applies a topic config changed with IncrementalAlterConfigs to the next produce', async () => {
    await produce('altered', await buildBatch([{ value: Buffer.alloc(300) }]));
    const res = await c.request(IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: 2, resourceName: 'altered', configs: [{ name: 'max.message.bytes', configOperation: 0, value: '100' }] }],
    });
    expect(res.responses[0].errorCode).toBe(0);
    expect((await produce('altered', await buildBatch([{ value: Buffer.alloc(300) }]))).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });
});

function topicId(name: string): string {
  return broker.context.topics.get(name)!.id;
}

function fetchBody(id: string, offset: number) {
  return { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }] };
}
