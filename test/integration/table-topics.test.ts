// Table topics end to end on the embedded store: kafkajs produces, the
// broker converts and commits, and the table is read back the way an
// analyst would: through the REST catalog (iceberg-js, an independent
// client) and with DuckDB over the Parquet files the manifests name.

import { IcebergRestCatalog } from 'iceberg-js';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { capturingLogger, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { SCHED_IDLE, threadSchedules } from '../helpers/threads.js';
import { committedOffsets, currentSnapshotOf, dataFilePaths, duckRows, liveEntries, loadTable, parquetFieldIds, tableFiles, waitForTable, type TableJson } from '../helpers/iceberg.js';
import { readManifestList } from '../../src/table/iceberg/manifest.js';
import { bucketOf, hashString } from '../../src/table/iceberg/transforms.js';

let broker: TestBroker;
let kafka: Kafka;
let producer: Producer;
let catalog: IcebergRestCatalog;

beforeAll(async () => {
  broker = await startTestBroker();
  kafka = new Kafka({ clientId: 'table-topics', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  producer = kafka.producer();
  await producer.connect();
  catalog = new IcebergRestCatalog({ baseUrl: `http://127.0.0.1:${broker.catalogPort}` });
}, 60_000);

afterAll(async () => {
  await producer?.disconnect();
  await broker?.cleanup();
});

async function createTableTopic(name: string, partitions: number, configs: Record<string, string>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: name, numPartitions: partitions, configEntries: Object.entries({ 'automq.table.topic.enable': 'true', 'automq.table.topic.commit.interval.ms': '500', ...configs }).map(([k, v]) => ({ name: k, value: v })) }],
  });
  await admin.disconnect();
}

const snapshotOf = (t: { snapshots?: unknown[]; 'current-snapshot-id'?: number | null }) => currentSnapshotOf(t as TableJson);

