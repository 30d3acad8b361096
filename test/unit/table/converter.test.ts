// PartitionConverter on its own: Confluent-framed Avro in record batches,
// Parquet out, read back by DuckDB. Covers optional values and records, a
// wider union as a tagged struct, a map, fields the writer lacks, non-ASCII
// and long strings (and their bounds), files cut at the target size, the
// string layout, and which records are dead letters: bad payloads, schemas
// the table cannot take, and records already in the table.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, expect, test } from 'vitest';
import { Compression } from '../../../src/protocol/records/batch.js';
import { buildBatch } from '../../../src/protocol/records/builder.js';
import { avroToIceberg } from '../../../src/table/convert/avro-schema.js';
import { PartitionConverter } from '../../../src/table/convert/converter.js';
import { rawSchema, schemaLayout, type Layout } from '../../../src/table/convert/layout.js';
import { PARTITION_FIELD_ID_START } from '../../../src/table/iceberg/metadata.js';
import { partitionSpecFor } from '../../../src/table/partition-by.js';
import { fieldByPath, type MapType } from '../../../src/table/iceberg/types.js';
import { converterOptions, flushToFile, flushToFiles } from '../../helpers/converter.js';
import { duckRows } from '../../helpers/iceberg.js';

const dir = mkdtempSync(join(tmpdir(), 'floe-converter-'));

const options = converterOptions;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const writer = {
  type: 'record',
  name: 'Event',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'who', type: ['null', { type: 'record', name: 'Who', fields: [{ name: 'id', type: 'int' }, { name: 'nick', type: ['null', 'string'], default: null }] }], default: null },
    { name: 'payload', type: ['int', 'string', 'null'] },
    { name: 'counts', type: { type: 'map', values: 'long' } },
    { name: 'dropped', type: 'string' },
  ],
};
// The table knows a field this writer lacks (`extra`) and lacks one it has (`dropped`).
const tableValue = { ...writer, fields: [...writer.fields.slice(0, 4), { name: 'extra', type: ['null', 'double'], default: null }] };

const long = 'ü'.repeat(40) + 'x'.repeat(40);
const values = [
  { name: 'plain', who: { id: 1, nick: null }, payload: 7, counts: { a: 1 }, dropped: 'd' },
  { name: 'Ünïcødé ✓', who: null, payload: 'text', counts: {}, dropped: 'd' },
  { name: long, who: { id: 3, nick: 'cat 🐈' }, payload: null, counts: { b: 2, c: 3 }, dropped: 'd' },
];

