// Rows → Arrow columns → Parquet: the statistics manifests carry (value,
// null and NaN counts, truncated bounds in single-value encoding) and a file
// DuckDB reads back with the same values and an Iceberg field id per column.
import { isUtf8 } from 'node:buffer';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PrimitiveColumn, RowColumns, type ColumnStats } from '../../../src/table/convert/columns.js';
import { writeParquet } from '../../../src/table/convert/parquet.js';
import type { StructType } from '../../../src/table/iceberg/types.js';
import { duckRows, parquetChunkSizes, parquetEncodings, parquetFieldIds } from '../../helpers/iceberg.js';
import { seededRandom } from '../../helpers/random.js';

const schema: StructType = {
  type: 'struct',
  fields: [
    { id: 1, name: 'name', required: false, type: 'string' },
    { id: 2, name: 'score', required: false, type: 'double' },
    { id: 3, name: 'tags', required: false, type: { type: 'list', 'element-id': 5, element: 'int', 'element-required': false } },
    { id: 4, name: 'at', required: false, type: { type: 'struct', fields: [{ id: 6, name: 'day', required: false, type: 'date' }] } },
    { id: 7, name: 'seq', required: false, type: 'long' },
  ],
};

const long = 'abcdefghijklmnopqrstuvwxyz';
const rows = [
  { name: long, score: 1.5, tags: [3, null, 9], at: { day: 19_700 }, seq: 2 ** 40 },
  { name: 'b', score: Number.NaN, tags: [], at: { day: null }, seq: -3 },
  { name: null, score: -2, tags: null, at: null, seq: 5n },
];