/** Waits until the table's current snapshot holds `records` rows in total (loaded with iceberg-js). */
async function waitForRecords(namespace: string, table: string, records: number, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const t = await catalog.loadTable({ namespace: [namespace], name: table });
      const current = snapshotOf(t);
      if (current !== undefined && Number(current.summary['total-records']) >= records) return t;
    } catch {
      // not created yet
    }
    if (Date.now() > deadline) throw new Error(`table ${namespace}.${table} did not reach ${records} records`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The local paths of the data files of the table's current snapshot, as the REST catalog's metadata names them. */
async function dataFiles(table: string): Promise<string[]> {
  return dataFilePaths((await loadTable(`http://127.0.0.1:${broker.catalogPort}`, 'default', table))!.metadata);
}

const rows = (files: string[], select: string, order = '_kafka_metadata.partition, _kafka_metadata.offset') => duckRows(files, select, order);

describe('table topics', () => {
  test('raw layout: every record becomes a row with key, value, headers and Kafka metadata, exactly once', async () => {
    await createTableTopic('raw-events', 2, { 'automq.table.topic.convert.value.type': 'raw' });
    const messages = Array.from({ length: 200 }, (_, i) => ({
      partition: i % 2,
      key: i % 10 === 0 ? null : `k${i}`,
      value: i % 25 === 0 ? null : Buffer.from(`value-${i}`),
      headers: i % 3 === 0 ? { trace: `t${i}` } : undefined,
      timestamp: String(1_700_000_000_000 + i),
    }));
    await producer.send({ topic: 'raw-events', messages });
    const table = await waitForRecords('default', 'raw-events', 200);
    expect(table['format-version']).toBe(2);
    const files = await dataFiles('raw-events');
    expect(files.length).toBeGreaterThan(0);
    const got = await rows(files, "_kafka_key AS k, decode(_kafka_value) AS v, _kafka_header AS h, _kafka_metadata.partition AS p, _kafka_metadata.offset AS o, epoch_ms(_kafka_metadata.timestamp) AS ts");
    expect(got).toHaveLength(200);
    const expected = [0, 1].flatMap((p) =>
      messages
        .filter((m) => m.partition === p)
        .map((m, offset) => ({
          k: m.key,
          v: m.value === null ? null : m.value.toString(),
          h: m.headers === undefined ? null : [{ key: 'trace', value: m.headers.trace }],
          p,
          o: String(offset),
          ts: m.timestamp,
        })),
    );
    expect(got).toEqual(expected);
    const summary = snapshotOf(table)!.summary;
    expect(JSON.parse(summary['floe.kafka.offsets'])).toEqual({ '0': 100, '1': 100 });
    // The broker runs in this process (forks pool: one test file per process), so its one conversion
    // thread is one of ours: at SCHED_IDLE, table.topic.convert.priority's default (Debian's util-linux has chrt).
    expect([...threadSchedules().values()].filter((t) => t.policy === SCHED_IDLE)).toHaveLength(1);
  });
});

describe('table topics with Avro values from the schema registry', () => {
  const v1 = {
    type: 'record',
    name: 'Order',
    namespace: 'shop',
    fields: [
      { name: 'id', type: 'int' },
      { name: 'name', type: 'string' },
      { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
      { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'day', type: { type: 'int', logicalType: 'date' } },
      { name: 'tags', type: { type: 'array', items: 'string' } },
      { name: 'attrs', type: { type: 'map', values: 'int' } },
      { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'string'], default: null }] } },
      { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] } },
      { name: 'score', type: 'float' },
      { name: 'paid', type: ['null', 'boolean'], default: null },
    ],
  };
  const v2 = {
    ...v1,
    fields: [
      { name: 'id', type: 'long' },
      ...v1.fields.slice(1, 7),
      { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'string'], default: null }, { name: 'country', type: ['null', 'string'], default: null }] } },
      ...v1.fields.slice(8, 9),
      { name: 'score', type: 'double' },
      { name: 'paid', type: ['null', 'boolean'], default: null },
      { name: 'email', type: ['null', 'string'], default: null },
    ],
  };
  const cents = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };

  test('value fields become columns with Iceberg types; a compatible new version adds columns and promotes types; bad records go to the dead-letter table', async () => {
    const registry = new SchemaRegistry({ host: `http://127.0.0.1:${broker.registryPort}` });
    const topic = 'orders';
    await createTableTopic(topic, 1, { 'automq.table.topic.convert.value.type': 'by_schema_id', 'automq.table.topic.transform.value.type': 'flatten' });
    const { id: id1 } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify(v1) } as never, { subject: `${topic}-value` });
    const order = (i: number) => ({
      id: i,
      name: `order-${i}`,
      amount: cents(i * 100 + 99),
      ts: 1_700_000_000_000 + i,
      day: 19_700 + i,
      tags: i % 2 === 0 ? ['a', 'b'] : [],
      attrs: { n: i },
      address: { city: 'Lyon', zip: i % 2 === 0 ? null : `6900${i}` },
      status: i % 2 === 0 ? 'NEW' : 'PAID',
      score: 0.5 + i,
      paid: i % 3 === 0 ? null : i % 3 === 1,
    });
    await producer.send({ topic, messages: await Promise.all([0, 1, 2].map(async (i) => ({ key: `o${i}`, value: await registry.encode(id1, order(i)) }))) });
    await waitForRecords('default', topic, 3);

    const { id: id2 } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify(v2) } as never, { subject: `${topic}-value` });
    expect(id2).not.toBe(id1);
    await producer.send({
      topic,
      messages: [
        { key: 'o3', value: await registry.encode(id2, { ...order(3), id: 3, address: { city: 'Nice', zip: null, country: 'FR' }, email: 'x@example.com' }) },
        { key: 'bad', value: Buffer.from('{"not":"avro"}') },
        { key: 'gone', value: null },
      ],
    });
    const table = await waitForRecords('default', topic, 5);
    const schema = table.schemas!.find((s) => s['schema-id'] === table['current-schema-id'])!;
    const field = (name: string) => schema.fields.find((f) => f.name === name)!;
    const first = table.schemas!.find((s) => s['schema-id'] === 0)!;
    // Promotions keep the field id; new columns get ids above every old one.
    expect(field('id')).toMatchObject({ id: first.fields.find((f) => f.name === 'id')!.id, type: 'long' });
    expect(field('score').type).toBe('double');
    const oldMax = Math.max(...JSON.stringify(first).match(/"(?:id|element-id|key-id|value-id)":(\d+)/g)!.map((m) => Number(m.split(':')[1])));
    expect(field('email').id).toBeGreaterThan(oldMax);
    expect(field('amount').type).toBe('decimal(10, 2)');
    expect(field('ts').type).toBe('timestamptz');
    expect(field('day').type).toBe('date');
    expect(field('status').type).toBe('string');

    const got = await rows(
      await dataFiles(topic),
      "id, name, amount::VARCHAR AS amount, epoch_ms(ts) AS ts, day::VARCHAR AS day, tags, attrs, address, status, score, paid, email, _kafka_key AS k",
      'id',
    );
    expect(got).toEqual([
      { id: '0', name: 'order-0', amount: '0.99', ts: '1700000000000', day: '2023-12-09', tags: ['a', 'b'], attrs: [{ key: 'n', value: 0 }], address: { city: 'Lyon', zip: null, country: null }, status: 'NEW', score: 0.5, paid: null, email: null, k: 'o0' },
      { id: '1', name: 'order-1', amount: '1.99', ts: '1700000000001', day: '2023-12-10', tags: [], attrs: [{ key: 'n', value: 1 }], address: { city: 'Lyon', zip: '69001', country: null }, status: 'PAID', score: 1.5, paid: true, email: null, k: 'o1' },
      { id: '2', name: 'order-2', amount: '2.99', ts: '1700000000002', day: '2023-12-11', tags: ['a', 'b'], attrs: [{ key: 'n', value: 2 }], address: { city: 'Lyon', zip: null, country: null }, status: 'NEW', score: 2.5, paid: false, email: null, k: 'o2' },
      { id: '3', name: 'order-3', amount: '3.99', ts: '1700000000003', day: '2023-12-12', tags: [], attrs: [{ key: 'n', value: 3 }], address: { city: 'Nice', zip: null, country: 'FR' }, status: 'PAID', score: 3.5, paid: null, email: 'x@example.com', k: 'o3' },
      // A tombstone is a row with its key and no value fields.
      { id: null, name: null, amount: null, ts: null, day: null, tags: null, attrs: null, address: null, status: null, score: null, paid: null, email: null, k: 'gone' },
    ]);

    // Every Parquet column carries its Iceberg field id, as DuckDB reads the footers: files written
    // before the evolution carry schema 0's ids, files after it the current schema's.
    const idsOf = (t: unknown): number[] =>
      t === null || typeof t !== 'object'
        ? []
        : Object.entries(t).flatMap(([k, v]) => (['id', 'element-id', 'key-id', 'value-id'].includes(k) ? [v as number] : idsOf(v)));
    for (const file of await dataFiles(topic)) {
      const columns = await parquetFieldIds(file);
      const expectedSchema = columns.some((c) => c.name === 'email') ? schema : first;
      // The root and the repeated groups of lists and maps ('list', Arrow's 'entries') have no id in Iceberg's Parquet layout.
      const withIds = columns.filter((c) => c.fieldId !== null);
      expect(columns.filter((c) => c.fieldId === null).map((c) => c.name).sort()).toEqual(['arrow_schema', 'entries', 'list', 'list']);
      expect(withIds.map((c) => c.fieldId).sort((a, b) => a! - b!)).toEqual(idsOf(expectedSchema.fields).sort((a, b) => a - b));
      for (const f of expectedSchema.fields) expect(withIds.find((c) => c.name === f.name)?.fieldId, f.name).toBe(f.id);
    }

    const dlq = await waitForRecords('default', `${topic}_dlq`, 1);
    expect(dlq['current-snapshot-id']).toBeDefined();
    const dead = await rows(await dataFiles(`${topic}_dlq`), "_kafka_key AS k, decode(_kafka_value) AS v, _error AS e, _schema_id AS sid, _kafka_metadata.offset AS o");
    expect(dead).toEqual([{ k: 'bad', v: '{"not":"avro"}', e: expect.stringContaining('Confluent wire format'), sid: null, o: '4' }]);
  });
});

