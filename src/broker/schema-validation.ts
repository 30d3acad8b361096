// Broker-side schema validation (Confluent Server's
// confluent.key/value.schema.validation): a produced record's key or value
// must be in the schema registry wire format (magic byte 0, then a 4-byte
// schema id) with an id registered under the topic's subject (TopicNameStrategy:
// <topic>-key, <topic>-value). Only topics that turn it on pay for decoding
// their records; null keys and values (tombstones) pass, as in Confluent Server.

import { compressionOf, BATCH_HEADER_SIZE, type BatchHeader } from '../protocol/records/batch.js';
import { decompress } from '../protocol/records/compression.js';
import { decodeRecords } from '../protocol/records/record.js';
import type { RecordError } from '../protocol/records/validate.js';
import type { SchemaRegistry } from '../registry/schema-registry.js';

/** How long a subject's set of ids is trusted; an unknown id re-reads it at once (at most every MIN_REFRESH_MS). */
const CACHE_TTL_MS = 5000;
const MIN_REFRESH_MS = 100;
/** At most this many per-record messages go back in one response. */
const MAX_RECORD_ERRORS = 100;

interface CachedIds {
  ids: Set<number>;
  loadedAt: number;
}

export interface SchemaCheck {
  readonly key: boolean;
  readonly value: boolean;
}

export class SchemaIdValidator {
  private readonly cache = new Map<string, CachedIds>();

  constructor(private readonly registry: SchemaRegistry) {}

  private async isRegistered(subject: string, id: number): Promise<boolean> {
    const now = Date.now();
    let entry = this.cache.get(subject);
    const stale = entry === undefined || now - entry.loadedAt > CACHE_TTL_MS;
    const unknownButRefreshable = entry !== undefined && !entry.ids.has(id) && now - entry.loadedAt >= MIN_REFRESH_MS;
    if (stale || unknownButRefreshable) {
      entry = { ids: await this.registry.liveSchemaIds(subject), loadedAt: now };
      this.cache.set(subject, entry);
    }
    return entry?.ids.has(id) ?? false;
  }

  private async problem(field: 'key' | 'value', data: Buffer | null, subject: string): Promise<string | null> {
    if (data === null) return null;
    if (data.length < 5 || data[0] !== 0) return `${field} is not in the schema registry wire format (magic byte 0 and a 4-byte schema id)`;
    const id = data.readInt32BE(1);
    if (!(await this.isRegistered(subject, id))) return `${field} schema id ${id} is not registered under subject ${subject}`;
    return null;
  }

  /** Per-record errors for a valid batch (header already checked); empty when every record passes. */
  async check(topic: string, batch: Buffer, header: BatchHeader, what: SchemaCheck): Promise<RecordError[]> {
    let payload = batch.subarray(BATCH_HEADER_SIZE);
    const codec = compressionOf(header.attributes);
    if (codec !== 0) payload = await decompress(codec, payload);
    const records = decodeRecords(payload, header.recordCount);
    const errors: RecordError[] = [];
    for (let i = 0; i < records.length && errors.length < MAX_RECORD_ERRORS; i++) {
      const r = records[i];
      const problem = (what.key ? await this.problem('key', r.key, `${topic}-key`) : null) ?? (what.value ? await this.problem('value', r.value, `${topic}-value`) : null);
      if (problem !== null) errors.push({ batchIndex: i, message: `record ${i}: ${problem}` });
    }
    return errors;
  }
}
