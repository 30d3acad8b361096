// S3 on a bad day: the broker writes through a fault-injecting proxy in front
// of a real S3-compatible server while kafkajs producers keep sending.
// Phases: random 500s, SlowDowns, resets and latency spikes; a full outage in
// which requests hang; recovery; a full outage in which connections are
// reset; recovery. Then the broker is killed with -9 and restarted straight
// on the S3 server, and every acknowledged record must be there, once, at its
// offset. Along the way: no acknowledgement while S3 is down, memory held by
// the write buffer stays bounded (backpressure, throttle_time_ms), and the
// broker recovers by itself.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerMetrics } from '../../src/observability/metrics.js';
import { S3ObjectStore } from '../../src/storage/objectstore/s3.js';
import { Kafka, logLevel } from 'kafkajs';
import { spawnBroker, type BrokerProcess } from '../helpers/broker.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { readPartition } from '../helpers/records.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { knownObjectKeys } from '../helpers/metadata-db.js';
import { tempDir } from '../helpers/tmp.js';
import { s3Options } from '../unit/storage/store-kinds.js';

const PARTITIONS = 3;
const MAX_PENDING = 2 << 20;

let s3: S3TestServer;
let proxy: FaultProxy;
const dir = tempDir();
const procs: BrokerProcess[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
  proxy = await FaultProxy.start(s3.port);
});
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await proxy?.stop();
  await s3?.stop();
  dir.cleanup();
});

const overridesFor = (endpoint: string) =>
  Object.entries({
    ...s3.brokerOverrides('faults/'),
    's3.endpoint': endpoint,
    's3.request.timeout.ms': '1000',
    's3.max.attempts': '3',
    's3.retry.backoff.ms': '50',
    's3.retry.backoff.max.ms': '200',
    'wal.max.pending.bytes': String(MAX_PENDING),
    'wal.flush.bytes': String(256 << 10),
  }).flatMap(([k, v]) => ['--override', `${k}=${v}`]);

interface Ack {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  readonly at: number;
}

