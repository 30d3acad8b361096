// Avro decoded straight into columns (avro-decode.ts), unpartitioned and
// partitioned (partition values read ahead from the bytes), checked against
// a reference built in the test from avsc's decoding: the same values of
// every Avro type must come back from DuckDB as the same rows, each in the
// file of its partition. Then hostile payloads: every truncation and random
// corruption of a value is a dead letter, never a crash, and never shifts
// the good rows around it; longs past 2^53 keep every digit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, expect, test } from 'vitest';
import { buildBatch } from '../../../src/protocol/records/builder.js';
import { avroToIceberg } from '../../../src/table/convert/avro-schema.js';
import { avroType, compileStructReader, decodeAvro } from '../../../src/table/convert/avro-values.js';
import { RowColumns } from '../../../src/table/convert/columns.js';
import { type ConverterOptions, PartitionConverter, type WrittenFile } from '../../../src/table/convert/converter.js';
import { writeParquet } from '../../../src/table/convert/parquet.js';
import { schemaLayout, type Layout } from '../../../src/table/convert/layout.js';
import type { PartitionSpec } from '../../../src/table/iceberg/metadata.js';
import { applyTransform, parseTransformName } from '../../../src/table/iceberg/transforms.js';
import type { IcebergSchema, StructType } from '../../../src/table/iceberg/types.js';
import { converterOptions, flushToFiles } from '../../helpers/converter.js';
import { duckRows } from '../../helpers/iceberg.js';

const dir = mkdtempSync(join(tmpdir(), 'floe-avro-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCHEMA = {
  type: 'record',
  name: 'Everything',
  namespace: 'test',
  fields: [
    { name: 'b', type: 'boolean' },
    { name: 'i', type: 'int' },
    { name: 'l', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 's', type: 'string' },
    { name: 'by', type: 'bytes' },
    { name: 'fx', type: { type: 'fixed', name: 'Three', size: 3 } },
    { name: 'e', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN', 'BLUE'] } },
    { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 20, scale: 2 } },
    { name: 'decf', type: { type: 'fixed', name: 'Dec6', size: 6, logicalType: 'decimal', precision: 12, scale: 3 } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'tms', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'tus', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'tsm', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'tsu', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'lts', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'opt', type: ['null', 'string'], default: null },
    { name: 'rec', type: ['null', { type: 'record', name: 'Inner', fields: [{ name: 'a', type: 'int' }, { name: 'z', type: ['null', 'double'], default: null }] }], default: null },
    { name: 'arr', type: { type: 'array', items: { type: 'record', name: 'Pair', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'long' }] } } },
    { name: 'arrn', type: { type: 'array', items: ['null', 'int'] } },
    { name: 'm', type: { type: 'map', values: ['null', 'string'] } },
    { name: 'u', type: ['int', 'string', 'null'] },
    { name: 'one', type: ['string'] },
    { name: 'deep', type: { type: 'record', name: 'Deep', fields: [{ name: 'x', type: { type: 'record', name: 'Deeper', fields: [{ name: 'y', type: 'string' }] } }] } },
  ],
};

// Encoded without logical types: values are given as Avro stores them.
const type = avro.Type.forSchema(SCHEMA as avro.Schema, { wrapUnions: false });
const SCHEMA_ID = 12;
const frame = (payload: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, SCHEMA_ID]), payload]);

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const WORDS = ['', 'a', 'Lyon', 'Ünïcødé ✓', 'cat 🐈', 'x'.repeat(40), 'ü'.repeat(20)];

