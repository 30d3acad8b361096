// The records inside a batch read back as they were written: RecordCursor's
// fields and spans, and decodeRecords and scanRecords over it.
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/protocol/primitives.js';
import { decodeRecords, encodeRecords, RecordCursor, scanRecords } from '../../../src/protocol/records/record.js';
import { seededRandom } from '../../helpers/random.js';

// Seeded, so that a failure can be replayed.
const { int } = seededRandom(0x2545f491);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
/** Null, empty, short and (past one varint byte of length) long. */
const nullable = () => (int(5) === 0 ? null : bytes([0, 1, 5, 200][int(4)] + int(3)));

function randomRecords(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    offsetDelta: i,
    // Past 32 bits and negative: timestamp deltas are varlongs.
    timestampDelta: [0, 1, -1, 300, 2 ** 40 + 7, -(2 ** 35)][int(6)],
    key: nullable(),
    value: nullable(),
    headers: Array.from({ length: int(3) }, (_, h) => ({ key: `h${h}-é${'x'.repeat(int(4))}`, value: nullable() })),
  }));
}

describe('RecordCursor', () => {
  it('reads every field, key and value span and header of 200 random batches as written', () => {
    for (let b = 0; b < 200; b++) {
      const records = randomRecords(1 + int(20));
      // The payload sits inside a larger buffer, as it does inside a batch.
      const payload = encodeRecords(records);
      const buf = Buffer.concat([bytes(7), payload, bytes(3)]);
      const cursor = new RecordCursor(buf, records.length, 7, 7 + payload.length);
      for (const want of records) {
        expect(cursor.next()).toBe(true);
        expect([cursor.offsetDelta, cursor.timestampDelta, cursor.attributes]).toEqual([want.offsetDelta, want.timestampDelta, 0]);
        expect(cursor.keyLength).toBe(want.key === null ? -1 : want.key.length);
        expect(cursor.valueLength).toBe(want.value === null ? -1 : want.value.length);
        if (want.key !== null) expect(buf.subarray(cursor.keyStart, cursor.keyStart + cursor.keyLength)).toEqual(want.key);
        if (want.value !== null) expect(buf.subarray(cursor.valueStart, cursor.valueStart + cursor.valueLength)).toEqual(want.value);
        expect(cursor.headerCount).toBe(want.headers.length);
        expect(cursor.record()).toEqual({ attributes: 0, offsetDelta: want.offsetDelta, timestampDelta: want.timestampDelta, key: want.key, value: want.value, headers: want.headers });
      }
      expect(cursor.next()).toBe(false);
      expect(decodeRecords(payload, records.length)).toEqual(records.map((r) => ({ attributes: 0, ...r })));
      const seen: number[][] = [];
      scanRecords(buf, 7, 7 + payload.length, records.length, (offsetDelta, timestampDelta, index) => seen.push([offsetDelta, timestampDelta, index]));
      expect(seen).toEqual(records.map((r, i) => [r.offsetDelta, r.timestampDelta, i]));
    }
  });

  it('refuses a count the bytes cannot hold, a record cut short, bytes left inside a record and after the last', () => {
    const payload = encodeRecords(randomRecords(3));
    expect(() => new RecordCursor(payload, payload.length + 1)).toThrow(DecodeError);
    const short = new RecordCursor(payload, 4);
    for (let i = 0; i < 3; i++) expect(short.next()).toBe(true);
    expect(() => short.next()).toThrow(/truncated/);
    const extra = new RecordCursor(Buffer.concat([payload, Buffer.from([0])]), 3);
    for (let i = 0; i < 3; i++) expect(extra.next()).toBe(true);
    expect(() => extra.next()).toThrow('1 bytes left after 3 records');
    // One record whose length says one byte more than its fields take.
    const one = encodeRecords([{ offsetDelta: 0, timestampDelta: 0, key: null, value: Buffer.from('v') }]);
    const padded = Buffer.concat([Buffer.from([(one[0] + 2) & 0xff]), one.subarray(1), Buffer.from([0])]);
    expect(() => new RecordCursor(padded, 1).next()).toThrow(/expected \d+ bytes of record payload/);
  });
});
