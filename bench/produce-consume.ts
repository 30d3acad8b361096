// Produce-then-consume benchmark against a `floe start` child process.
//
//   npm run bench -- --records 1000000 --size 1024 [--batch 100] [--partitions 6]
//                    [--connections 3] [--inflight 8] [--codec none|gzip|snappy|lz4|zstd]
//                    [--store fs|s3] [--s3-latency none|s3]
//                    [--scenario throughput|cold-read|paced] [--rate-mbps 20] [--seconds 15]
//                    [--read-rate-mbps 0]
//                    [--override key=value ...] [--topic-config key=value ...] [--node-args "--cpu-prof ..."]
//                    [--values random|json] [--warmup-records 0] [--settle-seconds 0] [--latency-log FILE]
//                    [--broker-stdout FILE]
//
// The client is a lean pipelining one built on Floe's own codec, with record
// batches built before the clock starts, so the figures are the broker's:
// throughput, produce latency per request (p50/p99/p999, send to
// acknowledgement), broker CPU seconds per GB from /proc/<pid>/stat, and
// object-store requests per GB from the broker's /metrics. Each produce
// request carries one batch to one partition, acks=all.
//
// --store s3 runs the broker on a local S3-compatible server (s3rver) behind
// the fault proxy; --s3-latency s3 makes the proxy add S3-like latency
// (PUT p50 ~20 ms, p99 ~100 ms; GET p50 ~12 ms, p99 ~60 ms).
//
// --warmup-records N (throughput): N records produced first and not measured,
// so that the produce figures are of a broker whose caches and heap have
// reached their size (the first GB or so of a fresh process faults in every
// page it touches). The consume phase reads them too.
//
// --settle-seconds N (throughput): a pause of N s between produce and
// consume, for compaction to rewrite the backlog into stream objects (with
// --override compaction.interval.ms=… shorter than its 60 s default), so that
// the consume phase reads a backlog as it would be hours later.
//
// --scenario paced: one producer at --rate-mbps for --seconds (open loop),
// its latency and the broker's CPU; with --topic-config
// automq.table.topic.enable=true, the cost of table topics to producers.
//
// --scenario cold-read: a backlog is written first, then a paced tail producer
// runs alone and then alongside a consumer catching up from offset 0 (in a
// worker thread), and the producer's latency is compared (AutoMQ's claim:
// cold reads do not affect writes). On S3, each phase's PUT latency at the
// proxy is printed too. --read-rate-mbps paces that consumer
// (0, the default: as fast as it can).
//
// --latency-log FILE (paced): one line per produce request, "<sent ms after
// the start> <latency ms>", to see when the slow ones happen.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { decodeResponse, encodeRequest } from '../src/protocol/frame.js';
import { CreateTopics, Fetch, Metadata, Produce } from '../src/protocol/messages/index.js';
import { FrameDecoder } from '../src/network/frame-decoder.js';
import { baseOffsetOf, COMPRESSION_NAMES, lastOffsetOf, splitBatches } from '../src/protocol/records/batch.js';
import { buildBatch } from '../src/protocol/records/builder.js';
import { BrokerConfig } from '../src/config/broker-config.js';
import { BROKER_NODE_FLAGS } from '../src/cli/node-flags.js';
import type { ApiSpec, Decoded, Encodable } from '../src/protocol/spec.js';
import { FaultProxy, latencyProfiles } from '../test/helpers/fault-proxy.js';
import { metricValue, scrape } from '../test/helpers/metrics.js';
import { startS3Server, type S3TestServer } from '../test/helpers/s3-server.js';