/**
 * A broker of the test's own, with its log captured and a by_schema_id table
 * topic created with `configs` on top: `run` gets it with a connected
 * producer and admin and a schema registry client, and all of them are
 * closed after it.
 */
async function withOwnBroker(
  topic: string,
  partitions: number,
  configs: Record<string, string>,
  run: (env: { b: TestBroker; p: Producer; admin: Admin; lines: ReturnType<typeof capturingLogger>['lines']; registry: SchemaRegistry; configs: Record<string, string> }) => Promise<void>,
): Promise<void> {
  const { logger, lines } = capturingLogger();
  const b = await startTestBroker({}, undefined, logger);
  const k = new Kafka({ clientId: topic, brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
  const p = k.producer();
  const admin = k.admin();
  try {
    await p.connect();
    await admin.connect();
    const all = { 'automq.table.topic.enable': 'true', 'automq.table.topic.convert.value.type': 'by_schema_id', ...configs };
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, configEntries: Object.entries(all).map(([name, value]) => ({ name, value })) }] });
    await run({ b, p, admin, lines, registry: new SchemaRegistry({ host: `http://127.0.0.1:${b.registryPort}` }), configs: all });
  } finally {
    await p.disconnect();
    await admin.disconnect();
    await b.cleanup();
  }
}