test('Avro values become rows: pass-through records and optionals, tagged unions, maps, missing fields as null, UTF-8 strings and bounds; bad payloads are dead letters', async () => {
  const type = avro.Type.forSchema(writer as avro.Schema);
  const frame = (v: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, 9]), type.toBuffer(v)]);
  const batch = await buildBatch(
    [...values.map((v) => ({ key: 'k', value: frame(v) })), { key: 'bad', value: Buffer.from([0, 0, 0, 0, 9, 0xff, 0xff]) }],
    { baseOffset: 0 },
  );
  const layout: Layout = { valueType: 'by_schema_id', keyType: 'string', flatten: true };
  const tableSchema = { ...schemaLayout(avroToIceberg(JSON.stringify(tableValue)).struct, layout), 'schema-id': 0 };
  const converter = new PartitionConverter(options(layout, tableSchema, { errorsTolerance: 'all' }));
  const first = await converter.append([batch]);
  expect(first).toMatchObject({ status: 'need-schemas', ids: [9] });
  converter.addSchemas(new Map([[9, { schemaType: 'AVRO', schema: JSON.stringify(writer), references: [] }]]));
  expect(await converter.append([batch])).toMatchObject({ status: 'ok', nextOffset: 4 });
  const files = await converter.flush();
  const table = files.find((f) => !f.dlq)!;
  const dlq = files.find((f) => f.dlq)!;
  expect(table.recordCount).toBe(3);
  expect(dlq.recordCount).toBe(1);

  const path = join(dir, 'events.parquet');
  writeFileSync(path, table.bytes);
  expect(await duckRows([path], 'name, who, payload, map_entries(counts) AS counts, extra, _kafka_metadata.offset AS o', 'o')).toEqual([
    { name: 'plain', who: { id: 1, nick: null }, payload: { tag: 0, field0: 7, field1: null }, counts: [{ key: 'a', value: '1' }], extra: null, o: '0' },
    { name: 'Ünïcødé ✓', who: null, payload: { tag: 1, field0: null, field1: 'text' }, counts: [], extra: null, o: '1' },
    { name: long, who: { id: 3, nick: 'cat 🐈' }, payload: null, counts: [{ key: 'b', value: '2' }, { key: 'c', value: '3' }], extra: null, o: '2' },
  ]);
  // Bounds of `name` by UTF-8 bytes: 'plain' < 'Ünïcødé ✓' ('Ü' is 0xC3 0x9C) < 'üü…' (0xC3 0xBC), the upper one truncated to 16 characters and incremented.
  const nameId = tableSchema.fields.find((f) => f.name === 'name')!.id;
  expect(table.lowerBounds.get(nameId)!.toString()).toBe('plain');
  expect(table.upperBounds.get(nameId)!.toString()).toBe('ü'.repeat(15) + 'ý');
  expect(table.nullValueCounts.get(tableSchema.fields.find((f) => f.name === 'extra')!.id)).toBe(3);
});

test("a session's next file holds only its own rows, counts and bounds (the emptied columns of the last file are reused)", async () => {
  const type = avro.Type.forSchema(writer as avro.Schema);
  const frame = (v: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, 9]), type.toBuffer(v)]);
  const layout: Layout = { valueType: 'by_schema_id', keyType: 'string', flatten: true };
  const tableSchema = { ...schemaLayout(avroToIceberg(JSON.stringify(tableValue)).struct, layout), 'schema-id': 0 };
  const converter = new PartitionConverter(options(layout, tableSchema));
  converter.addSchemas(new Map([[9, { schemaType: 'AVRO', schema: JSON.stringify(writer), references: [] }]]));
  const id = (name: string) => tableSchema.fields.find((f) => f.name === name)!.id;
  const whoId = fieldByPath(tableSchema, 'who.id')!.id;
  const later = [
    { name: 'b1', who: { id: 8, nick: 'x' }, payload: 5, counts: { z: 9 }, dropped: 'd' },
    { name: 'b2', who: { id: 9, nick: 'y' }, payload: 6, counts: {}, dropped: 'd' },
  ];
  expect(await converter.append([await buildBatch(values.map((v) => ({ key: 'k', value: frame(v) })), { baseOffset: 0 })])).toMatchObject({ status: 'ok', nextOffset: 3 });
  const { file: first } = await flushToFile(converter, dir, 'reuse-1');
  expect(first.recordCount).toBe(3);
  expect(first.nullValueCounts.get(whoId)).toBe(1);
  expect(await converter.append([await buildBatch(later.map((v) => ({ key: 'k', value: frame(v) })), { baseOffset: 3 })])).toMatchObject({ status: 'ok', nextOffset: 5 });
  const { path, file } = await flushToFile(converter, dir, 'reuse-2');
  expect(await duckRows([path], 'name, who, payload.field0 AS n, map_entries(counts) AS counts, _kafka_metadata.offset AS o', 'o')).toEqual([
    { name: 'b1', who: { id: 8, nick: 'x' }, n: 5, counts: [{ key: 'z', value: '9' }], o: '3' },
    { name: 'b2', who: { id: 9, nick: 'y' }, n: 6, counts: [], o: '4' },
  ]);
  expect(file.recordCount).toBe(2);
  expect(file.nullValueCounts.get(whoId)).toBe(0);
  expect(file.nullValueCounts.get(id('extra'))).toBe(2);
  expect(file.lowerBounds.get(id('name'))!.toString()).toBe('b1');
  expect(file.upperBounds.get(id('name'))!.toString()).toBe('b2');
  // A struct's and a map's leaf columns count this file's values only.
  expect(file.valueCounts.get(whoId)).toBe(2);
  expect(file.lowerBounds.get(whoId)!.readInt32LE(0)).toBe(8);
  const countsKeyId = (fieldByPath(tableSchema, 'counts')!.type as MapType)['key-id'];
  expect(file.valueCounts.get(countsKeyId)).toBe(1);
});