function value(r: () => number, i: number) {
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const hex = bytes(16).toString('hex');
  return {
    b: r() < 0.5,
    i: int(2 ** 32) - 2 ** 31,
    l: int(2 ** 53) - 2 ** 52,
    f: Math.fround(r() * 1000 - 500),
    d: pick([r() * 1e6, -0.5, Number.NaN, 1e300]),
    s: pick(WORDS) + i,
    by: bytes(int(40)),
    fx: bytes(3),
    e: pick(['RED', 'GREEN', 'BLUE']),
    dec: bytes(1 + int(9)),
    decf: bytes(6),
    day: int(40_000) - 20_000,
    tms: int(86_400_000),
    tus: int(86_400_000) * 1000,
    tsm: 1_700_000_000_000 + int(1e9),
    tsu: 1_700_000_000_000_000 + int(1e12),
    lts: 1_600_000_000_000 + int(1e9),
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    opt: r() < 0.3 ? null : pick(WORDS),
    rec: r() < 0.3 ? null : { a: int(100), z: r() < 0.5 ? null : r() },
    arr: Array.from({ length: int(4) }, (_, k) => ({ k: pick(WORDS) + k, v: int(2 ** 40) })),
    arrn: Array.from({ length: int(4) }, () => (r() < 0.3 ? null : int(1000))),
    m: Object.fromEntries(Array.from({ length: int(3) }, (_, k) => [`k${k}${pick(WORDS)}`, r() < 0.3 ? null : pick(WORDS)])),
    u: pick([null, int(1000), pick(WORDS)]),
    one: pick(WORDS),
    deep: { x: { y: pick(WORDS) } },
  };
}

const layout: Layout = { valueType: 'by_schema_id', keyType: 'string', flatten: true };

/** A session's options: unpartitioned, from offset 0, every bad record a dead letter. */
const baseOptions = (table: IcebergSchema): ConverterOptions => converterOptions(layout, table, { errorsTolerance: 'all', targetFileBytes: 64 << 20 });
const tableSchema: IcebergSchema = { ...schemaLayout(avroToIceberg(JSON.stringify(SCHEMA)).struct, layout), 'schema-id': 0 };
const UNPARTITIONED: PartitionSpec = { 'spec-id': 0, fields: [] };

function converter(spec: PartitionSpec): PartitionConverter {
  const c = new PartitionConverter({ ...baseOptions(tableSchema), spec });
  c.addSchemas(new Map([[SCHEMA_ID, { schemaType: 'AVRO', schema: JSON.stringify(SCHEMA), references: [] }]]));
  return c;
}

async function convert(spec: PartitionSpec, values: readonly Buffer[]): Promise<{ table: string[]; dlq: string[]; files: WrittenFile[] }> {
  const c = converter(spec);
  const batch = await buildBatch(
    values.map((v, i) => ({ key: `k${i}`, value: v, timestamp: 1_700_000_000_000 + i })),
    { baseOffset: 0 },
  );
  const outcome = await c.append([batch]);
  expect(outcome.status).toBe('ok');
  const files = [...outcome.files, ...(await c.flush())];
  const write = (f: WrittenFile, i: number) => {
    const path = join(dir, `${spec.fields.length}-${i}-${f.dlq ? 'dlq' : 'table'}.parquet`);
    writeFileSync(path, f.bytes);
    return path;
  };
  return { table: files.flatMap((f, i) => (f.dlq ? [] : [write(f, i)])), dlq: files.flatMap((f, i) => (f.dlq ? [write(f, i)] : [])), files };
}

const ALL = "* EXCLUDE (d, f, lts), d::VARCHAR AS d, f::VARCHAR AS f, epoch_ms(lts) AS lts, _kafka_metadata.offset AS o";

/** The same rows the way avsc decodes them, mapped by compileStructReader and pushed as objects: the reference. */
async function reference(values: readonly Buffer[]): Promise<{ path: string; stats: ReturnType<RowColumns['stats']> }> {
  const writer = avroType(JSON.stringify(SCHEMA), []);
  const read = compileStructReader(writer, { type: 'struct', fields: tableSchema.fields.filter((f) => !f.name.startsWith('_kafka_')) });
  const cols = new RowColumns(tableSchema);
  values.forEach((v, i) =>
    cols.push({ ...read(decodeAvro(writer, v.subarray(5))), _kafka_key: `k${i}`, _kafka_header: null, _kafka_metadata: { partition: 0, offset: i, timestamp: (1_700_000_000_000 + i) * 1000 } }),
  );
  const stats = cols.stats();
  const path = join(dir, 'reference.parquet');
  writeFileSync(path, (await writeParquet(cols)).bytes);
  return { path, stats };
}

