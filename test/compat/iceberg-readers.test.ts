// The table an analyst sees, read by readers that share no code with Floe:
// a script on Debian's python3-avro (Apache's reference Avro implementation)
// follows metadata → manifest list → manifests → data files as an engine
// plans a scan, and DuckDB reads the Parquet files it names. The records are
// produced the way the README's quick start does: kafkajs with the Confluent
// Avro serializer against the built-in registry.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBroker, type BrokerProcess } from '../helpers/broker.js';
import { committedOffsets, duckRows, parquetFieldIds, waitForTable } from '../helpers/iceberg.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3'; // Debian's python, which sees python3-avro
const WALKER = fileURLToPath(new URL('./clients/iceberg_walk.py', import.meta.url));

let broker: BrokerProcess;
let dir: { path: string; cleanup: () => void };
beforeAll(async () => {
  dir = tempDir();
  broker = await spawnBroker(['--data-dir', dir.path], { env: { FLOE_LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await broker?.kill('SIGTERM');
  dir?.cleanup();
});

interface Walk {
  format_version: number;
  snapshot_id: number;
  schema: { fields: { id: number; name: string; type: unknown }[] };
  partition_spec: { 'spec-id': number; fields: { name: string; transform: string; 'source-id': number }[] };
  summary: Record<string, string>;
  manifest_list_meta: Record<string, string>;
  manifest_entry_field_ids: Record<string, number>;
  data_file_field_ids: Record<string, number>;
  manifests: { path: string; partition_spec_id: number; content: number; added_rows_count: number; meta: Record<string, string> }[];
  data_files: { path: string; format: string; partition: Record<string, number>; record_count: number; value_counts: Record<string, number>; null_value_counts: Record<string, number>; lower_bounds: Record<string, string>; upper_bounds: Record<string, string> }[];
}

const schema = {
  type: 'record',
  name: 'Trip',
  namespace: 'city',
  fields: [
    { name: 'id', type: 'int' },
    { name: 'rider', type: 'string' },
    { name: 'fare', type: { type: 'bytes', logicalType: 'decimal', precision: 8, scale: 2 } },
    { name: 'started', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'stops', type: { type: 'array', items: { type: 'record', name: 'Stop', fields: [{ name: 'name', type: 'string' }, { name: 'minutes', type: 'int' }] } } },
    { name: 'rating', type: ['null', 'double'], default: null },
  ],
};

describe('an Iceberg table read without Floe', () => {
  it('python3-avro follows the metadata to the data files, and DuckDB reads exactly the rows produced from them', async () => {
    const kafka = new Kafka({ clientId: 'iceberg-readers', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topic = 'trips';
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: 2,
          configEntries: Object.entries({
            'automq.table.topic.enable': 'true',
            'automq.table.topic.commit.interval.ms': '500',
            'automq.table.topic.convert.value.type': 'by_schema_id',
            'automq.table.topic.transform.value.type': 'flatten',
            'automq.table.topic.partition.by': '[day(started)]',
          }).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    await admin.disconnect();
    const { SchemaRegistry } = await import('@kafkajs/confluent-schema-registry');
    const registry = new SchemaRegistry({ host: await broker.registryUrl() });
    const { id } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify(schema) } as never, { subject: `${topic}-value` });
    const DAY_MICROS = 86_400_000_000;
    const base = Date.UTC(2026, 10, 1) * 1000;
    const trip = (i: number) => ({
      id: i,
      rider: `rider-${i % 7}`,
      fare: (() => {
        const b = Buffer.alloc(4);
        b.writeInt32BE(1000 + i * 37);
        return b;
      })(),
      started: base + (i % 4) * DAY_MICROS + i * 1_000_000,
      stops: Array.from({ length: i % 3 }, (_, k) => ({ name: `s${k}`, minutes: k * 5 + i })),
      rating: i % 5 === 0 ? null : (i % 10) / 2,
    });
    const producer = kafka.producer();
    await producer.connect();
    const N = 120;
    // avsc encodes timestamp-micros longs from numbers; these fit in 2^53.
    await producer.send({ topic, messages: await Promise.all(Array.from({ length: N }, async (_, i) => ({ partition: i % 2, key: `t${i}`, value: await registry.encode(id, trip(i)) }))) });
    await producer.disconnect();

    const { metadataLocation } = await waitForTable(broker.catalogUrl, 'default', topic, (t) => committedOffsets(t)['0'] === N / 2 && committedOffsets(t)['1'] === N / 2);
    const { stdout } = await run(PYTHON, [WALKER, metadataLocation], { maxBuffer: 64 << 20 });
    const walk = JSON.parse(stdout) as Walk;

    // What the spec says these files hold.
    expect(walk.format_version).toBe(2);
    expect(walk.manifest_list_meta).toMatchObject({ 'format-version': '2', 'snapshot-id': String(walk.snapshot_id) });
    expect(walk.manifest_entry_field_ids).toMatchObject({ status: 0, snapshot_id: 1, sequence_number: 3, file_sequence_number: 4, data_file: 2 });
    expect(walk.data_file_field_ids).toMatchObject({
      content: 134,
      file_path: 100,
      file_format: 101,
      partition: 102,
      record_count: 103,
      file_size_in_bytes: 104,
      column_sizes: 108,
      value_counts: 109,
      null_value_counts: 110,
      nan_value_counts: 137,
      lower_bounds: 125,
      upper_bounds: 128,
      split_offsets: 132,
      sort_order_id: 140,
    });
    for (const m of walk.manifests) {
      expect(m.content).toBe(0);
      expect(m.meta).toMatchObject({ 'format-version': '2', content: 'data', 'partition-spec-id': String(m.partition_spec_id) });
      expect(JSON.parse(m.meta['partition-spec'])).toEqual(walk.partition_spec.fields.map((f) => expect.objectContaining(f)));
    }
    expect(walk.data_files.reduce((n, f) => n + f.record_count, 0)).toBe(N);
    expect(walk.manifests.reduce((n, m) => n + m.added_rows_count, 0)).toBe(N);
    expect(walk.summary['total-records']).toBe(String(N));
    expect(walk.partition_spec.fields).toEqual([expect.objectContaining({ name: 'started_day', transform: 'day' })]);

    const idOf = (name: string) => walk.schema.fields.find((f) => f.name === name)!.id;
    const files = walk.data_files.map((f) => fileURLToPath(f.path));
    for (const f of walk.data_files) {
      expect(f.format).toBe('PARQUET');
      const local = fileURLToPath(f.path);
      // Every row of the file is in the day its partition tuple names; the id bounds are the file's min and max.
      const rows = await duckRows([local], 'id, epoch_us(started) AS us', 'id');
      expect(rows.length).toBe(f.record_count);
      for (const r of rows) expect(Math.floor(Number(r.us) / DAY_MICROS)).toBe(f.partition.started_day);
      const ids = rows.map((r) => Number(r.id));
      expect(Buffer.from(f.lower_bounds[idOf('id')], 'hex').readInt32LE()).toBe(Math.min(...ids));
      expect(Buffer.from(f.upper_bounds[idOf('id')], 'hex').readInt32LE()).toBe(Math.max(...ids));
      expect(f.value_counts[idOf('rating')]).toBe(f.record_count);
      expect(f.null_value_counts[idOf('rating')]).toBe(ids.filter((i) => i % 5 === 0).length);
      // DuckDB's view of the footer: the top-level columns carry the table's field ids.
      const footer = await parquetFieldIds(local);
      for (const field of walk.schema.fields) expect(footer.find((c) => c.name === field.name)?.fieldId, field.name).toBe(field.id);
    }

    const got = await duckRows(
      files,
      "id, rider, fare::VARCHAR AS fare, epoch_us(started) AS started, stops, rating, _kafka_key AS k, _kafka_metadata.partition AS p, _kafka_metadata.offset AS o",
      'id',
    );
    expect(got).toEqual(
      Array.from({ length: N }, (_, i) => {
        const t = trip(i);
        return {
          id: i,
          rider: t.rider,
          fare: ((1000 + i * 37) / 100).toFixed(2),
          started: String(t.started),
          stops: t.stops,
          rating: t.rating,
          k: `t${i}`,
          p: i % 2,
          o: String(Math.floor(i / 2)),
        };
      }),
    );
  }, 90_000);
});
