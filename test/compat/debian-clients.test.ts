// The compat suite: Floe driven by clients from Debian packages, installed by
// .ci/run (kcat, python3-confluent-kafka with python3-requests for its
// SchemaRegistryClient, python3-kafka and its codecs).
// kcat and confluent-kafka-python are librdkafka; kafka-python is pure Python.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBroker, type BrokerProcess } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3'; // Debian's python, which sees the python3-* packages
const clients = (f: string) => fileURLToPath(new URL(`./clients/${f}`, import.meta.url));
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

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

/** Pipes `lines` into `kcat args` and returns its stdout. */
function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('kcat', ['-b', broker.bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err}`))));
    p.stdin.end(input ?? '');
  });
}

describe('kcat (librdkafka)', () => {
  for (const codec of CODECS) {
    it(`produces 100,000 records compressed with ${codec} and reads every one back`, async () => {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 100_000 }, (_, i) => `${codec}-${i}`);
      await kcat(['-P', '-t', topic, '-z', codec, '-X', 'acks=all', '-X', 'linger.ms=20'], lines.join('\n') + '\n');
      const out = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%o %s\\n']);
      const got = out.trimEnd().split('\n');
      expect(got).toHaveLength(100_000);
      expect(got.map((l) => l.slice(l.indexOf(' ') + 1))).toEqual(lines);
      expect(got.map((l) => Number(l.slice(0, l.indexOf(' '))))).toEqual(lines.map((_, i) => i));
    });
  }

  it('lists brokers and topics with -L', async () => {
    const out = await kcat(['-L']);
    expect(out).toContain(`broker 1 at 127.0.0.1:${broker.port} (controller)`);
    expect(out).toMatch(/topic "kcat-zstd" with 1 partitions:\n\s+partition 0, leader 1, replicas: 1, isrs: 1/);
  });

  it('finds offsets for times with -Q', async () => {
    const before = Date.now() - 1000;
    await kcat(['-P', '-t', 'kcat-times', '-X', 'acks=all'], 'a\nb\nc\n');
    const after = Date.now() + 60_000;
    expect(await kcat(['-Q', '-t', `kcat-times:0:${before}`])).toContain('kcat-times [0] offset 0');
    expect(await kcat(['-Q', '-t', `kcat-times:0:${after}`])).toContain('kcat-times [0] offset -1');
  });
});

describe('confluent-kafka-python (librdkafka)', () => {
  for (const codec of CODECS) {
    it(`round-trips 20,000 ${codec} records with keys, headers and offsets by time`, async () => {
      const { stdout } = await run(PYTHON, [clients('confluent_roundtrip.py'), broker.bootstrap, `ck-${codec}`, codec, '20000'], { timeout: 150_000 });
      const r = JSON.parse(stdout.trim().split('\n').pop()!);
      expect(r).toEqual({ unflushed: 0, acked: 20000, read: 20000, distinct: 20000, contiguous: true, mismatches: 0, offset_for_time: 0, topic_in_metadata: true, errors: [] });
    });
  }
});

describe('kafka-python', () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4'] as const) {
    it(`round-trips 5,000 ${codec} records`, async () => {
      const { stdout } = await run(PYTHON, [clients('kafka_python_roundtrip.py'), broker.bootstrap, `kp-${codec}`, codec, '5000'], { timeout: 150_000 });
      expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ acked: 5000, acked_offsets_ok: true, read: 5000, values_ok: true, offset_for_time: 0 });
    });
  }
});

describe('confluent-kafka-python SchemaRegistryClient', () => {
  it('registers, looks up, checks compatibility and gets Confluent error codes', async () => {
    const url = await broker.registryUrl();
    const { stdout } = await run(PYTHON, [clients('confluent_registry.py'), url, 'py-payments'], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(r).toEqual({
      id1: r.id1,
      id1_again: r.id1,
      compatible_v2: true,
      compatible_bad: false,
      id2: r.id1 + 1,
      bad_error: [409, 409],
      lookup: [r.id1, 1, 'py-payments-value'],
      latest: [r.id1 + 1, 2, 'currency'],
      versions: [1, 2],
      by_id_type: 'AVRO',
      subjects_has: true,
      set_compat: { compatibility: 'FULL' },
      get_compat: 'FULL',
      global_compat: 'BACKWARD',
      json_id: r.id1 + 2,
      json_type: 'JSON',
      missing_subject: [404, 40401],
      missing_version: [404, 40402],
      missing_id: [404, 40403],
      invalid_schema: [422, 42201],
      deleted: 1,
      versions_after: [2],
    });
    expect(Number.isInteger(r.id1) && r.id1 > 0).toBe(true);
  });
});
