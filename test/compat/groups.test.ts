// Consumer groups with Debian's librdkafka clients: kcat's balanced consumer
// (-G) and confluent-kafka-python with the cooperative-sticky assignor,
// resuming from committed offsets after the broker is killed and restarted.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnBroker, type BrokerProcess } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const clients = (f: string) => fileURLToPath(new URL(`./clients/${f}`, import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function broker(dataDir: string): Promise<BrokerProcess> {
  const b = await spawnBroker(['--data-dir', dataDir, '--override', 'num.partitions=4', '--override', 'group.initial.rebalance.delay.ms=1500'], { env: { FLOE_LOG_LEVEL: 'warn' } });
  cleanups.push(() => b.kill('SIGTERM'));
  return b;
}

function kcat(bootstrap: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('kcat', ['-b', bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err}`));
    });
    p.stdin.end(input ?? '');
  });
}

const python = async (args: string[]) => {
  const { stdout } = await run(PYTHON, [clients('confluent_group.py'), ...args], { timeout: 150_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
};

describe('kcat balanced consumer (-G)', () => {
  it('two kcat -G members split the partitions, read every record once, and commit so a third reads nothing', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const b = await broker(dir.path);
    const lines = Array.from({ length: 2000 }, (_, i) => `v${i}`);
    await kcat(b.bootstrap, ['-P', '-t', 'kg', '-X', 'acks=all', '-K', ':'], lines.map((l, i) => `k${i}:${l}`).join('\n') + '\n');
    const member = () => kcat(b.bootstrap, ['-G', 'kcat-group', '-X', 'auto.offset.reset=earliest', '-X', 'auto.commit.interval.ms=100', '-e', '-q', '-f', '%p %o %s\\n', 'kg']);
    const outs = await Promise.all([member(), member()]);
    const parsed = outs.map((o) => o.trimEnd().split('\n').filter(Boolean).map((l) => l.split(' ')));
    const partitionsOf = parsed.map((recs) => [...new Set(recs.map((r) => Number(r[0])))].sort());
    // Each member owned two partitions of four, none shared.
    expect(partitionsOf.map((p) => p.length)).toEqual([2, 2]);
    expect([...partitionsOf[0]!, ...partitionsOf[1]!].sort()).toEqual([0, 1, 2, 3]);
    const values = parsed.flat().map((r) => r[2]!);
    expect(values.length).toBe(2000);
    expect(new Set(values).size).toBe(2000);
    // The group's committed offsets cover everything: another member starts at the end.
    expect(await member()).toBe('');
  });
});

describe('confluent-kafka-python cooperative-sticky group', () => {
  it('resumes from committed offsets after the broker is killed with -9 and restarted', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    let b = await broker(dir.path);
    await python([b.bootstrap, 'ck-group', 'create', '3']);
    expect(await python([b.bootstrap, 'ck-group', 'produce', '1', '1000'])).toEqual({ unflushed: 0 });
    const first = await python([b.bootstrap, 'ck-group', 'consume', 'ck-app', '600', '10']);
    expect(first.errors).toEqual([]);
    expect(first.values).toHaveLength(600);
    expect(first.assignments[0]).toEqual([0, 1, 2]);

    await b.kill('SIGKILL');
    b = await broker(dir.path);
    expect(await python([b.bootstrap, 'ck-group', 'produce', '1001', '1400'])).toEqual({ unflushed: 0 });
    const second = await python([b.bootstrap, 'ck-group', 'consume', 'ck-app', '100000', '4']);
    expect(second.errors).toEqual([]);
    const all = [...first.values, ...second.values].sort((x: number, y: number) => x - y);
    expect(second.values).toHaveLength(800);
    expect(all).toEqual(Array.from({ length: 1400 }, (_, i) => i + 1));
  });
});