test('files are cut at the target size: every record in exactly one file, none far past the target', async () => {
  const layout: Layout = { valueType: 'raw', keyType: 'string', flatten: false };
  const converter = new PartitionConverter(options(layout, rawSchema(layout), { partition: 3, targetFileBytes: 64 * 1024 }));
  const batches = await Promise.all(
    Array.from({ length: 20 }, (_, b) => buildBatch(Array.from({ length: 100 }, (_, i) => ({ key: `k${b * 100 + i}`, value: Buffer.alloc(200, b * 100 + i) })), { baseOffset: b * 100 })),
  );
  const outcome = await converter.append(batches);
  expect(outcome).toMatchObject({ status: 'ok', nextOffset: 2000 });
  const files = [...outcome.files, ...(await converter.flush())];
  // 2,000 rows of about 210 bytes are about 420 KiB of values: cut into several files of about 64 KiB.
  expect(files.length).toBeGreaterThanOrEqual(6);
  expect(files.reduce((n, f) => n + f.recordCount, 0)).toBe(2000);
  const offsets: number[] = [];
  for (const [i, f] of files.entries()) {
    const path = join(dir, `cut-${i}.parquet`);
    writeFileSync(path, f.bytes);
    const rows = await duckRows([path], '_kafka_metadata.offset AS o, _kafka_metadata.partition AS p', 'o');
    expect(rows.every((r) => r.p === 3)).toBe(true);
    offsets.push(...rows.map((r) => Number(r.o)));
    // The size is checked every 64 rows: a file passes the target by less than 64 rows' worth.
    if (i < files.length - 1) expect(f.recordCount).toBeLessThanOrEqual(Math.ceil((64 * 1024) / 200) + 64);
  }
  expect(offsets.sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
});

test('logical and fixed types arrive as Iceberg stores them: time, timestamps, uuid, fixed, bytes, boolean, float', async () => {
  const schema = {
    type: 'record',
    name: 'Typed',
    fields: [
      { name: 't_ms', type: { type: 'int', logicalType: 'time-millis' } },
      { name: 't_us', type: { type: 'long', logicalType: 'time-micros' } },
      { name: 'ts_local', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
      { name: 'ts_utc_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
      { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
      { name: 'blob', type: 'bytes' },
      { name: 'ok', type: 'boolean' },
      { name: 'ratio', type: 'float' },
    ],
  };
  const type = avro.Type.forSchema(schema as avro.Schema);
  const value = {
    t_ms: 45_296_789, // 12:34:56.789
    t_us: 45_296_789_012,
    ts_local: 1_700_000_000_123_456,
    ts_utc_ms: 1_700_000_000_123,
    id: 'f79c3e09-677c-4bbd-a479-3f349cb785e7',
    hash: Buffer.from([1, 2, 3, 4]),
    blob: Buffer.from('blob'),
    ok: true,
    ratio: 0.5,
  };
  const batch = await buildBatch([{ key: 'k', value: Buffer.concat([Buffer.from([0, 0, 0, 0, 3]), type.toBuffer(value)]) }], { baseOffset: 0 });
  const layout: Layout = { valueType: 'by_schema_id', keyType: 'string', flatten: true };
  const tableSchema = { ...schemaLayout(avroToIceberg(JSON.stringify(schema)).struct, layout), 'schema-id': 0 };
  expect(tableSchema.fields.slice(0, 9).map((f) => f.type)).toEqual(['time', 'time', 'timestamp', 'timestamptz', 'uuid', 'fixed[4]', 'binary', 'boolean', 'float']);
  const converter = new PartitionConverter(options(layout, tableSchema, {}));
  converter.addSchemas(new Map([[3, { schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] }]]));
  expect(await converter.append([batch])).toMatchObject({ status: 'ok', nextOffset: 1 });
  const { path } = await flushToFile(converter, dir, 'typed');
  expect(
    await duckRows(
      [path],
      "t_ms::VARCHAR AS t_ms, t_us::VARCHAR AS t_us, epoch_us(ts_local) AS ts_local, epoch_ms(ts_utc_ms) AS ts_utc_ms, hex(id) AS id, hex(hash) AS hash, decode(blob) AS blob, ok, ratio",
      'ok',
    ),
  ).toEqual([{ t_ms: '12:34:56.789', t_us: '12:34:56.789012', ts_local: '1700000000123456', ts_utc_ms: '1700000000123', id: 'F79C3E09677C4BBDA4793F349CB785E7', hash: '01020304', blob: 'blob', ok: true, ratio: 0.5 }]);
});

test('the string layout: UTF-8 values as they are, invalid ones with replacement characters, tombstones null, headers kept', async () => {
  const layout: Layout = { valueType: 'string', keyType: 'raw', flatten: false };
  const converter = new PartitionConverter(options(layout, rawSchema(layout), {}));
  const batch = await buildBatch(
    [
      { key: Buffer.from([1, 2]), value: Buffer.from('héllo ✓'), headers: [{ key: 'h', value: Buffer.from('v') }] },
      { key: null, value: Buffer.from([0xff, 0x41]) },
      { key: Buffer.from('k'), value: null },
    ],
    { baseOffset: 10 },
  );
  expect(await converter.append([batch])).toMatchObject({ status: 'ok', nextOffset: 13 });
  const { path, file } = await flushToFile(converter, dir, 'strings');
  expect(await duckRows([path], "hex(_kafka_key) AS k, _kafka_value AS v, _kafka_header AS h, _kafka_metadata.offset AS o", 'o')).toEqual([
    { k: '0102', v: 'héllo ✓', h: [{ key: 'h', value: 'v' }], o: '10' },
    { k: null, v: '\uFFFDA', h: null, o: '11' },
    { k: '6B', v: null, h: null, o: '12' },
  ]);
  expect(file.nullValueCounts.get(rawSchema(layout).fields.find((f) => f.name === '_kafka_value')!.id)).toBe(1);
});

test('string keys: UTF-8 keys as they are, others with replacement characters, null keys null', async () => {
  const layout: Layout = { valueType: 'raw', keyType: 'string', flatten: false };
  const converter = new PartitionConverter(options(layout, rawSchema(layout), {}));
  const batch = await buildBatch(
    [
      { key: Buffer.from('clé ✓'), value: Buffer.from([1]) },
      { key: Buffer.from([0xff, 0x42]), value: Buffer.from([2]) },
      { key: null, value: Buffer.from([3]) },
      { key: Buffer.from(`long key ${'é'.repeat(40)}`), value: null },
    ],
    { baseOffset: 0 },
  );
  expect(await converter.append([batch])).toMatchObject({ status: 'ok', nextOffset: 4 });
  const { path } = await flushToFile(converter, dir, 'keys');
  expect(await duckRows([path], '_kafka_key AS k, hex(_kafka_value) AS v, _kafka_metadata.offset AS o', 'o')).toEqual([
    { k: 'clé ✓', v: '01', o: '0' },
    { k: '\uFFFDB', v: '02', o: '1' },
    { k: null, v: '03', o: '2' },
    { k: `long key ${'é'.repeat(40)}`, v: null, o: '3' },
  ]);
});

test('a batch in the log that cannot be decoded fails at the record that cannot be read, after converting the ones before it', async () => {
  const layout: Layout = { valueType: 'raw', keyType: 'raw', flatten: false };
  const converter = new PartitionConverter(options(layout, rawSchema(layout), {}));
  const batch = await buildBatch(['a', 'b', 'z'].map((v) => ({ key: null, value: Buffer.from(v) })), { baseOffset: 20 });
  batch[batch.length - 1] = 0x01; // the last record's header count, zig-zag -1
  expect(await converter.append([batch])).toMatchObject({ status: 'failed', offset: 22, nextOffset: 22, error: expect.stringContaining('invalid header count -1') });
  const { path } = await flushToFile(converter, dir, 'undecodable');
  expect(await duckRows([path], 'decode(_kafka_value) AS v, _kafka_metadata.offset AS o', 'o')).toEqual([
    { v: 'a', o: '20' },
    { v: 'b', o: '21' },
  ]);
});

test('records already in the table are checked the way they would be converted: only those that would fail go to the dead-letter table', async () => {
  const schema = { type: 'record', name: 'Small', fields: [{ name: 's', type: 'string' }, { name: 'n', type: 'long' }] };
  const layout: Layout = { valueType: 'by_schema_id', keyType: 'string', flatten: true };
  const tableSchema = { ...schemaLayout(avroToIceberg(JSON.stringify(schema)).struct, layout), 'schema-id': 0 };
  // Offsets 0 and 1 are in the table already (startOffset 2); the dead-letter table has nothing yet (dlqStartOffset 0).
  const converter = new PartitionConverter(options(layout, tableSchema, { errorsTolerance: 'all', startOffset: 2, dlqStartOffset: 0 }));
  converter.addSchemas(new Map([[4, { schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] }]]));
  const frame = (...bytes: number[]) => Buffer.from([0, 0, 0, 0, 4, ...bytes]);
  const batch = await buildBatch(
    [
      { key: 'a', value: frame(0x04, 0xc3, 0x28, 0x02) }, // s is not UTF-8: a dead letter
      { key: 'b', value: frame(0x04, 0x6f, 0x6b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10) }, // n = 2^60: fine, so not a dead letter
      { key: 'c', value: frame(0x04, 0x6e, 0x77, 0x0a) }, // s = "nw", n = 5
    ],
    { baseOffset: 0 },
  );
  expect(await converter.append([batch])).toMatchObject({ status: 'ok', nextOffset: 3 });
  const { table: tablePath, dlq: dlqPath } = await flushToFiles(converter, dir, 'checked');
  expect(await duckRows([tablePath], 's, n::VARCHAR AS n, _kafka_metadata.offset AS o', 'o')).toEqual([{ s: 'nw', n: '5', o: '2' }]);
  expect(await duckRows([dlqPath], '_kafka_metadata.offset AS o, _error AS e', 'o')).toEqual([{ o: '0', e: expect.stringContaining('UTF-8') }]);
});

test('a writer schema the table cannot take makes dead letters, not rows without its fields', async () => {
  const v1 = { type: 'record', name: 'Node', fields: [{ name: 's', type: 'string' }] };
  const recursive = { ...v1, fields: [...v1.fields, { name: 'next', type: ['null', 'Node'], default: null }] };
  const empty = { ...v1, fields: [...v1.fields, { name: 'e', type: { type: 'record', name: 'Nothing', fields: [] } }] };
  const layout: Layout = { valueType: 'by_schema_id', keyType: 'string', flatten: true };
  const tableSchema = { ...schemaLayout(avroToIceberg(JSON.stringify(v1)).struct, layout), 'schema-id': 0 };
  const converter = new PartitionConverter(options(layout, tableSchema, { errorsTolerance: 'all' }));
  converter.addSchemas(
    new Map([
      [1, { schemaType: 'AVRO', schema: JSON.stringify(v1), references: [] }],
      [2, { schemaType: 'AVRO', schema: JSON.stringify(recursive), references: [] }],
      [3, { schemaType: 'AVRO', schema: JSON.stringify(empty), references: [] }],
    ]),
  );
  const frame = (id: number, schema: unknown, v: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), avro.Type.forSchema(schema as avro.Schema).toBuffer(v)]);
  const batch = await buildBatch(
    [
      { key: 'a', value: frame(1, v1, { s: 'one' }) },
      { key: 'b', value: frame(2, recursive, { s: 'two', next: { s: 'three', next: null } }) },
      { key: 'c', value: frame(3, empty, { s: 'four', e: {} }) },
    ],
    { baseOffset: 0 },
  );
  expect(await converter.append([batch])).toMatchObject({ status: 'ok', nextOffset: 3 });
  const { table: tablePath, dlq: dlqPath } = await flushToFiles(converter, dir, 'refused');
  expect(await duckRows([tablePath], 's', 's')).toEqual([{ s: 'one' }]);
  expect(await duckRows([dlqPath], '_kafka_metadata.offset AS o, _schema_id AS id, _error AS e', 'o')).toEqual([
    { o: '1', id: 2, e: expect.stringMatching(/recursive record Node/) },
    { o: '2', id: 3, e: expect.stringMatching(/e is a record with no fields/) },
  ]);
});