test('every Avro type decoded into columns reads back as avsc decodes it, unpartitioned and partitioned', async () => {
  const r = rng(7);
  const values = Array.from({ length: 400 }, (_, i) => frame(type.toBuffer(value(r, i))));
  const ref = await reference(values);
  const expected = await duckRows([ref.path], ALL, 'o');
  expect(expected).toHaveLength(400);
  /** The id of a column by its path. */
  const field = (...path: string[]): number => {
    let fields = tableSchema.fields;
    let id = -1;
    for (const name of path) {
      const f = fields.find((x) => x.name === name)!;
      id = f.id;
      fields = (f.type as StructType).fields;
    }
    return id;
  };
  const specs: PartitionSpec[] = [
    UNPARTITIONED,
    // Source values read ahead of the row: a long after six other fields, a nested optional record's field, the Kafka timestamp.
    {
      'spec-id': 1,
      fields: [
        { 'source-id': field('l'), 'field-id': 1000, name: 'l_bucket', transform: 'bucket[2]' },
        { 'source-id': field('rec', 'a'), 'field-id': 1001, name: 'rec_a', transform: 'truncate[50]' },
        { 'source-id': field('_kafka_metadata', 'timestamp'), 'field-id': 1002, name: 'ts_day', transform: 'day' },
      ],
    },
    // A source inside a wider union cannot be read ahead: those rows go through objects.
    { 'spec-id': 2, fields: [{ 'source-id': field('u', 'field0'), 'field-id': 1000, name: 'u_int', transform: 'truncate[500]' }] },
  ];
  for (const spec of specs) {
    const out = await convert(spec, values);
    expect(out.dlq).toEqual([]);
    expect(await duckRows(out.table, ALL, 'o')).toEqual(expected);
    const sum = (pick: (f: WrittenFile) => ReadonlyMap<number, number>) => {
      const m = new Map<number, number>();
      for (const f of out.files) for (const [id, n] of pick(f)) m.set(id, (m.get(id) ?? 0) + n);
      return m;
    };
    expect(sum((f) => f.valueCounts)).toEqual(ref.stats.valueCounts);
    expect(sum((f) => f.nullValueCounts)).toEqual(ref.stats.nullValueCounts);
    if (spec.fields.length > 0) expect(out.table.length).toBeGreaterThan(1);
    // Every row is in the file of its own partition tuple.
    const tableFiles = out.files.filter((f) => !f.dlq);
    for (const [i, path] of out.table.entries()) {
      const tuple = tableFiles[i].partition;
      const rows = await duckRows([path], 'l::VARCHAR AS l, rec.a AS a, _kafka_metadata.timestamp AS ts, epoch_us(_kafka_metadata.timestamp) AS us, u.field0 AS u0', 'us');
      for (const row of rows) {
        const actual: Record<string, unknown> = {};
        for (const f of spec.fields) {
          const t = parseTransformName(f.transform);
          if (f.name === 'l_bucket') actual[f.name] = applyTransform(t, 'long', BigInt(row.l as string));
          if (f.name === 'rec_a') actual[f.name] = applyTransform(t, 'int', row.a);
          if (f.name === 'ts_day') actual[f.name] = applyTransform(t, 'timestamptz', Number(row.us));
          if (f.name === 'u_int') actual[f.name] = applyTransform(t, 'int', row.u0);
        }
        expect(actual).toEqual(tuple);
      }
    }
  }
  const fast = await convert(UNPARTITIONED, values);
  // Spot checks that do not lean on the other path: a wide decimal, an enum symbol, a tagged union.
  const [row] = await duckRows(fast.table, "dec::VARCHAR AS dec, e, u, hex(id) AS id, one, deep.x.y AS y", '_kafka_metadata.offset LIMIT 1');
  const first = type.fromBuffer(values[0].subarray(5)) as ReturnType<typeof value>;
  expect(row.e).toBe(first.e);
  expect(row.id).toBe(first.id.replace(/-/g, '').toUpperCase());
  expect(row.one).toEqual({ tag: 0, field0: first.one });
  expect(row.u).toEqual(first.u === null ? null : typeof first.u === 'number' ? { tag: 0, field0: first.u, field1: null } : { tag: 1, field0: null, field1: first.u });
  expect(row.y).toBe(first.deep.x.y);
  const unscaled = BigInt.asIntN(first.dec.length * 8, BigInt(`0x${first.dec.toString('hex')}`));
  const sign = unscaled < 0n ? '-' : '';
  const abs = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(3, '0');
  expect(row.dec).toBe(`${sign}${abs.slice(0, -2)}.${abs.slice(-2)}`);
});

