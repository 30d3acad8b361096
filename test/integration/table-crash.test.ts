// Kill -9 during table commits. The broker is started with
// FLOE_TABLE_CRASH_POINT set to a step of the commit protocol and kills
// itself there (after the data files, after the manifests, after the
// metadata file, after the catalog commit); it is then restarted on the same
// data directory. Another run kills the broker at random moments under a
// continuous produce load. Each time, the table must end up holding every
// record the log committed exactly once (checked with DuckDB over the files
// the manifests name), and no file of a commit that never landed may remain.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import { spawnBroker, type BrokerProcess } from '../helpers/broker.js';
import { committedOffsets, currentSnapshotOf, dataFilePaths, duckRows, liveEntries, readMetadataFile, storedMetadataLocation, tableFiles, waitForTable, type TableJson } from '../helpers/iceberg.js';
import { readPartition } from '../helpers/records.js';
import { readManifestList } from '../../src/table/iceberg/manifest.js';
import { tempDir } from '../helpers/tmp.js';

const dirs: { cleanup: () => void }[] = [];
const procs: BrokerProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const d of dirs.splice(0)) d.cleanup();
});

const TOPIC = 'crashy';
const PARTITIONS = 2;

async function start(dir: string, env: Record<string, string> = {}): Promise<BrokerProcess> {
  const b = await spawnBroker(['--data-dir', dir], { env: { FLOE_LOG_LEVEL: 'warn', ...env } });
  procs.push(b);
  return b;
}

function client(b: BrokerProcess): Kafka {
  return new Kafka({ clientId: 'table-crash', brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

async function createTableTopic(b: BrokerProcess, intervalMs: number): Promise<void> {
  const admin = client(b).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        numPartitions: PARTITIONS,
        configEntries: [
          { name: 'automq.table.topic.enable', value: 'true' },
          { name: 'automq.table.topic.commit.interval.ms', value: String(intervalMs) },
        ],
      },
    ],
  });
  await admin.disconnect();
}

/** Sends `count` records round-robin over the partitions, acks=all; returns partition → offset → value of what was acknowledged. */
async function produce(b: BrokerProcess, prefix: string, count: number, acked = new Map<number, Map<number, string>>()) {
  const producer = client(b).producer();
  await producer.connect();
  for (let p = 0; p < PARTITIONS; p++) {
    const values = Array.from({ length: count / PARTITIONS }, (_, i) => `${prefix}-${p}-${i}`);
    const [r] = await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value, partition: p })) });
    const m = acked.get(p) ?? new Map<number, string>();
    values.forEach((v, i) => m.set(Number(r.baseOffset) + i, v));
    acked.set(p, m);
  }
  await producer.disconnect();
  return acked;
}

