// Produce-then-consume benchmark against a `floe start` child process.
//
//   npm run bench -- --records 1000000 --size 1024 [--batch 100] [--partitions 6]
//                    [--connections 3] [--inflight 8] [--codec none|gzip|snappy|lz4|zstd]
//                    [--override key=value ...] [--node-args "--cpu-prof ..."]
//
// The client is a lean pipelining one built on Floe's own codec, with record
// batches built before the clock starts, so the figures are the broker's:
// throughput, produce latency per request (p50/p99, send to acknowledgement),
// and broker CPU seconds per GB from /proc/<pid>/stat. Each produce request
// carries one batch per partition it is sent to, acks=all.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeResponse, encodeRequest } from '../src/protocol/frame.js';
import { CreateTopics, Fetch, Metadata, Produce } from '../src/protocol/messages/index.js';
import { FrameDecoder } from '../src/network/frame-decoder.js';
import { baseOffsetOf, COMPRESSION_NAMES, lastOffsetOf, splitBatches } from '../src/protocol/records/batch.js';
import { buildBatch } from '../src/protocol/records/builder.js';
import type { ApiSpec, Decoded, Encodable } from '../src/protocol/spec.js';

interface Options {
  records: number;
  size: number;
  batch: number;
  partitions: number;
  connections: number;
  inflight: number;
  codec: string;
  overrides: string[];
  /** Extra node flags for the broker process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
  nodeArgs: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { records: 1_000_000, size: 1024, batch: 100, partitions: 6, connections: 3, inflight: 8, codec: 'none', overrides: [], nodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    const value = argv[++i];
    if (key === 'override') o.overrides.push(value);
    else if (key === 'node-args') o.nodeArgs.push(...value.split(' ').filter(Boolean));
    else if (key === 'codec') o.codec = value;
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

async function startBroker(dataDir: string, port: number, overrides: string[], nodeArgs: string[]): Promise<ChildProcess> {
  const bin = fileURLToPath(new URL('../../bin/floe.js', import.meta.url));
  const args = [...nodeArgs, bin, 'start', '--data-dir', dataDir, '--port', String(port), ...overrides.flatMap((o) => ['--override', o])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FLOE_LOG_LEVEL: 'warn' } });
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

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const codec = COMPRESSION_NAMES.indexOf(o.codec as (typeof COMPRESSION_NAMES)[number]);
  if (codec < 0) throw new Error(`unknown codec ${o.codec}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'floe-bench-'));
  const port = await freePort();
  const broker = await startBroker(dataDir, port, o.overrides, o.nodeArgs);
  const pid = broker.pid as number;
  try {
    const admin = await Conn.open(port);
    await admin.request(CreateTopics, 7, { topics: [{ name: 'bench', numPartitions: o.partitions, replicationFactor: 1 }], timeoutMs: 10000 });
    const topicId = (await admin.request(Metadata, 12, { topics: [{ name: 'bench' }] })).topics[0].topicId;

    // Batches are built before the clock starts: random values (incompressible, the worst case for bytes).
    const value = () => Buffer.from(Array.from({ length: o.size }, () => Math.floor(Math.random() * 256)));
    const templates = await Promise.all(Array.from({ length: 16 }, () => buildBatch(Array.from({ length: o.batch }, () => ({ value: value() })), { compression: codec })));
    const requests = Math.ceil(o.records / o.batch);
    const payloadBytes = requests * o.batch * o.size;
    const conns = await Promise.all(Array.from({ length: o.connections }, () => Conn.open(port)));

    const latencies: number[] = [];
    let next = 0;
    const cpu0 = cpuSeconds(pid);
    const split0 = cpuTimes(pid);
    const t0 = performance.now();
    const worker = async (conn: Conn) => {
      for (;;) {
        const i = next++;
        if (i >= requests) return;
        const started = performance.now();
        const res = await conn.request(Produce, 11, {
          acks: -1,
          timeoutMs: 30000,
          topicData: [{ name: 'bench', partitionData: [{ index: i % o.partitions, records: templates[i % templates.length] }] }],
        });
        latencies.push(performance.now() - started);
        const err = res.responses[0].partitionResponses[0].errorCode;
        if (err !== 0) throw new Error(`produce failed with error ${err}`);
      }
    };
    await Promise.all(conns.flatMap((c) => Array.from({ length: o.inflight }, () => worker(c))));
    const produceSeconds = (performance.now() - t0) / 1000;
    const produceCpu = cpuSeconds(pid) - cpu0;
    const split1 = cpuTimes(pid);

    // Consume everything back from offset 0 (LogCache for what is still in memory, object reads for the rest).
    const consumer = await Conn.open(port);
    const cpu1 = cpuSeconds(pid);
    const t1 = performance.now();
    let consumedRecords = 0;
    let consumedBytes = 0;
    const offsets = new Array<number>(o.partitions).fill(0);
    const ends = new Array<number>(o.partitions).fill(0);
    for (let p = 0; p < o.partitions; p++) ends[p] = Math.ceil((requests - p) / o.partitions) * o.batch;
    while (offsets.some((off, p) => off < ends[p])) {
      const res = await consumer.request(Fetch, 16, {
        maxWaitMs: 100,
        minBytes: 1,
        maxBytes: 64 << 20,
        topics: [{ topicId, partitions: offsets.map((fetchOffset, partition) => ({ partition, fetchOffset, partitionMaxBytes: 8 << 20 })) }],
      });
      for (const part of res.responses[0].partitions) {
        const records = part.records;
        if (records === null || records.length === 0) continue;
        for (const span of splitBatches(records).spans) {
          const base = baseOffsetOf(records, span.position);
          const last = lastOffsetOf(records, span.position);
          if (last < offsets[part.partitionIndex]) continue;
          consumedRecords += last - Math.max(base, offsets[part.partitionIndex]) + 1;
          consumedBytes += span.size;
          offsets[part.partitionIndex] = last + 1;
        }
      }
    }
    const consumeSeconds = (performance.now() - t1) / 1000;
    const consumeCpu = cpuSeconds(pid) - cpu1;

    latencies.sort((a, b) => a - b);
    const gb = payloadBytes / 1e9;
    const mb = payloadBytes / 1e6;
    const line = (k: string, v: string) => console.log(`${k.padEnd(34)} ${v}`);
    console.log(`floe bench: ${requests * o.batch} records x ${o.size} B (${mb.toFixed(0)} MB), batches of ${o.batch}, codec ${o.codec}, ${o.partitions} partitions, ${o.connections} connections x ${o.inflight} in flight, acks=all`);
    line('produce throughput', `${(mb / produceSeconds).toFixed(1)} MB/s, ${((requests * o.batch) / produceSeconds).toFixed(0)} records/s`);
    line('produce latency per request', `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${latencies[latencies.length - 1].toFixed(2)} ms`);
    line('broker CPU, produce', `${produceCpu.toFixed(2)} s = ${(produceCpu / gb).toFixed(2)} CPU-s/GB (user ${(split1.user - split0.user).toFixed(2)} s, system ${(split1.system - split0.system).toFixed(2)} s)`);
    line('consume throughput', `${(mb / consumeSeconds).toFixed(1)} MB/s, ${(consumedRecords / consumeSeconds).toFixed(0)} records/s (${consumedRecords} records, ${(consumedBytes / 1e6).toFixed(0)} MB of batches)`);
    line('broker CPU, consume', `${consumeCpu.toFixed(2)} s = ${(consumeCpu / gb).toFixed(2)} CPU-s/GB`);
    if (consumedRecords !== requests * o.batch) throw new Error(`consumed ${consumedRecords} records, produced ${requests * o.batch}`);
    for (const c of [...conns, consumer, admin]) c.close();
  } finally {
    broker.kill('SIGTERM');
    await new Promise((r) => broker.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