test('longs past 2^53 keep every digit', async () => {
  // avsc's own long type stops at 2^53: the fields before and after `l` are encoded apart and the long put between them.
  const head = avro.Type.forSchema({ type: 'record', name: 'Head', fields: SCHEMA.fields.slice(0, 2) } as avro.Schema);
  const tail = avro.Type.forSchema({ type: 'record', name: 'Tail', namespace: 'test', fields: SCHEMA.fields.slice(3) } as avro.Schema);
  const edge = [2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 3n];
  const payloads = edge.map((l, i) => {
    const v = value(rng(100 + i), i);
    return frame(Buffer.concat([head.toBuffer(v), zigzagVarint(l), tail.toBuffer(v)]));
  });
  const fast = await convert(UNPARTITIONED, payloads);
  expect(fast.dlq).toEqual([]);
  expect((await duckRows(fast.table, 'l::VARCHAR AS l', '_kafka_metadata.offset')).map((x) => x.l)).toEqual(edge.map(String));
});

function zigzagVarint(n: bigint): Buffer {
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  const out: number[] = [];
  do {
    let b = Number(z & 0x7fn);
    z >>= 7n;
    if (z !== 0n) b |= 0x80;
    out.push(b);
  } while (z !== 0n);
  return Buffer.from(out);
}

test('hostile payloads are dead letters: every truncation and corruption, with the good rows around them intact', async () => {
  const r = rng(11);
  const good = value(r, 0);
  const payload = type.toBuffer(good);
  const bad: Buffer[] = [];
  for (let n = 0; n < payload.length; n++) bad.push(payload.subarray(0, n));
  const hostile = [
    Buffer.concat([payload, Buffer.from([0])]), // a byte past the value
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // a varint of 12 bytes
  ];
  // Corruptions: random bytes overwritten. Some still decode (a different but valid value); the rest must be dead letters.
  for (let k = 0; k < 300; k++) {
    const c = Buffer.from(payload);
    for (let j = 0; j < 1 + Math.floor(r() * 3); j++) c[Math.floor(r() * c.length)] = Math.floor(r() * 256);
    hostile.push(c);
  }
  // Each bad value is followed by a good one, whose row must come out whole.
  const values: Buffer[] = [];
  for (const b of [...bad, ...hostile]) values.push(frame(b), frame(payload));
  const { table, dlq, files } = await convert(UNPARTITIONED, values);
  const tableRows = await duckRows(table, 's, arr, m, _kafka_metadata.offset AS o', 'o');
  const dlqRows = await duckRows(dlq, '_kafka_metadata.offset AS o, _error', 'o');
  expect(tableRows.length + dlqRows.length).toBe(values.length);
  // Every truncation and the two hand-made ones are dead letters.
  const dead = new Set(dlqRows.map((x) => Number(x.o)));
  for (let n = 0; n < bad.length + 2; n++) expect(dead.has(2 * n)).toBe(true);
  expect(dlqRows.every((x) => typeof x._error === 'string' && (x._error as string).length > 0)).toBe(true);
  // Every good value reads back as written, whatever failed just before it.
  const expected = await duckRows(table, 's, arr, m', '_kafka_metadata.offset LIMIT 1');
  expect(expected[0].s).toBe(good.s);
  for (const row of tableRows.filter((x) => Number(x.o) % 2 === 1)) expect({ s: row.s, arr: row.arr, m: row.m }).toEqual(expected[0]);
  expect(tableRows.filter((x) => Number(x.o) % 2 === 1)).toHaveLength(values.length / 2);
  // Counts are exact after the rollbacks: one value per row in every top-level column.
  const [file] = files.filter((f) => !f.dlq);
  const sId = tableSchema.fields.find((f) => f.name === 's')!.id;
  expect(file.recordCount).toBe(tableRows.length);
  expect(file.valueCounts.get(sId)).toBe(tableRows.length);
  expect(file.nullValueCounts.get(sId)).toBe(0);
});