interface Options {
  records: number;
  size: number;
  batch: number;
  partitions: number;
  connections: number;
  inflight: number;
  codec: string;
  overrides: string[];
  values: 'random' | 'json';
  /** Configs of the bench topic, e.g. automq.table.topic.enable=true. */
  topicConfigs: string[];
  /** Extra node flags for the broker process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
  nodeArgs: string[];
  store: 'fs' | 's3';
  s3Latency: 'none' | 's3';
  scenario: 'throughput' | 'cold-read' | 'paced';
  /** cold-read: the tail producer's rate and how long each phase runs. */
  rateMbps: number;
  /** cold-read: the catch-up reader's pace in MB/s (0: as fast as it can). */
  readRateMbps: number;
  seconds: number;
  warmupRecords: number;
  settleSeconds: number;
  latencyLog: string | null;
  /** Where the broker's stdout goes (its logs, or --trace-gc output); the bench's stderr when unset. */
  brokerStdout: string | null;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    records: 1_000_000,
    size: 1024,
    batch: 100,
    partitions: 6,
    connections: 3,
    inflight: 8,
    codec: 'none',
    overrides: [],
    topicConfigs: [],
    values: 'random',
    nodeArgs: [],
    store: 'fs',
    s3Latency: 'none',
    scenario: 'throughput',
    rateMbps: 20,
    readRateMbps: 0,
    seconds: 15,
    warmupRecords: 0,
    settleSeconds: 0,
    latencyLog: null,
    brokerStdout: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    const value = argv[++i];
    if (key === 'override') o.overrides.push(value);
    else if (key === 'topic-config') o.topicConfigs.push(value);
    else if (key === 'values') o.values = value === 'json' ? 'json' : 'random';
    else if (key === 'node-args') o.nodeArgs.push(...value.split(' ').filter(Boolean));
    else if (key === 'codec') o.codec = value;
    else if (key === 'store') o.store = value === 's3' ? 's3' : 'fs';
    else if (key === 's3-latency') o.s3Latency = value === 's3' ? 's3' : 'none';
    else if (key === 'scenario') o.scenario = value === 'cold-read' || value === 'paced' ? value : 'throughput';
    else if (key === 'rate-mbps') o.rateMbps = Number(value);
    else if (key === 'read-rate-mbps') o.readRateMbps = Number(value);
    else if (key === 'warmup-records') o.warmupRecords = Number(value);
    else if (key === 'settle-seconds') o.settleSeconds = Number(value);
    else if (key === 'latency-log') o.latencyLog = value;
    else if (key === 'broker-stdout') o.brokerStdout = value;
    else if (key in o) (o as unknown as Record<string, number>)[key] = Number(value);
    else throw new Error(`unknown option --${key}`);
  }
  return o;
}

/** One connection with pipelined requests; responses come back in order. */
class Conn {
  private readonly frames = new FrameDecoder(0x7fffffff);
  private readonly pending: ((frame: Buffer) => void)[] = [];
  private correlation = 0;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    // The broker's own frame splitter: whole frames, no quadratic re-copying of large responses.
    socket.on('data', (d: Buffer) => {
      for (const frame of this.frames.push(d)) this.pending.shift()?.(frame);
    });
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  async request<A extends ApiSpec>(api: A, version: number, body: Encodable<A['request']>): Promise<Decoded<A['response']>> {
    const id = ++this.correlation;
    const frame = new Promise<Buffer>((resolve) => this.pending.push(resolve));
    this.socket.write(encodeRequest(api, version, id, 'floe-bench', body));
    return decodeResponse(api, api.response, version, await frame).body as Decoded<A['response']>;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** User and system CPU time of a process, in seconds (all its threads). */
function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }; // CLK_TCK is 100 on Linux
}

function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startBroker(dataDir: string, port: number, overrides: string[], nodeArgs: string[], stdoutFile: string | null): Promise<ChildProcess> {
  const bin = fileURLToPath(new URL('../../bin/floe.js', import.meta.url));
  const args = [...BROKER_NODE_FLAGS, ...nodeArgs, bin, 'start', '--data-dir', dataDir, '--port', String(port), ...overrides.flatMap((o) => ['--override', o])];
  // Never a pipe nobody reads: a broker that logs past the pipe's buffer would stall on its writes.
  const stdout = stdoutFile === null ? 2 : openSync(stdoutFile, 'w');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', stdout, 'inherit'], env: { ...process.env, FLOE_LOG_LEVEL: 'warn', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return proc;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('broker did not start');
}

