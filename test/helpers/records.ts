// Decodes what a broker returned (a run of record batches) into records, the
// way a consumer would: decompress, then read each record.
import { BATCH_HEADER_SIZE, compressionOf, readBatchHeader, splitBatches } from '../../src/protocol/records/batch.js';
import { decompress } from '../../src/protocol/records/compression.js';
import { decodeRecords } from '../../src/protocol/records/record.js';

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
