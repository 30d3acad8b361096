// Decodes what a broker returned (a run of record batches) into records, the
// way a consumer would: decompress, then read each record.
import { BATCH_HEADER_SIZE, compressionOf, readBatchHeader, splitBatches } from '../../src/protocol/records/batch.js';
import { decompress } from '../../src/protocol/records/compression.js';
import { decodeRecords } from '../../src/protocol/records/record.js';
import { Fetch, Metadata } from '../../src/protocol/messages/index.js';
import { RawClient } from './raw-client.js';

export interface ConsumedRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string | null>;
}

export async function consumeRecords(records: Buffer | readonly Buffer[] | null): Promise<ConsumedRecord[]> {
  if (records === null) return [];
  const buf = Buffer.isBuffer(records) ? records : Buffer.concat(records as Buffer[]);
  const out: ConsumedRecord[] = [];
  for (const { position, size } of splitBatches(buf).spans) {
    const batch = buf.subarray(position, position + size);
    const h = readBatchHeader(batch);
    const payload = await decompress(compressionOf(h.attributes), batch.subarray(BATCH_HEADER_SIZE));
    for (const r of decodeRecords(payload, h.recordCount)) {
      out.push({
        offset: h.baseOffset + r.offsetDelta,
        timestamp: h.baseTimestamp + r.timestampDelta,
        key: r.key?.toString() ?? null,
        value: r.value?.toString() ?? null,
        headers: Object.fromEntries(r.headers.map((x) => [x.key, x.value?.toString() ?? null])),
      });
    }
  }
  return out;
}

/** Every record of a partition from offset 0 to its high watermark, with raw Fetch requests. */
export async function readPartition(port: number, topic: string, partition: number): Promise<{ records: ConsumedRecord[]; highWatermark: number }> {
  const c = await RawClient.connect(port);
  const md = await c.request(Metadata, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false });
  const topicId = md.topics[0].topicId;
  const records: ConsumedRecord[] = [];
  let offset = 0;
  let highWatermark = 0;
  for (;;) {
    const r = await c.request(Fetch, 16, { maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, topics: [{ topicId, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 8 << 20 }] }] });
    const p = r.responses[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`fetch of ${topic}-${partition} at ${offset} failed with error ${p.errorCode}`);
    highWatermark = p.highWatermark;
    const got = (await consumeRecords(p.records)).filter((x) => x.offset >= offset);
    records.push(...got);
    if (got.length === 0) break;
    offset = got[got.length - 1].offset + 1;
    if (offset >= highWatermark) break;
  }
  c.close();
  return { records, highWatermark };
}
