// Kill -9 under load: a kafkajs producer with acks=all writes to three
// partitions from several concurrent senders; the broker process is killed
// mid-stream, restarted on the same data directory, and every acknowledged
// record must be there, at its acknowledged offset, exactly once. Run on the
// embedded fs store and on S3 (a real S3-compatible server).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { spawnBroker, type BrokerProcess } from '../helpers/broker.js';
import { readPartition } from '../helpers/records.js';
import { BrokerMetrics } from '../../src/observability/metrics.js';
import { FsObjectStore } from '../../src/storage/objectstore/fs.js';
import { S3ObjectStore } from '../../src/storage/objectstore/s3.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { s3Options } from '../unit/storage/store-kinds.js';
import { knownObjectKeys } from '../helpers/metadata-db.js';
import { tempDir } from '../helpers/tmp.js';

const dirs: { cleanup: () => void }[] = [];
const procs: BrokerProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const d of dirs.splice(0)) d.cleanup();
});

async function produceUntilKilled(broker: BrokerProcess, topic: string, killAfterMs: number, signal: NodeJS.Signals) {
  const kafka = new Kafka({ clientId: 'durability', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  await admin.disconnect();
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  // partition -> offset -> value, for every acknowledged send
  const acked = new Map<number, Map<number, string>>([0, 1, 2].map((p) => [p, new Map()]));
  let stop = false;
  let sends = 0;
  const sender = async (id: number) => {
    for (let n = 0; !stop; n++) {
      const partition = (id + n) % 3;
      const values = Array.from({ length: 1 + (n % 20) }, (_, i) => `s${id}-n${n}-i${i}`);
      try {
        const [r] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) });
        const base = Number(r.baseOffset);
        values.forEach((v, i) => acked.get(partition)!.set(base + i, v));
        sends++;
      } catch {
        return; // the broker went away: this send was never acknowledged
      }
    }
  };
  const senders = Array.from({ length: 6 }, (_, i) => sender(i));
  await new Promise((r) => setTimeout(r, killAfterMs));
  await broker.kill(signal);
  stop = true;
  await Promise.all(senders);
  await producer.disconnect().catch(() => {});
  return { acked, sends };
}

let s3: S3TestServer;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3?.stop());

let prefixes = 0;
/** Every object key in the store the broker writes to (fs directory or S3 prefix). */
type KeyLister = () => Promise<string[]>;
const kinds = [
  {
    store: 'fs',
    setup: (dir: string): { args: string[]; keys: KeyLister } => ({
      args: ['--data-dir', dir],
      keys: async () => {
        const out: string[] = [];
        for await (const o of new FsObjectStore(join(dir, 'objects')).list('')) out.push(o.key);
        return out;
      },
    }),
  },
  {
    store: 's3',
    setup: (dir: string): { args: string[]; keys: KeyLister } => {
      const prefix = `durability-${process.pid}-${++prefixes}/`;
      // 50 ms flushes instead of S3's 250 ms default: more sends, and more uploads in flight for the kill to cut.
      const overrides = { ...s3.brokerOverrides(prefix), 'wal.flush.interval.ms': '50' };
      return {
        args: ['--data-dir', dir, ...Object.entries(overrides).flatMap(([k, v]) => ['--override', `${k}=${v}`])],
        keys: async () => {
          const store = new S3ObjectStore(s3Options(s3, prefix), new BrokerMetrics());
          const out: string[] = [];
          for await (const o of store.list('')) out.push(o.key);
          await store.close();
          return out;
        },
      };
    },
  },
];

describe.each(kinds)('durability on the $store store', ({ store, setup }) => {
  it('keeps every acknowledged record, exactly once at its offset, across kill -9 under load, and sweeps what was never committed', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { args: brokerArgs, keys } = setup(dir.path);
    const first = await spawnBroker(brokerArgs);
    procs.push(first);
    const { acked, sends } = await produceUntilKilled(first, 'crash', 2500, 'SIGKILL');
    expect(sends).toBeGreaterThan(50);

    // Uploads that were in flight at the kill may be in the store without a commit:
    // with a short orphan timeout the restarted broker sweeps them.
    const second = await spawnBroker([...brokerArgs, '--override', 'object.orphan.timeout.ms=1000', '--override', 'log.retention.check.interval.ms=200'], { port: first.port });
    procs.push(second);
    let total = 0;
    for (const [partition, offsets] of acked) {
      const { records, highWatermark } = await readPartition(second.port, 'crash', partition);
      const byOffset = new Map(records.map((r) => [r.offset, r.value]));
      // contiguous: one record per offset from 0 to the high watermark
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: highWatermark }, (_, i) => i));
      for (const [offset, value] of offsets) expect(byOffset.get(offset)).toBe(value);
      const values = records.map((r) => r.value);
      expect(new Set(values).size).toBe(values.length);
      total += offsets.size;
    }
    expect(total).toBeGreaterThan(200);
    // With S3, no record bytes touch the local disk: only the SQLite metadata store is there.
    if (store === 's3') expect(readdirSync(dir.path).filter((f) => !f.startsWith('metadata.db'))).toEqual([]);
    // After the sweep, the store holds exactly the objects the metadata store names.
    const deadline = Date.now() + 10_000;
    let stored = await keys();
    while (Date.now() < deadline && !sameSet(stored, knownObjectKeys(dir.path))) {
      await new Promise((r) => setTimeout(r, 200));
      stored = await keys();
    }
    expect(stored.sort()).toEqual(knownObjectKeys(dir.path).sort());
    expect(stored.length).toBeGreaterThan(0);
  });

  it('flushes what it holds on SIGTERM and comes back with it', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { args: brokerArgs } = setup(dir.path);
    const first = await spawnBroker([...brokerArgs, '--override', 'wal.flush.interval.ms=50']);
    procs.push(first);
    const { acked } = await produceUntilKilled(first, 'graceful', 1000, 'SIGTERM');
    expect(first.output()).toContain('Floe broker stopped');
    const second = await spawnBroker(brokerArgs);
    procs.push(second);
    for (const [partition, offsets] of acked) {
      const { records } = await readPartition(second.port, 'graceful', partition);
      const byOffset = new Map(records.map((r) => [r.offset, r.value]));
      for (const [offset, value] of offsets) expect(byOffset.get(offset)).toBe(value);
    }
  });
});

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sb = new Set(b);
  return a.length === sb.size && a.every((k) => sb.has(k));
}