describe('errors.tolerance=none', () => {
  test("a record that cannot be converted stops only its partition, shows in the log, the metric and /table-topics, and conversion resumes once it is fixed", async () => {
    const topic = 'strict';
    await withOwnBroker(topic, 2, { 'automq.table.topic.commit.interval.ms': '300', 'automq.table.topic.errors.tolerance': 'none' }, async ({ b, p, admin, lines, registry, configs }) => {
      const schemaA = { type: 'record', name: 'Reading', fields: [{ name: 'n', type: 'int' }] };
      const schemaB = { type: 'record', name: 'Reading', fields: [{ name: 'n', type: 'int' }, { name: 'unit', type: ['null', 'string'], default: null }] };
      const { id: a } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify(schemaA) } as never, { subject: `${topic}-value` });
      // A record in the wire format naming the id the next registration will get: unknown for now.
      const next = a + 1;
      const pending = Buffer.concat([Buffer.from([0, 0, 0, 0, next]), Buffer.from([4, 0])]); // n=2 (zigzag 4), unit=null (branch 0)
      const good = async (n: number) => registry.encode(a, { n });
      await p.send({ topic, messages: [{ partition: 0, value: await good(0) }, { partition: 0, value: await good(1) }, { partition: 0, value: pending }, { partition: 0, value: await good(3) }] });
      await p.send({ topic, messages: await Promise.all([10, 11, 12].map(async (n) => ({ partition: 1, value: await good(n) }))) });

      const catalogUrl = `http://127.0.0.1:${b.catalogPort}`;
      const metricsUrl = `http://127.0.0.1:${b.metricsPort}`;
      const stoppedAt = await waitForTable(catalogUrl, 'default', topic, (t) => committedOffsets(t)['0'] === 2 && committedOffsets(t)['1'] === 3);
      expect((await duckRows(await dataFilePaths(stoppedAt.metadata), '_kafka_value.n AS n', 'n')).map((r) => r.n)).toEqual([0, 1, 10, 11, 12]);
      const status = (await (await fetch(`${metricsUrl}/table-topics`)).json()) as { topic: string; table: string; partitions: { partition: number; committedOffset: number; error: { offset: number; message: string } | null }[] }[];
      const strict = status.find((s) => s.topic === topic)!;
      expect(strict.table).toBe('default.strict');
      expect(strict.partitions).toEqual([
        expect.objectContaining({ partition: 0, committedOffset: 2, error: { offset: 2, message: expect.stringContaining(String(next)) } }),
        expect.objectContaining({ partition: 1, committedOffset: 3, error: null }),
      ]);
      const stoppedMetrics = await scrape(metricsUrl);
      expect(metricValue(stoppedMetrics, 'floe_table_stopped_partitions', { topic })).toBe(1);
      // Offsets 2 and 3 of partition 0 are in the log and not in the table.
      expect(metricValue(stoppedMetrics, 'floe_table_lag_records', { topic })).toBe(2);
      expect(lines.some((l) => l.level === 50 && l.msg.includes('table conversion stopped') && l.partition === 0 && l.offset === 2)).toBe(true);
      // Still stopped an interval later: nothing past the bad record, nothing dropped.
      await new Promise((r) => setTimeout(r, 700));
      expect(committedOffsets((await loadTable(catalogUrl, 'default', topic))!.metadata)['0']).toBe(2);

      // The fix: the schema the record names is registered. The partition resumes where it stopped.
      const { id: b2 } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify(schemaB) } as never, { subject: `${topic}-value` });
      expect(b2).toBe(next);
      const resumed = await waitForTable(catalogUrl, 'default', topic, (t) => committedOffsets(t)['0'] === 4);
      expect(await duckRows(await dataFilePaths(resumed.metadata), '_kafka_value.n AS n, _kafka_value.unit AS unit, _kafka_metadata.partition AS p', 'p, n')).toEqual([
        { n: 0, unit: null, p: 0 },
        { n: 1, unit: null, p: 0 },
        { n: 2, unit: null, p: 0 },
        { n: 3, unit: null, p: 0 },
        { n: 10, unit: null, p: 1 },
        { n: 11, unit: null, p: 1 },
        { n: 12, unit: null, p: 1 },
      ]);
      const resumedMetrics = await scrape(metricsUrl);
      expect(metricValue(resumedMetrics, 'floe_table_stopped_partitions', { topic })).toBe(0);
      expect(metricValue(resumedMetrics, 'floe_table_lag_records', { topic })).toBe(0);

      // A record no schema can fix stops the partition again; switching the topic to invalid_data sends it to the dead-letter table.
      await p.send({ topic, messages: [{ partition: 0, value: Buffer.from('not avro') }, { partition: 0, value: await good(5) }] });
      const stoppedOffset = async () => ((await (await fetch(`${metricsUrl}/table-topics`)).json()) as typeof status).find((s) => s.topic === topic)!.partitions[0].error?.offset;
      for (const deadline = Date.now() + 10_000; (await stoppedOffset()) !== 4; ) {
        if (Date.now() > deadline) throw new Error('partition 0 did not stop at offset 4');
        await new Promise((r) => setTimeout(r, 100));
      }
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: Object.entries({ ...configs, 'automq.table.topic.errors.tolerance': 'invalid_data' }).map(([name, value]) => ({ name, value })) }] });
      const fixed = await waitForTable(catalogUrl, 'default', topic, (t) => committedOffsets(t)['0'] === 6);
      expect((await duckRows(await dataFilePaths(fixed.metadata), '_kafka_value.n AS n', 'n')).map((r) => r.n)).toEqual([0, 1, 2, 3, 5, 10, 11, 12]);
      const dlq = await waitForTable(catalogUrl, 'default', `${topic}_dlq`, (t) => currentSnapshotOf(t) !== undefined);
      expect(await duckRows(await dataFilePaths(dlq.metadata), "decode(_kafka_value) AS v, _kafka_metadata.offset AS o", 'o')).toEqual([{ v: 'not avro', o: '4' }]);
    });
  }, 60_000);
});