const dir = mkdtempSync(join(tmpdir(), 'floe-columns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RowColumns', () => {
  test('statistics: counts per leaf id, NaN counted apart and kept out of the bounds, string bounds truncated to 16 characters', () => {
    const cols = new RowColumns(schema);
    for (const r of rows) cols.push(r);
    const s = cols.stats();
    expect(Object.fromEntries(s.valueCounts)).toEqual({ 1: 3, 2: 3, 5: 3, 6: 3, 7: 3 });
    expect(Object.fromEntries(s.nullValueCounts)).toEqual({ 1: 1, 2: 0, 5: 1, 6: 2, 7: 0 });
    expect(Object.fromEntries(s.nanValueCounts)).toEqual({ 2: 1 });
    expect(s.lowerBounds.get(1)!.toString()).toBe(long.slice(0, 16));
    // The upper bound of a truncated string is its prefix with the last character incremented, so it still bounds.
    expect(s.upperBounds.get(1)!.toString()).toBe('b');
    expect(s.lowerBounds.get(2)!.readDoubleLE()).toBe(-2);
    expect(s.upperBounds.get(2)!.readDoubleLE()).toBe(1.5);
    // No bounds inside lists and maps, as Iceberg's Parquet metrics leave them out: a bound there says nothing of a row.
    expect(s.lowerBounds.has(5)).toBe(false);
    expect(s.upperBounds.has(5)).toBe(false);
    expect(s.lowerBounds.get(6)!.readInt32LE()).toBe(19_700);
    // Longs arrive as numbers (as avsc decodes them) or bigints; bounds compare across both.
    expect(s.lowerBounds.get(7)!.readBigInt64LE()).toBe(-3n);
    expect(s.upperBounds.get(7)!.readBigInt64LE()).toBe(2n ** 40n);
  });

  test('bytes bounds are the unsigned byte-order minimum and maximum, whatever prefixes the values share', () => {
    const random = seededRandom(11).int;
    // Few byte values, so values share long prefixes and differ where a word and a byte comparison could disagree.
    const alphabet = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
    for (let trial = 0; trial < 200; trial++) {
      const column = new PrimitiveColumn('binary', 1);
      // Up to 48 bytes: bounds are copied by hand up to 32 and with set() past that.
      const values = Array.from({ length: 1 + random(40) }, () => Buffer.from(Array.from({ length: random(49) }, () => alphabet[random(alphabet.length)])));
      const src = Buffer.concat(values);
      const words = trial % 2 === 0 ? new DataView(src.buffer, src.byteOffset, src.length) : null;
      let at = 0;
      for (const v of values) {
        column.pushSlice(src, at, at + v.length, false, words);
        at += v.length;
      }
      const sorted = [...values].sort(Buffer.compare);
      const out = new Map<number, ColumnStats>();
      column.collectStats(out, true);
      // Iceberg's truncate(16): the lower bound's prefix; the upper bound's prefix with its last byte below 0xff incremented (none if all are 0xff).
      const max = sorted[sorted.length - 1];
      let upper: Buffer | null = max;
      if (max.length > 16) {
        const last = [...max.subarray(0, 16)].findLastIndex((b) => b !== 0xff);
        upper = last < 0 ? null : Buffer.concat([max.subarray(0, last), Buffer.from([max[last] + 1])]);
      }
      expect(Buffer.from(out.get(1)!.lower as Uint8Array).toString('hex'), `trial ${trial}`).toBe(sorted[0].subarray(0, 16).toString('hex'));
      expect(out.get(1)!.upper === null ? null : Buffer.from(out.get(1)!.upper as Uint8Array).toString('hex'), `trial ${trial}`).toBe(upper?.toString('hex') ?? null);
    }
  });

  test('a string pushed as bytes is refused exactly when it is not UTF-8, and taken with replacement characters when lossy', () => {
    const random = seededRandom(5).int;
    // Lead bytes, continuation bytes and the edges of overlongs, surrogates and U+10FFFF, in short and long values.
    const alphabet = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
    let refused = 0;
    const column = new PrimitiveColumn('string', 1);
    const filler = Buffer.from('é'.repeat(40));
    for (let trial = 0; trial < 20_000; trial++) {
      const bytes = Buffer.from(Array.from({ length: 1 + random(trial % 10 === 0 ? 60 : 6) }, () => alphabet[random(alphabet.length)]));
      // Continuation bytes left behind past the value (reset keeps the buffer) must not complete a sequence cut short.
      column.reset();
      column.pushSlice(filler, 0, filler.length);
      column.reset();
      // Every other value through the 4-bytes-at-a-time copy (a view of a pooled buffer, so not at offset 0).
      const words = trial % 2 === 0 ? new DataView(bytes.buffer, bytes.byteOffset, bytes.length) : null;
      if (isUtf8(bytes)) column.pushSlice(bytes, 0, bytes.length, false, words);
      else {
        refused++;
        expect(() => column.pushSlice(bytes, 0, bytes.length, false, words), bytes.toString('hex')).toThrow('not valid UTF-8');
        column.pushSlice(bytes, 0, bytes.length, true, words);
      }
      expect(column.length, bytes.toString('hex')).toBe(1);
      if (isUtf8(bytes)) expect(Buffer.from(column.finish().values as Uint8Array).equals(bytes), bytes.toString('hex')).toBe(true);
    }
    expect(refused).toBeGreaterThan(1000);
  });

  test('a Parquet file DuckDB reads back with the same values and an Iceberg field id on every column', async () => {
    const cols = new RowColumns(schema);
    for (const r of rows) cols.push(r);
    const { bytes, columnSizes, splitOffsets } = await writeParquet(cols);
    const file = join(dir, 'rows.parquet');
    writeFileSync(file, bytes);
    expect([...columnSizes.keys()].sort()).toEqual([1, 2, 5, 6, 7]);
    // The sizes read from the footer, as an independent reader (DuckDB) reads them, leaf by leaf.
    expect([1, 2, 5, 6, 7].map((id) => columnSizes.get(id))).toEqual(await parquetChunkSizes(file));
    expect(splitOffsets).toEqual([4]);
    expect(await duckRows([file], 'name, score::VARCHAR AS score, tags, "at".day::VARCHAR AS day, seq', 'score')).toEqual([
      { name: null, score: '-2.0', tags: null, day: null, seq: '5' },
      { name: long, score: '1.5', tags: [3, null, 9], day: '2023-12-09', seq: String(2 ** 40) },
      { name: 'b', score: 'nan', tags: [], day: null, seq: '-3' },
    ]);
    const ids = Object.fromEntries((await parquetFieldIds(file)).map((c) => [c.name, c.fieldId]));
    expect(ids).toMatchObject({ name: 1, score: 2, tags: 3, element: 5, at: 4, day: 6, seq: 7 });
  });

  test('Parquet dictionaries only for top-level strings and binaries whose values repeat', async () => {
    const dictSchema: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'status', required: false, type: 'string' },
        { id: 2, name: 'order_id', required: false, type: 'string' },
        { id: 3, name: 'payload', required: false, type: 'binary' },
        { id: 4, name: 'address', required: false, type: { type: 'struct', fields: [{ id: 5, name: 'country', required: false, type: 'string' }] } },
        { id: 6, name: 'sku', required: false, type: 'string' },
      ],
    };
    const cols = new RowColumns(dictSchema);
    const payloads = Array.from({ length: 50 }, (_, i) => Buffer.alloc(100, i));
    // Nulls do not count as repeats: a mostly-null unique column stays plain.
    // Unique values of one length are not repeats either (values are told apart by their bytes).
    for (let i = 0; i < 5000; i++) {
      const sku = `sku-${String(i).padStart(5, '0')}`;
      cols.push({ status: ['new', 'paid', 'shipped'][i % 3], order_id: i % 2 === 0 ? null : `order-${i}`, payload: payloads[i % 50], address: { country: 'FR' }, sku });
    }
    expect(cols.repeatingColumns()).toEqual(['status', 'payload']);
    const file = join(dir, 'dictionaries.parquet');
    writeFileSync(file, (await writeParquet(cols)).bytes);
    const encodings = Object.fromEntries((await parquetEncodings(file)).map((c) => [c.path, c.encodings]));
    expect(encodings.status).toContain('RLE_DICTIONARY');
    expect(encodings.payload).toContain('RLE_DICTIONARY');
    expect(encodings.order_id).not.toContain('DICTIONARY');
    expect(encodings.sku).not.toContain('DICTIONARY');
    expect(encodings['address, country'] ?? encodings['address.country']).not.toContain('DICTIONARY');
    const rows = await duckRows([file], 'status, order_id, hex(payload) AS payload, address.country AS country', 'order_id');
    expect(rows.length).toBe(5000);
    expect(rows.find((r) => r.order_id === 'order-7')).toEqual({ status: 'paid', order_id: 'order-7', payload: Buffer.alloc(100, 7).toString('hex').toUpperCase(), country: 'FR' });
  });
});