/** Object-store requests the broker made so far, by operation (from its /metrics). */
async function storeRequests(metricsPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^floe_object_store_requests_total\{operation="([^"]+)",outcome="[^"]+"\} (\S+)$/gm)) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  return out;
}

/** Records the log holds and the table has not committed yet (floe_table_lag_records), all topics. */
async function tableLag(metricsPort: number): Promise<number> {
  return metricValue(await scrape(`http://127.0.0.1:${metricsPort}`), 'floe_table_lag_records');
}

const WAL_STAGES = ['prepare', 'upload', 'commit_wait', 'commit', 'total'] as const;

/**
 * Counts from the broker's histograms at a phase's start or end: produce
 * requests, and those slower than 10 and 25 ms as the broker timed them
 * (floe_request_seconds, from decoded request to encoded response); WAL
 * flushes, and those over 10 ms by stage (floe_wal_flush_seconds); the
 * event loop's delay since the scrape before. Against
 * what the client saw, they say how much of a rise is the broker's, apart
 * from this process waiting for a core.
 */
interface PhaseCounts {
  /** The broker's event-loop delay since the previous scrape. */
  readonly lag: { p50: number; p99: number; max: number };
  readonly produce: { readonly count: number; readonly over10: number; readonly over25: number };
  readonly wal: Record<string, { readonly count: number; readonly over10: number }>;
}

async function phaseCounts(metricsPort: number): Promise<PhaseCounts> {
  const text = await scrape(`http://127.0.0.1:${metricsPort}`);
  const count = metricValue(text, 'floe_request_seconds_count', { api: 'Produce' });
  const upTo = (le: string) => metricValue(text, 'floe_request_seconds_bucket', { api: 'Produce', le });
  const wal = Object.fromEntries(
    WAL_STAGES.map((stage) => {
      const n = metricValue(text, 'floe_wal_flush_seconds_count', { stage });
      return [stage, { count: n, over10: n - metricValue(text, 'floe_wal_flush_seconds_bucket', { stage, le: '0.01' }) }];
    }),
  );
  return { lag: eventLoopLagOf(text), produce: { count, over10: count - upTo('0.01'), over25: count - upTo('0.025') }, wal };
}

const percent = (k: number, of: number) => `${((100 * k) / Math.max(1, of)).toFixed(2)}%`;

function slowShareLine(from: PhaseCounts, to: PhaseCounts, client: number[]): string {
  const n = to.produce.count - from.produce.count;
  const c10 = client.filter((ms) => ms > 10).length;
  const c25 = client.filter((ms) => ms > 25).length;
  return `broker ${percent(to.produce.over10 - from.produce.over10, n)} over 10 ms, ${percent(to.produce.over25 - from.produce.over25, n)} over 25 ms; client ${percent(c10, client.length)}, ${percent(c25, client.length)}`;
}

function walStageLine(from: PhaseCounts, to: PhaseCounts): string {
  const n = to.wal.total.count - from.wal.total.count;
  return `${n} flushes; over 10 ms: ${WAL_STAGES.map((st) => `${st} ${percent(to.wal[st].over10 - from.wal[st].over10, n)}`).join(', ')}`;
}

/** This process's own event-loop delay over `run`: a producer waiting for a core shows here, not in the broker. */
async function withOwnLag<T>(run: () => Promise<T>): Promise<{ result: T; lag: { p50: number; p99: number; max: number } }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const result = await run();
  h.disable();
  return { result, lag: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 } };
}

function lagLine(lag: { p50: number; p99: number; max: number }): string {
  return `p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms`;
}

/** The broker's event-loop delay since the previous scrape (prom-client starts its histogram over at every scrape). */
function eventLoopLagOf(text: string): { p50: number; p99: number; max: number } {
  const get = (name: string) => metricValue(text, `floe_nodejs_eventloop_lag_${name}_seconds`) * 1000;
  return { p50: get('p50'), p99: get('p99'), max: get('max') };
}