describe('a first schema the table cannot take', () => {
  test('logs the failure once, not every tick; a usable schema creates the table, and the earlier records go to the dead-letter table', async () => {
    const topic = 'linked';
    await withOwnBroker(topic, 1, { 'automq.table.topic.commit.interval.ms': '200', 'automq.table.topic.errors.tolerance': 'all' }, async ({ b, p, lines, registry }) => {
      // Iceberg has no recursive types: no table can be made from this schema.
      const recursive = { type: 'record', name: 'Node', fields: [{ name: 'v', type: 'int' }, { name: 'next', type: ['null', 'Node'], default: null }] };
      const { id: v1 } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify(recursive) } as never, { subject: `${topic}-value` });
      await p.send({ topic, messages: [{ value: await registry.encode(v1, { v: 1, next: { v: 2, next: null } }) }, { value: await registry.encode(v1, { v: 3, next: null }) }] });

      const failures = () => lines.filter((l) => l.topic === topic && typeof l.msg === 'string' && l.msg.startsWith('table topic commit'));
      const status = async () => ((await (await fetch(`http://127.0.0.1:${b.metricsPort}/table-topics`)).json()) as { topic: string; lastError: string | null }[]).find((s) => s.topic === topic);
      for (const deadline = Date.now() + 10_000; !((await status())?.lastError ?? '').includes('recursive'); ) {
        if (Date.now() > deadline) throw new Error('the refused schema did not show in /table-topics');
        await new Promise((r) => setTimeout(r, 100));
      }
      // Ticks every 200 ms for two seconds more: about ten failures, one line.
      await new Promise((r) => setTimeout(r, 2000));
      const failed = metricValue(await scrape(`http://127.0.0.1:${b.metricsPort}`), 'floe_table_commits_total', { topic, result: 'failed' });
      expect(failed).toBeGreaterThanOrEqual(5);
      expect(failures().map((l) => [l.level, l.msg])).toEqual([[40, 'table topic commit failed; retrying next interval']]);
      expect(String((failures()[0].err as { message: string }).message)).toContain('recursive record');

      // The fix: a usable version of the schema. The table is made from it; the records of v1 are dead letters.
      const plain = { type: 'record', name: 'Node', fields: [{ name: 'v', type: 'int' }] };
      const { id: v2 } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify(plain) } as never, { subject: `${topic}-value` });
      await p.send({ topic, messages: [{ value: await registry.encode(v2, { v: 4 }) }] });
      const catalogUrl = `http://127.0.0.1:${b.catalogPort}`;
      const table = await waitForTable(catalogUrl, 'default', topic, (t) => committedOffsets(t)['0'] === 3);
      expect(await duckRows(await dataFilePaths(table.metadata), '_kafka_value.v AS v, _kafka_metadata.offset AS o', 'o')).toEqual([{ v: 4, o: '2' }]);
      const dlq = await waitForTable(catalogUrl, 'default', `${topic}_dlq`, (t) => currentSnapshotOf(t) !== undefined);
      expect(await duckRows(await dataFilePaths(dlq.metadata), '_kafka_metadata.offset AS o, _schema_id AS s', 'o')).toEqual([
        { o: '0', s: v1 },
        { o: '1', s: v1 },
      ]);
      expect(failures().map((l) => [l.level, l.msg])).toEqual([
        [40, 'table topic commit failed; retrying next interval'],
        [30, 'table topic commit works again'],
      ]);
    });
  }, 60_000);
});