test('batches compressed with each of Kafka codecs convert to the same rows as uncompressed ones', async () => {
  const layout: Layout = { valueType: 'raw', keyType: 'string', flatten: false };
  const records = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(JSON.stringify({ i, status: ['NEW', 'PAID'][i % 2], note: 'x'.repeat(i % 50) })) }));
  const rowsFor = async (compression: number, name: string) => {
    const converter = new PartitionConverter(options(layout, rawSchema(layout)));
    const batches = [await buildBatch(records.slice(0, 120), { baseOffset: 0, compression }), await buildBatch(records.slice(120), { baseOffset: 120, compression })];
    expect(await converter.append(batches)).toMatchObject({ status: 'ok', nextOffset: 300 });
    const { path, file } = await flushToFile(converter, dir, name);
    expect(file.recordCount).toBe(300);
    return duckRows([path], "_kafka_key AS k, decode(_kafka_value) AS v, _kafka_metadata.offset AS o", 'o');
  };
  const plain = await rowsFor(Compression.NONE, 'codec-none');
  expect(plain[299]).toEqual({ k: 'k299', v: JSON.stringify({ i: 299, status: 'PAID', note: 'x'.repeat(49) }), o: '299' });
  for (const [codec, name] of [[Compression.GZIP, 'gzip'], [Compression.SNAPPY, 'snappy'], [Compression.LZ4, 'lz4'], [Compression.ZSTD, 'zstd']] as const) {
    expect([name, await rowsFor(codec, `codec-${name}`)]).toEqual([name, plain]);
  }
});

test("a partition value read from a zstd batch is still that batch's after the next batch is decoded", async () => {
  const layout: Layout = { valueType: 'raw', keyType: 'string', flatten: false };
  const schema = rawSchema(layout);
  // The raw value's bytes are the partition value, as a slice of the decoded batch.
  const spec = partitionSpecFor(schema, '[_kafka_value]', [], PARTITION_FIELD_ID_START - 1);
  const converter = new PartitionConverter(options(layout, schema, { spec }));
  // Same layout in both batches, so the values sit at the same place in each decoded payload.
  const batch = (value: string, base: number) => buildBatch(Array.from({ length: 50 }, () => ({ key: 'k', value: Buffer.from(value) })), { baseOffset: base, compression: Compression.ZSTD });
  expect(await converter.append([await batch('alpha', 0), await batch('bravo', 50)])).toMatchObject({ status: 'ok', nextOffset: 100 });
  const files = await converter.flush();
  expect(files.map((f) => [Buffer.from(f.partition._kafka_value as Uint8Array).toString(), f.recordCount]).sort()).toEqual([
    ['alpha', 50],
    ['bravo', 50],
  ]);
});