describe('S3 faults and outages', () => {
  it('never loses or falsely acknowledges a record through errors, resets, latency and two full outages', async () => {
    const broker = await spawnBroker(['--data-dir', dir.path, ...overridesFor(proxy.endpoint)]);
    procs.push(broker);
    const metricsUrl = await broker.metricsUrl();
    const kafka = new Kafka({ clientId: 'faults', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, requestTimeout: 5000 });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'faults', numPartitions: PARTITIONS }] });
    await admin.disconnect();
    const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
    await producer.connect();

    const acks: Ack[] = [];
    const errors: number[] = [];
    let stop = false;
    // Enough in flight (12 senders x ~120 KB) to fill the 2 MiB write buffer when S3 stalls.
    const payload = 'x'.repeat(12_000);
    const sender = async (id: number) => {
      for (let n = 0; !stop; n++) {
        const partition = (id + n) % PARTITIONS;
        // Fresh values for every attempt: a send that failed is never repeated, so each value is unique.
        const values = Array.from({ length: 1 + (n % 20) }, (_, i) => `s${id}-n${n}-i${i}-${payload}`);
        try {
          const [r] = await producer.send({ topic: 'faults', acks: -1, timeout: 5000, messages: values.map((value) => ({ value, partition })) });
          const at = Date.now();
          values.forEach((value, i) => acks.push({ partition, offset: Number(r.baseOffset) + i, value, at }));
        } catch {
          errors.push(Date.now());
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const senders = Array.from({ length: 12 }, (_, i) => sender(i));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const acksBetween = (from: number, to: number) => acks.filter((a) => a.at >= from && a.at < to).length;
    const samples: { pending: number; rss: number }[] = [];
    const sampler = setInterval(() => {
      scrape(metricsUrl).then(
        (text) => samples.push({ pending: metricValue(text, 'floe_wal_pending_bytes'), rss: metricValue(text, 'floe_process_resident_memory_bytes') }),
        () => {},
      );
    }, 200);

    await sleep(1500);
    const healthy = acks.length;
    expect(healthy).toBeGreaterThan(50);

    // 1. Random faults on about a third of the requests, and latency spikes.
    proxy.setFaults([
      { kind: 'internal_error', probability: 0.15 },
      { kind: 'slow_down', probability: 0.15 },
      { kind: 'reset', probability: 0.1 },
    ]);
    proxy.setLatency({ put: () => (Math.random() < 0.2 ? 400 : 5) });
    const faultsFrom = Date.now();
    // At least 3 s, and until every kind of fault has hit a few requests (at most 15 s).
    while (Date.now() - faultsFrom < 3000 || (Math.min(proxy.injected.internal_error, proxy.injected.slow_down, proxy.injected.reset) < 2 && Date.now() - faultsFrom < 15000)) {
      await sleep(250);
    }
    proxy.setFaults([]);
    proxy.setLatency({});
    const duringFaults = acksBetween(faultsFrom, Date.now());
    // Retries ride most faults out: records keep being acknowledged.
    expect(duringFaults).toBeGreaterThan(20);
    expect(proxy.injected.internal_error).toBeGreaterThanOrEqual(2);
    expect(proxy.injected.slow_down).toBeGreaterThanOrEqual(2);
    expect(proxy.injected.reset).toBeGreaterThanOrEqual(2);

    // 2. A full outage in which S3 accepts requests and never answers.
    const hangFrom = Date.now();
    proxy.startOutage('hang');
    await sleep(6000);
    const hangTo = Date.now();
    proxy.endOutage();
    // 3. Recovery.
    await sleep(4000);
    const afterHang = acksBetween(hangTo, Date.now());
    // 4. A full outage in which every connection is reset.
    const resetFrom = Date.now();
    proxy.startOutage('reset');
    await sleep(3000);
    const resetTo = Date.now();
    proxy.endOutage();
    // 5. Recovery.
    await sleep(4000);
    const afterReset = acksBetween(resetTo, Date.now());
    clearInterval(sampler);
    const text = await scrape(metricsUrl);
    if (afterReset === 0 || afterHang === 0) console.log('broker warnings and errors:\n' + broker.output().split('\n').filter((l) => /"level":(40|50)/.test(l)).slice(-30).join('\n'));
    // The figures a reader of the test log wants.
    console.log(JSON.stringify({ acks: acks.length, healthy, duringFaults, afterHang, afterReset, errors: errors.length, injected: proxy.injected, maxPending: Math.max(...samples.map((s) => s.pending)), throttle: metricValue(text, 'floe_produce_throttle_ms_total') }));

    // No acknowledgement while S3 was down. A flush uploaded just before the
    // outage may still be acknowledged during it, once the flushes ahead of it
    // in commit order have failed (3 attempts of 1 s each when S3 hangs, at
    // once when it resets): after that, nothing.
    expect(acksBetween(hangFrom + 4500, hangTo)).toBe(0);
    expect(acksBetween(resetFrom + 1500, resetTo)).toBe(0);
    // Producers were told (errors or timeouts), and the broker came back by itself.
    expect(errors.filter((t) => t >= hangFrom && t < hangTo + 4000).length).toBeGreaterThan(0);
    expect(errors.filter((t) => t >= resetFrom && t < resetTo + 4000).length).toBeGreaterThan(0);
    expect(afterHang).toBeGreaterThan(20);
    expect(afterReset).toBeGreaterThan(20);
    // Backpressure: what the broker holds unacknowledged never went past its bound
    // (one in-progress batch of slack), and it slowed producers down when filling.
    const maxPending = Math.max(...samples.map((s) => s.pending));
    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(MAX_PENDING + (1 << 20));
    expect(metricValue(text, 'floe_produce_throttle_ms_total')).toBeGreaterThan(0);
    const rss = samples.map((s) => s.rss).filter((v) => v > 0);
    expect(Math.max(...rss)).toBeLessThan(Math.min(...rss) + 256 * 1024 * 1024);
    // What the broker saw: failed attempts by outcome, retries, failed flushes.
    expect(metricValue(text, 'floe_object_store_requests_total', { operation: 'put', outcome: 'server_error' })).toBeGreaterThan(0);
    expect(metricValue(text, 'floe_object_store_requests_total', { operation: 'put', outcome: 'throttled' })).toBeGreaterThan(0);
    expect(metricValue(text, 'floe_object_store_requests_total', { operation: 'put', outcome: 'timeout' })).toBeGreaterThan(0);
    expect(metricValue(text, 'floe_object_store_requests_total', { operation: 'put', outcome: 'network_error' })).toBeGreaterThan(0);
    expect(metricValue(text, 'floe_object_store_retries_total', { operation: 'put' })).toBeGreaterThan(0);
    expect(metricValue(text, 'floe_wal_flushes_total', { result: 'failed' })).toBeGreaterThan(0);

    // Crash while uploads have reached S3 but their answers have not reached
    // the broker: those objects exist and were never committed.
    const putsBefore = proxy.requests.put;
    proxy.holdResponses({ put: 60_000 });
    const holdFrom = Date.now();
    while (Date.now() - holdFrom < 500 || (proxy.requests.put === putsBefore && Date.now() - holdFrom < 5000)) await sleep(50);
    await broker.kill('SIGKILL');
    stop = true;
    await Promise.all(senders);
    await producer.disconnect().catch(() => {});
    const known = () => knownObjectKeys(dir.path);
    const inBucket = async () => {
      const store = new S3ObjectStore(s3Options(s3, 'faults/'), new BrokerMetrics());
      const keys: string[] = [];
      for await (const o of store.list('')) keys.push(o.key);
      await store.close();
      return keys.sort();
    };
    const orphans = (await inBucket()).filter((k) => !known().includes(k));
    expect(orphans.length).toBeGreaterThan(0);
    // Come back on S3 directly (no proxy), with a short orphan timeout so the sweep is seen.
    const restarted = await spawnBroker(['--data-dir', dir.path, ...overridesFor(s3.endpoint), '--override', 'object.orphan.timeout.ms=1000', '--override', 'log.retention.check.interval.ms=200']);
    procs.push(restarted);
    for (let p = 0; p < PARTITIONS; p++) {
      const { records, highWatermark } = await readPartition(restarted.port, 'faults', p);
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: highWatermark }, (_, i) => i));
      const byOffset = new Map(records.map((r) => [r.offset, r.value]));
      const mine = acks.filter((a) => a.partition === p);
      for (const a of mine) expect(byOffset.get(a.offset)).toBe(a.value);
      expect(new Set(records.map((r) => r.value)).size).toBe(records.length);
    }
    expect(acks.length).toBeGreaterThan(healthy + 60);
    // The uploads that were never committed are swept; every committed object stays.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await inBucket()).join() !== known().sort().join()) await sleep(200);
    expect(await inBucket()).toEqual(known().sort());
    for (const k of orphans) expect(known()).not.toContain(k);
    console.log(JSON.stringify({ orphansSwept: orphans.length, objectsLeft: known().length }));
  });
});
