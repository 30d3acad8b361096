// End-to-end freshness of a table topic: how long after a produce is
// acknowledged the record is in the table a query engine loads from the
// REST catalog (the current snapshot's floe.kafka.offsets covers it).
//
//   npm run bench:freshness -- [--interval-ms 1000] [--seconds 30] [--rate 20] [--size 256]
//
// A `floe start` child process on the embedded store; kafkajs sends `rate`
// records a second (acks=all) to a raw-layout table topic; the catalog is
// polled every 50 ms. Prints p50/p99/max of acknowledgement → visible.

import { Kafka, logLevel } from 'kafkajs';
import { spawnBroker } from '../test/helpers/broker.js';
import { tempDir } from '../test/helpers/tmp.js';

interface Options {
  intervalMs: number;
  seconds: number;
  rate: number;
  size: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { intervalMs: 1000, seconds: 30, rate: 20, size: 256 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (key === 'interval-ms') o.intervalMs = value;
    else if (key === 'seconds' || key === 'rate' || key === 'size') o[key] = value;
    else throw new Error(`unknown option --${key}`);
  }
  return o;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dir = tempDir('floe-freshness-');
  const broker = await spawnBroker(['--data-dir', dir.path], { env: { FLOE_LOG_LEVEL: 'warn' } });
  try {
    const kafka = new Kafka({ clientId: 'freshness', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: 'fresh', numPartitions: 1, configEntries: [{ name: 'automq.table.topic.enable', value: 'true' }, { name: 'automq.table.topic.commit.interval.ms', value: String(o.intervalMs) }] }],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    // The first commit creates the table; wait for it so table creation is not counted.
    const committed = async (): Promise<number> => {
      const r = await fetch(`${broker.catalogUrl}/v1/namespaces/default/tables/fresh`);
      if (!r.ok) return -1;
      const t = (await r.json()) as { metadata: { 'current-snapshot-id'?: number; snapshots: { 'snapshot-id': number; summary: Record<string, string> }[] } };
      const s = t.metadata.snapshots.find((x) => x['snapshot-id'] === t.metadata['current-snapshot-id']);
      return s === undefined ? 0 : (JSON.parse(s.summary['floe.kafka.offsets'] ?? '{}') as Record<string, number>)['0'] ?? 0;
    };
    await producer.send({ topic: 'fresh', acks: -1, messages: [{ value: 'warm-up' }] });
    while ((await committed()) < 1) await new Promise((r) => setTimeout(r, 50));

    const ackedAt = new Map<number, number>();
    const visibleAt = new Map<number, number>();
    let producing = true;
    const poller = (async () => {
      let seen = 1;
      while (producing || seen <= Math.max(0, ...ackedAt.keys())) {
        const end = await committed();
        const now = performance.now();
        for (; seen < end; seen++) visibleAt.set(seen, now);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const value = Buffer.alloc(o.size, 'x');
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < o.seconds * 1000; i++) {
      const due = t0 + (i * 1000) / o.rate;
      if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      const [r] = await producer.send({ topic: 'fresh', acks: -1, messages: [{ value }] });
      ackedAt.set(Number(r.baseOffset), performance.now());
    }
    producing = false;
    await poller;
    await producer.disconnect();
    const fresh = [...ackedAt].map(([offset, at]) => visibleAt.get(offset)! - at).sort((a, b) => a - b);
    console.log(`floe table freshness: commit.interval.ms=${o.intervalMs}, ${o.rate} records/s of ${o.size} B for ${o.seconds} s, raw layout, catalog polled every 50 ms`);
    console.log(`  acknowledged → visible in the table: p50 ${percentile(fresh, 50).toFixed(0)} ms, p99 ${percentile(fresh, 99).toFixed(0)} ms, max ${fresh[fresh.length - 1].toFixed(0)} ms (${fresh.length} records)`);
  } finally {
    await broker.kill('SIGTERM');
    dir.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