async function eventLoopLag(metricsPort: number): Promise<{ p50: number; p99: number; max: number }> {
  return eventLoopLagOf(await scrape(`http://127.0.0.1:${metricsPort}`));
}

/** Compaction commits so far, of every kind and result. */
async function compactions(metricsPort: number): Promise<number> {
  return metricValue(await scrape(`http://127.0.0.1:${metricsPort}`), 'floe_compactions_total');
}

/** Seconds the broker's main thread spent in GC so far, by kind (prom-client's default metrics). */
async function gcSeconds(metricsPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^floe_nodejs_gc_duration_seconds_sum\{kind="([^"]+)"\} (\S+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

const perGb = (counts: Record<string, number>, gb: number) =>
  Object.entries(counts)
    .map(([k, v]) => `${k} ${(v / gb).toFixed(0)}`)
    .join(', ') || 'none';

const latencyLine = (l: number[]) => {
  const sorted = [...l].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, p999 ${percentile(sorted, 99.9).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms (${sorted.length} requests)`;
};

const line = (k: string, v: string) => console.log(`${k.padEnd(34)} ${v}`);

interface Env {
  readonly o: Options;
  readonly port: number;
  readonly metricsPort: number;
  readonly pid: number;
  readonly topicId: string;
  readonly templates: Buffer[];
  readonly proxy: FaultProxy | null;
  /** wal.flush.interval.ms as the broker resolved it (its default depends on object.store). */
  readonly flushIntervalMs: number;
}

/**
 * The S3 PUTs since `from` as the broker met them (measured at the fault
 * proxy: injected latency, body transfer, the server's own time), and the
 * issue's bound for produce p99 on S3: PUT p99 + flush interval + 20 ms.
 */
function putLatencyLines(env: Env, from: number): void {
  if (env.proxy === null) return;
  const puts = env.proxy.durations.put.slice(from);
  if (puts.length === 0) return;
  const sorted = [...puts].sort((a, b) => a - b);
  line('S3 PUT latency (at the proxy)', latencyLine(puts));
  line('produce p99 bound', `PUT p99 ${percentile(sorted, 99).toFixed(2)} + flush interval ${env.flushIntervalMs} + 20 = ${(percentile(sorted, 99) + env.flushIntervalMs + 20).toFixed(2)} ms`);
}

function produceRequest(env: Env, i: number) {
  return {
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench', partitionData: [{ index: i % env.o.partitions, records: env.templates[i % env.templates.length] }] }],
  };
}

/** Closed loop: connections x inflight workers send `requests` produce requests as fast as acknowledged. */
async function produceAll(env: Env, requests: number): Promise<{ latencies: number[]; seconds: number }> {
  const conns = await Promise.all(Array.from({ length: env.o.connections }, () => Conn.open(env.port)));
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async (conn: Conn) => {
    for (;;) {
      const i = next++;
      if (i >= requests) return;
      const started = performance.now();
      const res = await conn.request(Produce, 11, produceRequest(env, i));
      latencies.push(performance.now() - started);
      const err = res.responses[0].partitionResponses[0].errorCode;
      if (err !== 0) throw new Error(`produce failed with error ${err}`);
    }
  };
  await Promise.all(conns.flatMap((c) => Array.from({ length: env.o.inflight }, () => worker(c))));
  const seconds = (performance.now() - t0) / 1000;
  for (const c of conns) c.close();
  return { latencies, seconds };
}

/** Reads every partition from offset 0 to `ends`; returns records and batch bytes read. */
async function consumeAll(env: Env, ends: number[], stopEarly?: () => boolean, rateMbps = 0): Promise<{ records: number; bytes: number; seconds: number }> {
  const consumer = await Conn.open(env.port);
  const t1 = performance.now();
  let records = 0;
  let bytes = 0;
  const offsets = new Array<number>(env.o.partitions).fill(0);
  while (offsets.some((off, p) => off < ends[p]) && !(stopEarly?.() ?? false)) {
    const res = await consumer.request(Fetch, 16, {
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: 64 << 20,
      topics: [{ topicId: env.topicId, partitions: offsets.map((fetchOffset, partition) => ({ partition, fetchOffset, partitionMaxBytes: 8 << 20 })) }],
    });
    for (const part of res.responses[0].partitions) {
      const recs = part.records;
      if (recs === null || recs.length === 0) continue;
      for (const span of splitBatches(recs).spans) {
        const base = baseOffsetOf(recs, span.position);
        const last = lastOffsetOf(recs, span.position);
        if (last < offsets[part.partitionIndex] || offsets[part.partitionIndex] >= ends[part.partitionIndex]) continue;
        records += last - Math.max(base, offsets[part.partitionIndex]) + 1;
        bytes += span.size;
        offsets[part.partitionIndex] = last + 1;
      }
    }
    // Paced: the next fetch waits until the bytes so far are due.
    const due = rateMbps > 0 ? t1 + bytes / (rateMbps * 1e3) - performance.now() : 0;
    if (due > 0) await new Promise((r) => setTimeout(r, due));
  }
  consumer.close();
  return { records, bytes, seconds: (performance.now() - t1) / 1000 };
}

/**
 * Open loop: produce requests at a fixed rate for `seconds`, whatever the
 * answers; latency of each, in the order of their answers. With
 * --latency-log, also when each was sent.
 */
async function producePaced(env: Env, seconds: number, firstIndex: number): Promise<number[]> {
  const conn = await Conn.open(env.port);
  const requestBytes = env.o.batch * env.o.size;
  const periodMs = (requestBytes / (env.o.rateMbps * 1e6)) * 1000;
  const latencies: number[] = [];
  const log: string[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
    const due = t0 + i * periodMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const started = performance.now();
    pending.push(
      conn.request(Produce, 11, produceRequest(env, firstIndex + i)).then((res) => {
        const ms = performance.now() - started;
        latencies.push(ms);
        if (env.o.latencyLog !== null) log.push(`${(started - t0).toFixed(1)} ${ms.toFixed(2)}`);
        const err = res.responses[0].partitionResponses[0].errorCode;
        if (err !== 0) throw new Error(`produce failed with error ${err}`);
      }),
    );
  }
  await Promise.all(pending);
  conn.close();
  if (env.o.latencyLog !== null) writeFileSync(env.o.latencyLog, `${log.join('\n')}\n`);
  return latencies;
}

async function throughput(env: Env): Promise<void> {
  const { o, pid } = env;
  const requests = Math.ceil(o.records / o.batch);
  const payloadBytes = requests * o.batch * o.size;
  const gb = payloadBytes / 1e9;
  const mb = payloadBytes / 1e6;
  const warmup = Math.ceil(o.warmupRecords / o.batch);
  if (warmup > 0) {
    const w = await produceAll(env, warmup);
    line('warm-up, not measured', `${((warmup * o.batch * o.size) / 1e6).toFixed(0)} MB produced in ${w.seconds.toFixed(1)} s`);
  }
  const req0 = await storeRequests(env.metricsPort);
  const puts0 = env.proxy?.durations.put.length ?? 0;
  const cpu0 = cpuSeconds(pid);
  const split0 = cpuTimes(pid);
  const produced = await produceAll(env, requests);
  const produceCpu = cpuSeconds(pid) - cpu0;
  const split1 = cpuTimes(pid);
  const req1 = await storeRequests(env.metricsPort);

  // An old backlog has been through compaction: its reads are of stream objects' blocks, not of the WAL's objects.
  if (o.settleSeconds > 0) {
    const c0 = await compactions(env.metricsPort);
    await new Promise((r) => setTimeout(r, o.settleSeconds * 1000));
    line('settled, not measured', `${o.settleSeconds} s; ${(await compactions(env.metricsPort)) - c0} compaction commits meanwhile`);
  }

  // Consume everything back from offset 0 (LogCache for what is still in memory, object reads for the rest).
  const perPartition = (n: number, p: number) => Math.ceil((n - p) / o.partitions) * o.batch;
  const ends = Array.from({ length: o.partitions }, (_, p) => perPartition(warmup, p) + perPartition(requests, p));
  const consumeGb = ((warmup + requests) * o.batch * o.size) / 1e9;
  const cpu1 = cpuSeconds(pid);
  const split2 = cpuTimes(pid);
  const consumed = await consumeAll(env, ends);
  const consumeCpu = cpuSeconds(pid) - cpu1;
  const split3 = cpuTimes(pid);
  const req2 = await storeRequests(env.metricsPort);

  line('produce throughput', `${(mb / produced.seconds).toFixed(1)} MB/s, ${((requests * o.batch) / produced.seconds).toFixed(0)} records/s`);
  line('produce latency per request', latencyLine(produced.latencies));
  putLatencyLines(env, puts0);
  line('broker CPU, produce', `${produceCpu.toFixed(2)} s = ${(produceCpu / gb).toFixed(2)} CPU-s/GB (user ${(split1.user - split0.user).toFixed(2)} s, system ${(split1.system - split0.system).toFixed(2)} s)`);
  line('object store requests per GB written', perGb(diff(req1, req0), gb));
  line('consume throughput', `${((consumeGb * 1000) / consumed.seconds).toFixed(1)} MB/s, ${(consumed.records / consumed.seconds).toFixed(0)} records/s (${consumed.records} records, ${(consumed.bytes / 1e6).toFixed(0)} MB of batches)`);
  line('broker CPU, consume', `${consumeCpu.toFixed(2)} s = ${(consumeCpu / consumeGb).toFixed(2)} CPU-s/GB (user ${(split3.user - split2.user).toFixed(2)} s, system ${(split3.system - split2.system).toFixed(2)} s)`);
  line('object store requests per GB read', perGb(diff(req2, req1), consumeGb));
  if (consumed.records !== (warmup + requests) * o.batch) throw new Error(`consumed ${consumed.records} records, produced ${(warmup + requests) * o.batch}`);
}

async function paced(env: Env): Promise<void> {
  const { o, pid } = env;
  // A table topic's coordinator and its modules load once, when the topic is created: not part of the steady state measured.
  await new Promise((r) => setTimeout(r, 3000));
  await eventLoopLag(env.metricsPort); // prom-client resets its event-loop histogram at each scrape
  const req0 = await storeRequests(env.metricsPort);
  const gc0 = await gcSeconds(env.metricsPort);
  const puts0 = env.proxy?.durations.put.length ?? 0;
  const cpu0 = cpuSeconds(pid);
  const latencies = await producePaced(env, o.seconds, 0);
  const cpu = cpuSeconds(pid) - cpu0;
  const lag = await eventLoopLag(env.metricsPort);
  const req1 = await storeRequests(env.metricsPort);
  line(`paced produce, ${o.rateMbps} MB/s for ${o.seconds} s`, latencyLine(latencies));
  putLatencyLines(env, puts0);
  line('broker CPU meanwhile', `${cpu.toFixed(2)} s = ${(cpu / o.seconds).toFixed(2)} cores`);
  line('broker event-loop delay', lagLine(lag));
  const gb = (latencies.length * o.batch * o.size) / 1e9;
  line('object store requests meanwhile', `${perGb(diff(req1, req0), 1)} (per GB: ${perGb(diff(req1, req0), gb)})`);
  line('broker main-thread GC', Object.entries(diff(await gcSeconds(env.metricsPort), gc0)).map(([k, v]) => `${k} ${(v * 1000).toFixed(0)} ms`).join(', ') || 'none');
  if (o.topicConfigs.includes('automq.table.topic.enable=true')) {
    // Whether conversion kept up (computed at each scrape); it holds up to a commit interval's records even when it does.
    const atEnd = await tableLag(env.metricsPort);
    await new Promise((r) => setTimeout(r, 15_000));
    line('table lag (records)', `${atEnd} at the end, ${await tableLag(env.metricsPort)} 15 s later; ${latencies.length * o.batch} produced`);
  }
}

async function coldRead(env: Env): Promise<void> {
  const { o } = env;
  // 1. The backlog a catching-up consumer will read.
  const backlogRequests = Math.ceil(o.records / o.batch);
  await produceAll(env, backlogRequests);
  const ends = Array.from({ length: o.partitions }, (_, p) => Math.ceil((backlogRequests - p) / o.partitions) * o.batch);
  const backlogMb = (backlogRequests * o.batch * o.size) / 1e6;
  line('backlog', `${backlogMb.toFixed(0)} MB in ${o.partitions} partitions`);
  // 2. The tail producer alone.
  const putsAlone = env.proxy?.durations.put.length ?? 0;
  const countsAlone0 = await phaseCounts(env.metricsPort);
  const { result: alone, lag: ownLagAlone } = await withOwnLag(() => producePaced(env, o.seconds, backlogRequests));
  const countsAlone1 = await phaseCounts(env.metricsPort);
  line(`tail produce alone, ${o.rateMbps} MB/s`, latencyLine(alone));
  line('broker event-loop delay', lagLine(countsAlone1.lag));
  line('producer event-loop delay', lagLine(ownLagAlone));
  line('slow produce requests', slowShareLine(countsAlone0, countsAlone1, alone));
  line('WAL flushes', walStageLine(countsAlone0, countsAlone1));
  putLatencyLines(env, putsAlone);
  // 3. The same, with a consumer reading the backlog from offset 0 meanwhile:
  // in a worker thread, so that decoding its large responses never delays
  // this thread's sends or the timing of their acknowledgements.
  const req0 = await storeRequests(env.metricsPort);
  const putsWithRead = env.proxy?.durations.put.length ?? 0;
  const worker = new Worker(new URL(import.meta.url), { workerData: { coldReader: { port: env.port, topicId: env.topicId, partitions: o.partitions, ends, rateMbps: o.readRateMbps } } });
  const read = new Promise<{ records: number; bytes: number; seconds: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const countsWithRead0 = await phaseCounts(env.metricsPort);
  const { result: withRead, lag: ownLagWithRead } = await withOwnLag(() => producePaced(env, o.seconds, backlogRequests + 1_000_000));
  const countsWithRead1 = await phaseCounts(env.metricsPort);
  worker.postMessage('stop');
  const result = await read;
  await worker.terminate();
  const req1 = await storeRequests(env.metricsPort);
  line(`tail produce + cold read`, latencyLine(withRead));
  line('broker event-loop delay', lagLine(countsWithRead1.lag));
  line('producer event-loop delay', lagLine(ownLagWithRead));
  line('slow produce requests', slowShareLine(countsWithRead0, countsWithRead1, withRead));
  line('WAL flushes', walStageLine(countsWithRead0, countsWithRead1));
  // On S3, how much of a rise is the S3 server's (on the same cores here) and not the broker's.
  putLatencyLines(env, putsWithRead);
  line('cold reader (worker thread)', `${(result.bytes / 1e6 / result.seconds).toFixed(1)} MB/s, ${(result.bytes / 1e6).toFixed(0)} MB read from offset 0 while producing`);
  line('object store requests meanwhile', perGb(diff(req1, req0), 1));
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const codec = COMPRESSION_NAMES.indexOf(o.codec as (typeof COMPRESSION_NAMES)[number]);
  if (codec < 0) throw new Error(`unknown codec ${o.codec}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'floe-bench-'));
  const port = await freePort();
  const metricsPort = await freePort();
  let s3: S3TestServer | null = null;
  let proxy: FaultProxy | null = null;
  const overrides = [...o.overrides, `metrics.port=${metricsPort}`, 'schema.registry.enable=false', 'iceberg.catalog.enable=false'];
  if (o.store === 's3') {
    s3 = await startS3Server();
    proxy = await FaultProxy.start(s3.port);
    if (o.s3Latency === 's3') proxy.setLatency({ put: latencyProfiles.s3Put, multipart: latencyProfiles.s3Put, get: latencyProfiles.s3Get });
    overrides.unshift(...Object.entries({ ...s3.brokerOverrides('bench/'), 's3.endpoint': proxy.endpoint }).map(([k, v]) => `${k}=${v}`));
  }
  const broker = await startBroker(dataDir, port, overrides, o.nodeArgs, o.brokerStdout);
  const pid = broker.pid as number;
  try {
    const admin = await Conn.open(port);
    const configs = o.topicConfigs.map((c) => ({ name: c.slice(0, c.indexOf('=')), value: c.slice(c.indexOf('=') + 1) }));
    await admin.request(CreateTopics, 7, { topics: [{ name: 'bench', numPartitions: o.partitions, replicationFactor: 1, configs }], timeoutMs: 10000 });
    const topicId = (await admin.request(Metadata, 12, { topics: [{ name: 'bench' }] })).topics[0].topicId;
    admin.close();
    // Batches are built before the clock starts: random values (incompressible, the worst case for bytes),
    // or with --values json, JSON events (compressible as application data is).
    let n = 0;
    const json = () => {
      n++;
      const event = { id: n, user: `user-${n % 5000}`, action: ['view', 'click', 'buy'][n % 3], page: `/products/${n % 977}`, ts: 1_790_000_000_000 + n, tags: ['a', 'b', 'c'].slice(0, n % 4) };
      const text = JSON.stringify(event);
      return Buffer.from(text.length >= o.size ? text.slice(0, o.size) : text + ' '.repeat(o.size - text.length));
    };
    const value = o.values === 'json' ? json : () => Buffer.from(Array.from({ length: o.size }, () => Math.floor(Math.random() * 256)));
    const templates = await Promise.all(Array.from({ length: 16 }, () => buildBatch(Array.from({ length: o.batch }, () => ({ value: value() })), { compression: codec })));
    console.log(
      `floe bench (${o.scenario}): ${o.store === 's3' ? `s3 store (s3rver${o.s3Latency === 's3' ? ', S3-like latency' : ''})` : 'fs store'}, ${o.records} records x ${o.size} B (${o.values}), batches of ${o.batch}, codec ${o.codec}, ${o.partitions} partitions, ${o.connections} connections x ${o.inflight} in flight, acks=all${o.overrides.length > 0 ? `, ${o.overrides.join(' ')}` : ''}${o.topicConfigs.length > 0 ? `, topic ${o.topicConfigs.join(' ')}` : ''}`,
    );
    const resolved = BrokerConfig.load({ overrides: Object.fromEntries(overrides.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) });
    const env: Env = { o, port, metricsPort, pid, topicId, templates, proxy, flushIntervalMs: resolved.int('wal.flush.interval.ms') };
    if (o.scenario === 'cold-read') await coldRead(env);
    else if (o.scenario === 'paced') await paced(env);
    else await throughput(env);
  } finally {
    broker.kill('SIGTERM');
    await new Promise((r) => broker.once('exit', r));
    await proxy?.stop();
    await s3?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The cold-read scenario's consumer, run in a worker thread. */
interface ColdReaderData {
  port: number;
  topicId: string;
  partitions: number;
  ends: number[];
  rateMbps: number;
}

async function coldReaderThread(data: ColdReaderData): Promise<void> {
  let stop = false;
  parentPort?.once('message', () => (stop = true));
  const env = { o: { partitions: data.partitions }, port: data.port, topicId: data.topicId } as Env;
  const result = await consumeAll(env, data.ends, () => stop, data.rateMbps);
  parentPort?.postMessage(result);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  void coldReaderThread((workerData as { coldReader: ColdReaderData }).coldReader);
}