async function exitedBySigkill(b: BrokerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (b.proc.exitCode === null && b.proc.signalCode === null) {
    if (Date.now() > deadline) throw new Error(`broker did not reach its crash point in ${timeoutMs} ms:\n${b.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(b.proc.signalCode).toBe('SIGKILL');
}

/** The table's rows as (partition, offset, value), read by DuckDB from the current snapshot's data files. */
async function tableRows(metadata: TableJson): Promise<{ p: number; o: number; v: string }[]> {
  const rows = await duckRows(await dataFilePaths(metadata), '_kafka_metadata.partition AS p, _kafka_metadata.offset AS o, decode(_kafka_value) AS v', 'p, o');
  return rows.map((r) => ({ p: Number(r.p), o: Number(r.o), v: r.v as string }));
}

/** Every record of the log, read with Fetch, as (partition, offset, value). */
async function logRows(b: BrokerProcess): Promise<{ p: number; o: number; v: string }[]> {
  const out: { p: number; o: number; v: string }[] = [];
  for (let p = 0; p < PARTITIONS; p++) for (const r of (await readPartition(b.port, TOPIC, p)).records) out.push({ p, o: r.offset, v: r.value! });
  return out;
}

/** Files under the table's location that its snapshots do not reference (leftovers of commits that never landed). */
async function unreferencedFiles(metadataLocation: string, metadata: TableJson): Promise<string[]> {
  const referenced = new Set<string>([metadataLocation, ...(metadata['metadata-log'] ?? []).map((e) => e['metadata-file'])]);
  for (const s of metadata.snapshots ?? []) {
    referenced.add(s['manifest-list']);
    for (const e of await liveEntries(metadata, s)) referenced.add(e.dataFile.filePath);
  }
  for (const s of metadata.snapshots ?? []) {
    for (const m of await readManifestList(await readFile(fileURLToPath(s['manifest-list'])))) referenced.add(m.manifestPath);
  }
  return (await tableFiles(metadata)).filter((f) => !referenced.has(`${metadata.location}/${f}`));
}

const flatten = (acked: Map<number, Map<number, string>>) =>
  [...acked].flatMap(([p, m]) => [...m].map(([o, v]) => ({ p, o, v }))).sort((a, b) => a.p - b.p || a.o - b.o);

describe('table commits survive kill -9', () => {
  test.each(['after-data-files', 'after-manifests', 'after-metadata-file', 'after-catalog-commit'] as const)(
    'killed %s: after a restart the table holds every record exactly once and no leftover file',
    async (point) => {
      const dir = tempDir('floe-table-crash-');
      dirs.push(dir);
      const first = await start(dir.path, { FLOE_TABLE_CRASH_POINT: point });
      await createTableTopic(first, 200);
      const acked = await produce(first, 'before', 300);
      await exitedBySigkill(first, 20_000);

      // What the crash left, read from the metadata store and the files while the broker is down.
      const location = storedMetadataLocation(dir.path, 'default', TOPIC);
      expect(location).not.toBeNull();
      const metadata = await readMetadataFile(location!);
      const files = await tableFiles(metadata);
      const count = (re: RegExp) => files.filter((f) => re.test(f)).length;
      if (point === 'after-catalog-commit') {
        expect(committedOffsets(metadata)).toEqual({ '0': 150, '1': 150 });
      } else {
        expect(currentSnapshotOf(metadata)).toBeUndefined();
        expect(count(/^data\/floe-.*\.parquet$/)).toBeGreaterThan(0);
        expect(count(/^metadata\/snap-.*\.avro$/)).toBe(point === 'after-data-files' ? 0 : 1);
        expect(count(/^metadata\/\d+-.*\.metadata\.json$/)).toBe(point === 'after-metadata-file' ? 2 : 1);
      }

      const second = await start(dir.path);
      await produce(second, 'after', 200, acked);
      const { metadataLocation, metadata: done } = await waitForTable(second.catalogUrl, 'default', TOPIC, (t) => committedOffsets(t)['0'] === 250 && committedOffsets(t)['1'] === 250);
      expect(await tableRows(done)).toEqual(flatten(acked));
      expect(Number(currentSnapshotOf(done)!.summary['total-records'])).toBe(500);
      expect(await unreferencedFiles(metadataLocation, done)).toEqual([]);
    },
    60_000,
  );

  test('killed between the dead-letter commit and the table commit: after a restart each record is in exactly one of the two tables, once', async () => {
    const dir = tempDir('floe-table-crash-');
    dirs.push(dir);
    const first = await start(dir.path, { FLOE_TABLE_CRASH_POINT: 'after-catalog-commit' });
    const admin = client(first).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 1,
          configEntries: Object.entries({
            'automq.table.topic.enable': 'true',
            'automq.table.topic.commit.interval.ms': '200',
            'automq.table.topic.convert.value.type': 'by_schema_id',
            'automq.table.topic.transform.value.type': 'flatten',
          }).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    await admin.disconnect();
    const { SchemaRegistry } = await import('@kafkajs/confluent-schema-registry');
    const registry = new SchemaRegistry({ host: await first.registryUrl() });
    const { id } = await registry.register({ type: 'AVRO' as never, schema: JSON.stringify({ type: 'record', name: 'N', fields: [{ name: 'n', type: 'int' }] }) } as never, { subject: `${TOPIC}-value` });
    // Every fifth record is not Avro: a dead letter.
    const value = async (i: number) => (i % 5 === 4 ? Buffer.from(`bad-${i}`) : registry.encode(id, { n: i }));
    const producer = client(first).producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, acks: -1, messages: await Promise.all(Array.from({ length: 50 }, async (_, i) => ({ value: await value(i) }))) });
    await producer.disconnect();
    await exitedBySigkill(first, 20_000);
    // The crash came after the dead-letter table's commit, before the table's.
    expect(committedOffsets(await readMetadataFile(storedMetadataLocation(dir.path, 'default', `${TOPIC}_dlq`)!))).toEqual({ '0': 50 });
    const tableLocation = storedMetadataLocation(dir.path, 'default', TOPIC);
    expect(tableLocation === null ? undefined : currentSnapshotOf(await readMetadataFile(tableLocation))).toBeUndefined();

    const second = await start(dir.path);
    const p2 = client(second).producer();
    await p2.connect();
    await p2.send({ topic: TOPIC, acks: -1, messages: await Promise.all(Array.from({ length: 50 }, async (_, k) => ({ value: await value(50 + k) }))) });
    await p2.disconnect();
    const table = await waitForTable(second.catalogUrl, 'default', TOPIC, (t) => committedOffsets(t)['0'] === 100);
    const dlq = await waitForTable(second.catalogUrl, 'default', `${TOPIC}_dlq`, (t) => committedOffsets(t)['0'] === 100);
    const good = await duckRows(await dataFilePaths(table.metadata), 'n, _kafka_metadata.offset AS o', 'o');
    const bad = await duckRows(await dataFilePaths(dlq.metadata), 'decode(_kafka_value) AS v, _kafka_metadata.offset AS o', 'o');
    const all = Array.from({ length: 100 }, (_, i) => i);
    expect(good).toEqual(all.filter((i) => i % 5 !== 4).map((i) => ({ n: i, o: String(i) })));
    expect(bad).toEqual(all.filter((i) => i % 5 === 4).map((i) => ({ v: `bad-${i}`, o: String(i) })));
  }, 60_000);

  test('killed at random moments under load: the table ends up equal to the log, every acknowledged record once', async () => {
    const dir = tempDir('floe-table-crash-');
    dirs.push(dir);
    const acked = new Map<number, Map<number, string>>();
    const kills: number[] = [];
    for (let round = 0; round < 3; round++) {
      const b = await start(dir.path);
      if (round === 0) await createTableTopic(b, 100);
      const producer = client(b).producer({ retry: { retries: 0 } });
      await producer.connect();
      let stop = false;
      const sender = async (id: number) => {
        for (let n = 0; !stop; n++) {
          const partition = (id + n) % PARTITIONS;
          const values = Array.from({ length: 1 + (n % 25) }, (_, i) => `r${round}-s${id}-n${n}-i${i}`);
          try {
            const [r] = await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value, partition })) });
            const m = acked.get(partition) ?? new Map<number, string>();
            values.forEach((v, i) => m.set(Number(r.baseOffset) + i, v));
            acked.set(partition, m);
          } catch {
            return; // the broker went away: not acknowledged
          }
        }
      };
      const senders = Array.from({ length: 4 }, (_, i) => sender(i));
      const after = 1000 + Math.floor(Math.random() * 2500);
      kills.push(after);
      await new Promise((r) => setTimeout(r, after));
      await b.kill('SIGKILL');
      stop = true;
      await Promise.all(senders);
      await producer.disconnect().catch(() => undefined);
    }

    const killedWith = (await readMetadataFile(storedMetadataLocation(dir.path, 'default', TOPIC)!)).snapshots?.length ?? 0;
    expect(killedWith, 'snapshots committed before the last kill').toBeGreaterThan(0);
    const last = await start(dir.path);
    const log = await logRows(last);
    const ends = Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [String(p), log.filter((r) => r.p === p).length]));
    const { metadataLocation, metadata } = await waitForTable(last.catalogUrl, 'default', TOPIC, (t) => JSON.stringify(committedOffsets(t)) === JSON.stringify(ends));
    const rows = await tableRows(metadata);
    expect(rows.length, `kills after ${kills.join(', ')} ms`).toBe(log.length);
    expect(rows).toEqual(log);
    // Every acknowledged record is in the log at its acknowledged offset, hence in the table.
    const byKey = new Map(log.map((r) => [`${r.p}:${r.o}`, r.v]));
    for (const a of flatten(acked)) expect(byKey.get(`${a.p}:${a.o}`)).toBe(a.v);
    expect(flatten(acked).length).toBeGreaterThan(100);
    // No commit landed twice.
    expect(new Set(metadata.snapshots!.map((s) => s.summary['floe.commit-id'])).size).toBe(metadata.snapshots!.length);
    expect(await unreferencedFiles(metadataLocation, metadata)).toEqual([]);
  }, 120_000);
});