describe('partition.by', () => {
  test('data files are partitioned by bucket and day with the partition values in the manifests; changing partition.by evolves the spec and old files keep theirs', async () => {
    const topic = 'clicks';
    const configs = {
      'automq.table.topic.enable': 'true',
      'automq.table.topic.commit.interval.ms': '300',
      'automq.table.topic.convert.value.type': 'by_schema_id',
      'automq.table.topic.transform.value.type': 'flatten',
      'automq.table.topic.partition.by': '[bucket(user, 4), day(ts)]',
    };
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }] });
      const registry = new SchemaRegistry({ host: `http://127.0.0.1:${broker.registryPort}` });
      const schema = { type: 'record', name: 'Click', fields: [{ name: 'user', type: 'string' }, { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } }, { name: 'country', type: 'string' }] };
      const { id } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify(schema) } as never, { subject: `${topic}-value` });
      const DAY = 86_400_000;
      const base = Date.UTC(2026, 10, 20);
      const click = (i: number) => ({ user: `u${i % 10}`, ts: base + (i % 3) * DAY + i * 1000, country: i % 2 === 0 ? 'FR' : 'DE' });
      await producer.send({ topic, messages: await Promise.all(Array.from({ length: 40 }, async (_, i) => ({ value: await registry.encode(id, click(i)) }))) });

      const catalogUrl = `http://127.0.0.1:${broker.catalogPort}`;
      const first = await waitForTable(catalogUrl, 'default', topic, (t) => committedOffsets(t)['0'] === 40);
      const m1 = first.metadata;
      const schemaFields = (m1.schemas as { 'schema-id': number; fields: { id: number; name: string }[] }[]).find((s) => s['schema-id'] === m1['current-schema-id'])!.fields;
      const idOf = (name: string) => schemaFields.find((f) => f.name === name)!.id;
      expect(m1['partition-specs']).toEqual([
        {
          'spec-id': 0,
          fields: [
            { name: 'user_bucket', transform: 'bucket[4]', 'source-id': idOf('user'), 'field-id': 1000 },
            { name: 'ts_day', transform: 'day', 'source-id': idOf('ts'), 'field-id': 1001 },
          ],
        },
      ]);
      // One file per partition tuple, and every row of a file belongs to the tuple its manifest entry names.
      const entries = await liveEntries(m1);
      const tuples = new Set(Array.from({ length: 40 }, (_, i) => `${bucketOf(hashString(click(i).user), 4)}/${Math.floor(click(i).ts / DAY)}`));
      expect(entries.map((e) => `${e.dataFile.partition.user_bucket}/${e.dataFile.partition.ts_day}`).sort()).toEqual([...tuples].sort());
      for (const e of entries) {
        const rows = await duckRows([fileURLToPath(e.dataFile.filePath)], 'user, epoch_ms(ts) AS ts', 'ts');
        expect(rows.length).toBe(e.dataFile.recordCount);
        for (const r of rows) {
          expect(bucketOf(hashString(r.user as string), 4)).toBe(e.dataFile.partition.user_bucket);
          expect(Math.floor(Number(r.ts) / DAY)).toBe(e.dataFile.partition.ts_day);
        }
      }

      await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: Object.entries({ ...configs, 'automq.table.topic.partition.by': '[country]' }).map(([name, value]) => ({ name, value })) }] });
      // The new spec is committed at once, before any record needs it.
      await waitForTable(catalogUrl, 'default', topic, (t) => t['default-spec-id'] === 1);
      await producer.send({ topic, messages: await Promise.all(Array.from({ length: 10 }, async (_, i) => ({ value: await registry.encode(id, click(40 + i)) }))) });
      const second = await waitForTable(catalogUrl, 'default', topic, (t) => committedOffsets(t)['0'] === 50);
      const m2 = second.metadata;
      expect(m2['default-spec-id']).toBe(1);
      expect(m2['partition-specs'][1]).toEqual({ 'spec-id': 1, fields: [{ name: 'country', transform: 'identity', 'source-id': idOf('country'), 'field-id': 1002 }] });
      const manifests = await readManifestList(await readFile(fileURLToPath(currentSnapshotOf(m2)!['manifest-list'])));
      expect(manifests.map((m) => m.partitionSpecId).sort()).toEqual([0, 1]);
      const after = await liveEntries(m2);
      const newFiles = after.filter((e) => 'country' in e.dataFile.partition);
      expect(newFiles.map((e) => e.dataFile.partition).sort((a, b) => String(a.country).localeCompare(String(b.country)))).toEqual([{ country: 'DE' }, { country: 'FR' }]);
      expect(after.length).toBe(entries.length + 2);
      const all = await duckRows(await dataFilePaths(m2), "user, epoch_ms(ts) AS ts, country", 'ts');
      expect(all).toEqual(Array.from({ length: 50 }, (_, i) => click(i)).sort((a, b) => a.ts - b.ts).map((c) => ({ ...c, ts: String(c.ts) })));
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});