test('hand-made lies: counts, lengths and indexes past the payload, bad UTF-8', async () => {
  // A record of one string field, one array of ints, one union and one enum.
  const schema = {
    type: 'record',
    name: 'Small',
    fields: [
      { name: 's', type: 'string' },
      { name: 'a', type: { type: 'array', items: 'int' } },
      { name: 'u', type: ['null', 'int'] },
      { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } },
    ],
  };
  const small: IcebergSchema = { ...schemaLayout(avroToIceberg(JSON.stringify(schema)).struct, layout), 'schema-id': 0 };
  const c = new PartitionConverter(baseOptions(small));
  c.addSchemas(new Map([[1, { schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] }]]));
  const f = (...bytes: number[]) => Buffer.from([0, 0, 0, 0, 1, ...bytes]);
  const cases: [string, Buffer][] = [
    ['ok', f(0x02, 0x41, 0x02, 0x04, 0x00, 0x02, 0x06, 0x02)], // s="A", a=[2], u=3, e=B
    ['length past the end', f(0x7e, 0x41)],
    ['negative length', f(0x01, 0x41)],
    ['array count past the end', f(0x00, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0x00)],
    ['union index out of range', f(0x00, 0x00, 0x04)],
    ['enum index out of range', f(0x00, 0x00, 0x00, 0x04)],
    ['invalid UTF-8', f(0x04, 0xc3, 0x28, 0x00, 0x00, 0x00)],
  ];
  const batch = await buildBatch(cases.map(([, v]) => ({ key: 'k', value: v })), { baseOffset: 0 });
  expect(await c.append([batch])).toMatchObject({ status: 'ok', nextOffset: cases.length });
  const { table: tablePath, dlq: dlqPath } = await flushToFiles(c, dir, 'small');
  expect(await duckRows([tablePath], 's, a, u, e', 's')).toEqual([{ s: 'A', a: [2], u: 3, e: 'B' }]);
  const errors = await duckRows([dlqPath], '_kafka_metadata.offset AS o, _error AS error', 'o');
  expect(errors.map((x) => x.error)).toEqual([
    expect.stringMatching(/truncated/),
    expect.stringMatching(/length -1 is out of range/),
    expect.stringMatching(/block of .* items is longer than the payload/),
    expect.stringMatching(/union index 2 is out of range/),
    expect.stringMatching(/enum index 2 is out of range/),
    expect.stringMatching(/not valid UTF-8/),
  ]);
});

test('a row whose partition source fails halfway leaves the next row in its own partition', async () => {
  const bucket = parseTransformName('bucket[2]');
  // Two longs in different buckets.
  const l0 = 1;
  const l1 = [2, 3, 4, 5, 6, 7, 8].find((l) => applyTransform(bucket, 'long', l) !== applyTransform(bucket, 'long', l0))!;
  const base = value(rng(5), 0);
  const a = type.toBuffer({ ...base, l: l0, rec: { a: 7, z: null } });
  const c = type.toBuffer({ ...base, l: l1, rec: { a: 7, z: null } });
  // Cut after `l` (b, i and l are the first three fields), so the bucket is read and then rec.a fails.
  const head = avro.Type.forSchema({ type: 'record', name: 'Head3', fields: SCHEMA.fields.slice(0, 3) } as avro.Schema).toBuffer({ ...base, l: l1 });
  const spec: PartitionSpec = {
    'spec-id': 1,
    fields: [
      { 'source-id': tableSchema.fields.find((f) => f.name === 'l')!.id, 'field-id': 1000, name: 'l_bucket', transform: 'bucket[2]' },
      { 'source-id': (tableSchema.fields.find((f) => f.name === 'rec')!.type as StructType).fields[0].id, 'field-id': 1001, name: 'rec_a', transform: 'identity' },
    ],
  };
  const out = await convert(spec, [frame(a), frame(head), frame(c)]);
  expect(out.files.filter((f) => f.dlq).map((f) => f.recordCount)).toEqual([1]);
  const tables = out.files.filter((f) => !f.dlq);
  expect(tables.map((f) => f.partition).sort((x, y) => Number(x.l_bucket) - Number(y.l_bucket))).toEqual(
    [l0, l1].map((l) => ({ l_bucket: applyTransform(bucket, 'long', l), rec_a: 7 })).sort((x, y) => Number(x.l_bucket) - Number(y.l_bucket)),
  );
  for (const [i, path] of out.table.entries()) {
    const rows = await duckRows([path], 'l::VARCHAR AS l', 'l');
    expect(rows.map((r) => applyTransform(bucket, 'long', Number(r.l)))).toEqual([tables[i].partition.l_bucket]);
  }
});

test('by_latest_schema without flatten: bare Avro payloads into the _kafka_value struct, partitioned by a field inside it; a tombstone is a null struct', async () => {
  const schema = { type: 'record', name: 'Bare', fields: [{ name: 's', type: 'string' }, { name: 'n', type: ['null', 'int'], default: null }] };
  const bare = avro.Type.forSchema(schema as avro.Schema);
  const latest: Layout = { valueType: 'by_latest_schema', keyType: 'string', flatten: false };
  const table: IcebergSchema = { ...schemaLayout(avroToIceberg(JSON.stringify(schema)).struct, latest), 'schema-id': 0 };
  const sId = ((table.fields.find((f) => f.name === '_kafka_value')!.type as StructType).fields.find((f) => f.name === 's')!).id;
  const c = new PartitionConverter(
    converterOptions(latest, table, {
      partition: 2,
      spec: { 'spec-id': 0, fields: [{ 'source-id': sId, 'field-id': 1000, name: 's_trunc', transform: 'truncate[1]' }] },
      errorsTolerance: 'all',
      latestSchemaId: 31,
    }),
  );
  c.addSchemas(new Map([[31, { schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] }]]));
  const batch = await buildBatch(
    [
      { key: 'a', value: bare.toBuffer({ s: 'apple', n: 1 }) },
      { key: 'b', value: bare.toBuffer({ s: 'banana', n: null }) },
      { key: 't', value: null },
      { key: 'c', value: bare.toBuffer({ s: 'avocado', n: 3 }) },
    ],
    { baseOffset: 0 },
  );
  expect(await c.append([batch])).toMatchObject({ status: 'ok', nextOffset: 4 });
  const files = await c.flush();
  expect(files.every((f) => !f.dlq)).toBe(true);
  const byTuple = new Map<unknown, unknown[]>();
  for (const [i, f] of files.entries()) {
    const path = join(dir, `latest-${i}.parquet`);
    writeFileSync(path, f.bytes);
    byTuple.set(f.partition.s_trunc, await duckRows([path], '_kafka_value AS v, _kafka_key AS k, _kafka_metadata.partition AS p', 'k'));
  }
  expect(Object.fromEntries(byTuple)).toEqual({
    a: [
      { v: { s: 'apple', n: 1 }, k: 'a', p: 2 },
      { v: { s: 'avocado', n: 3 }, k: 'c', p: 2 },
    ],
    b: [{ v: { s: 'banana', n: null }, k: 'b', p: 2 }],
    null: [{ v: null, k: 't', p: 2 }],
  });
});

test('an array of zero-byte items cannot claim more items than a cap, even in a field the table drops', async () => {
  const writer = { type: 'record', name: 'W', fields: [{ name: 's', type: 'string' }, { name: 'a', type: { type: 'array', items: { type: 'fixed', name: 'Nothing', size: 0 } } }] };
  const table: IcebergSchema = { ...schemaLayout(avroToIceberg(JSON.stringify({ type: 'record', name: 'W', fields: [writer.fields[0]] })).struct, layout), 'schema-id': 0 };
  const c = new PartitionConverter(baseOptions(table));
  c.addSchemas(new Map([[2, { schemaType: 'AVRO', schema: JSON.stringify(writer), references: [] }]]));
  const f = (...bytes: number[]) => Buffer.from([0, 0, 0, 0, 2, ...bytes]);
  // Block counts are zigzag varints: 3 is 0x06; 60,000 is 0xc0 0xa9 0x07.
  const batch = await buildBatch(
    [
      { key: 'ok', value: f(0x02, 0x41, 0x06, 0x00) },
      { key: 'lie', value: f(0x02, 0x42, 0xc0, 0xa9, 0x07, 0xc0, 0xa9, 0x07, 0x00) },
    ],
    { baseOffset: 0 },
  );
  expect(await c.append([batch])).toMatchObject({ status: 'ok', nextOffset: 2 });
  const { table: tablePath, dlq: dlqPath } = await flushToFiles(c, dir, 'empty-items');
  expect(await duckRows([tablePath], 's', 's')).toEqual([{ s: 'A' }]);
  expect(await duckRows([dlqPath], '_error AS e', 'e')).toEqual([{ e: expect.stringMatching(/more than 65536 empty items/) }]);
});