describe('maintenance', () => {
  test('expiring snapshots keeps retain.last, deletes the manifest lists only they reached, and the table still reads whole; old metadata files are deleted past previous-versions-max', async () => {
    const topic = 'expiring';
    await createTableTopic(topic, 1, { 'automq.table.topic.commit.interval.ms': '200', 'automq.table.topic.expire.snapshot.retain.last': '2' });
    const catalogUrl = `http://127.0.0.1:${broker.catalogPort}`;
    // Five commits of ten records each.
    for (let round = 0; round < 5; round++) {
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${round}-${i}` })) });
      await waitForTable(catalogUrl, 'default', topic, (t) => committedOffsets(t)['0'] === (round + 1) * 10);
    }
    // A user lowers the number of old metadata files the table keeps, through the REST catalog.
    const props = await fetch(`${catalogUrl}/v1/namespaces/default/tables/${topic}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requirements: [], updates: [{ action: 'set-properties', updates: { 'write.metadata.previous-versions-max': '2' } }] }),
    });
    expect(props.status).toBe(200);
    const before = (await loadTable(catalogUrl, 'default', topic))!;
    // Younger than expire.snapshot.older.than.hours (1): nothing expired on the way.
    expect(before.metadata.snapshots).toHaveLength(5);
    const lists = before.metadata.snapshots!.map((s) => s['manifest-list']);
    const exists = async (uri: string) => readFile(fileURLToPath(uri)).then(() => true, () => false);

    // As the coordinator will two hours from now.
    const coordinator = broker.tables.coordinator(topic)!;
    expect(await coordinator.expireSnapshots(Date.now() + 2 * 3_600_000)).toEqual({ snapshots: 3, files: 3 });
    const after = (await loadTable(catalogUrl, 'default', topic))!;
    const current = currentSnapshotOf(after.metadata)!;
    expect(after.metadata.snapshots!.map((s) => s['snapshot-id'])).toEqual(before.metadata.snapshots!.slice(3).map((s) => s['snapshot-id']));
    expect(current['snapshot-id']).toBe(currentSnapshotOf(before.metadata)!['snapshot-id']);
    expect(await Promise.all(lists.map(exists))).toEqual([false, false, false, true, true]);
    const got = await duckRows(await dataFilePaths(after.metadata), 'decode(_kafka_value) AS v', '_kafka_metadata.offset');
    expect(got.map((r) => r.v)).toEqual(Array.from({ length: 50 }, (_, i) => `r${Math.floor(i / 10)}-${i % 10}`));
    const metrics = await scrape(`http://127.0.0.1:${broker.metricsPort}`);
    expect(metricValue(metrics, 'floe_table_expired_snapshots_total', { topic })).toBe(3);
    expect(metricValue(metrics, 'floe_table_deleted_files_total', { topic })).toBe(3);
    // Nothing more to expire: the newest two are kept whatever their age.
    expect(await coordinator.expireSnapshots(Date.now() + 2 * 3_600_000)).toEqual({ snapshots: 0, files: 0 });

    // The metadata log holds two entries and the files that fell off it are gone.
    expect(after.metadata['metadata-log']).toHaveLength(2);
    const metadataFiles = (await tableFiles(after.metadata)).filter((f) => f.endsWith('.metadata.json'));
    expect(metadataFiles.map((f) => `${after.metadata.location}/${f}`).sort()).toEqual([after.metadataLocation, ...after.metadata['metadata-log']!.map((e) => e['metadata-file'])].sort());
  }, 60_000);
});
