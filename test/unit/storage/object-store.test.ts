// The ObjectStore contract, checked on both implementations: the fs store and
// the S3 store against a real S3-compatible server.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bufferPool } from '../../../src/memory/buffer-pool.js';
import { BrokerMetrics } from '../../../src/observability/metrics.js';
import type { WorkerClient } from '../../../src/threads/worker-client.js';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore } from '../../../src/storage/objectstore/types.js';
import { FaultProxy } from '../../helpers/fault-proxy.js';
import { startS3Server } from '../../helpers/s3-server.js';
import { tempDir } from '../../helpers/tmp.js';
import { FsObjectStore } from '../../../src/storage/objectstore/fs.js';
import { S3ObjectStore } from '../../../src/storage/objectstore/s3.js';
import { ObjectStoreError } from '../../../src/storage/objectstore/types.js';
import { objectStoreKinds, s3Options } from './store-kinds.js';

async function listAll(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of store.list(prefix)) out.push(o);
  return out;
}

/** Runs `test` on an fs store in a fresh directory (`root`, its objects' root), then closes the store and removes the directory. */
async function withFsStore(test: (store: FsObjectStore, root: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const root = join(dir.path, 'objects');
  const store = new FsObjectStore(root);
  try {
    await test(store, root);
  } finally {
    await store.close();
    dir.cleanup();
  }
}

describe.each(objectStoreKinds())('ObjectStore contract: $name', (kind) => {
  let dir: { path: string; cleanup: () => void };
  let location: string;
  let store: ObjectStore;
  let metrics: BrokerMetrics;
  beforeAll(() => kind.start());
  afterAll(() => kind.stop());
  beforeEach(() => {
    dir = tempDir();
    location = kind.location(dir.path);
    metrics = new BrokerMetrics();
    store = kind.open(location, metrics);
  });
  afterEach(async () => {
    await store.close();
    dir.cleanup();
  });

  it('puts and gets whole objects, from one buffer or several', async () => {
    const a = randomBytes(100_000);
    await store.put('s3stream/0a/1', a);
    expect((await store.get('s3stream/0a/1')).equals(a)).toBe(true);
    const parts = [randomBytes(10), randomBytes(0), randomBytes(70_000)];
    await store.put('s3stream/0b/2', parts);
    expect((await store.get('s3stream/0b/2')).equals(Buffer.concat(parts))).toBe(true);
    expect(await store.head('s3stream/0b/2')).toEqual({ key: 's3stream/0b/2', size: 70_010 });
  });

  it('puts objects of several MiB from parts of odd sizes, and reads ranges across them', async () => {
    const parts = [randomBytes(5 * 2 ** 20 + 3), randomBytes(0), randomBytes(17), randomBytes(4 * 2 ** 20 - 5), randomBytes(1)];
    const whole = Buffer.concat(parts);
    await store.put('iceberg/t/data/big.parquet', parts);
    expect((await store.get('iceberg/t/data/big.parquet')).equals(whole)).toBe(true);
    const across = { start: 4 * 2 ** 20 - 10, end: 8 * 2 ** 20 + 10 };
    expect((await store.get('iceberg/t/data/big.parquet', across)).equals(whole.subarray(across.start, across.end))).toBe(true);
    expect(await store.head('iceberg/t/data/big.parquet')).toEqual({ key: 'iceberg/t/data/big.parquet', size: whole.length });
  });

  it('reads exact byte ranges, including the last byte and an empty range', async () => {
    const data = randomBytes(50_000);
    await store.put('k', data);
    for (const [start, end] of [
      [0, 1],
      [123, 4567],
      [49_999, 50_000],
      [0, 50_000],
      [20_000, 20_000],
    ]) {
      expect((await store.get('k', { start, end })).equals(data.subarray(start, end))).toBe(true);
    }
  });

  it('reports missing objects as ObjectNotFoundError and null', async () => {
    await expect(store.get('nope')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.get('nope', { start: 0, end: 10 })).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.head('nope')).toBeNull();
  });

  it('deletes in batches, missing keys included, and lists by prefix in key order across pages', async () => {
    // More keys than one ListObjectsV2 page (1,000) or one DeleteObjects request (1,000).
    const keys = Array.from({ length: 1105 }, (_, i) => `s3stream/${String(i % 7).padStart(2, '0')}/${i}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, Buffer.from(k))));
    await store.put('other/x', Buffer.from('x'));
    const listed = await listAll(store, 's3stream/');
    expect(listed.map((o) => o.key)).toEqual([...keys].sort());
    expect(listed.find((o) => o.key === keys[42])?.size).toBe(Buffer.byteLength(keys[42]));
    expect((await listAll(store, 's3stream/03/')).length).toBe(keys.filter((k) => k.startsWith('s3stream/03/')).length);
    await store.delete([...keys.slice(0, 1050), 'never/existed']);
    expect((await listAll(store, 's3stream/')).map((o) => o.key)).toEqual(keys.slice(1050).sort());
    expect((await listAll(store, '')).map((o) => o.key)).toContain('other/x');
  });
});

describe('fs store specifics', () => {
  it('removes the temp files of puts a crash cut short, and nothing else', async () => {
    const dir = tempDir();
    try {
      const store = new FsObjectStore(join(dir.path, 'objects'));
      await store.put('s3stream/0a/1', Buffer.from('kept'));
      // What a kill -9 between write and rename leaves behind.
      writeFileSync(join(dir.path, 'objects', 's3stream', '0a', '2.tmp-abcdef123456'), 'half an object');
      mkdirSync(join(dir.path, 'objects', 's3stream', '0b'), { recursive: true });
      writeFileSync(join(dir.path, 'objects', 's3stream', '0b', '3.tmp-0123456789ab'), 'another');
      const fresh = new FsObjectStore(join(dir.path, 'objects'));
      expect(await fresh.removeTemporaryFiles()).toBe(2);
      expect(readdirSync(join(dir.path, 'objects', 's3stream', '0a'))).toEqual(['1']);
      expect(readdirSync(join(dir.path, 'objects', 's3stream', '0b'))).toEqual([]);
      expect((await fresh.get('s3stream/0a/1')).toString()).toBe('kept');
      await Promise.all([store.close(), fresh.close()]);
    } finally {
      dir.cleanup();
    }
  });
});

describe('fs store writes', () => {
  it('closes every file it writes, itself and not by garbage collection', async () => {
    const dir = tempDir();
    const root = join(dir.path, 'objects');
    /** This process's descriptors open on files under the store (its directory handles, kept for their fsyncs, are not files). */
    const openUnderStore = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target.startsWith(`${root}/`) && statSync(target).isFile();
        } catch {
          return false; // closed while we looked
        }
      }).length;
    // A handle left to the garbage collector is closed too, with this warning: that does not count.
    const gcCloses: string[] = [];
    const onWarning = (w: Error) => void (/Closing file descriptor \d+ on garbage collection/.test(w.message) && gcCloses.push(w.message));
    process.on('warning', onWarning);
    try {
      const store = new FsObjectStore(root);
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(`w/${i % 10}/${i}`, [Buffer.alloc(1000, i % 256), Buffer.from(`#${i}`)])));
      for (let i = 0; i < 200; i += 37) expect((await store.get(`w/${i % 10}/${i}`)).equals(Buffer.concat([Buffer.alloc(1000, i % 256), Buffer.from(`#${i}`)]))).toBe(true);
      const deadline = Date.now() + 5000;
      while (openUnderStore() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(openUnderStore()).toBe(0);
      expect(gcCloses).toEqual([]);
      await store.close();
    } finally {
      process.off('warning', onWarning);
      dir.cleanup();
    }
  });
});

describe('fs store puts on their own thread', () => {
  it('completes a put while the event loop is held: all six calls run on the writer thread, the pooled parts unchanged', () =>
    withFsStore(async (store, root) => {
      await store.put('d/first', Buffer.from('starts the thread and makes the directory'));
      const body = bufferPool.allocate(300_000).fill(7); // shared memory: handed over as is
      const parts = [body, Buffer.from('a view of unshared memory, copied')];
      const done = store.put('d/held', parts);
      // No callback can run while this loop spins, so no trip through libuv's pool could complete the put.
      const path = join(root, 'd', 'held');
      const until = Date.now() + 5000;
      while (!existsSync(path) && Date.now() < until);
      expect(existsSync(path)).toBe(true);
      await done;
      expect(readFileSync(path).equals(Buffer.concat(parts))).toBe(true);
      expect((await store.get('d/held')).equals(Buffer.concat(parts))).toBe(true);
      bufferPool.release(body);
    }));

  it('writes a put of more parts than one writev takes (IOV_MAX, 1024), empty ones included, byte for byte', () =>
    withFsStore(async (store) => {
      const pooled = bufferPool.allocate(64 * 1024);
      const parts = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? Buffer.alloc(0) : i % 5 === 0 ? pooled.subarray(i, i + 13) : Buffer.from(`part ${i};`)));
      pooled.fill(9);
      await store.put('many/parts', parts);
      expect((await store.get('many/parts')).equals(Buffer.concat(parts))).toBe(true);
      bufferPool.release(pooled);
    }));

  it('fails a put it cannot finish with ObjectStoreError, leaves no temp file, and goes on', () =>
    withFsStore(async (store, root) => {
      await store.put('d/1', Buffer.from('one'));
      mkdirSync(join(root, 'd', '2', 'in-the-way'), { recursive: true }); // the rename into place fails
      await expect(store.put('d/2', Buffer.from('two'))).rejects.toThrow(ObjectStoreError);
      writeFileSync(join(root, 'f'), 'a file where a directory would go'); // the mkdir fails
      await expect(store.put('f/3', Buffer.from('three'))).rejects.toThrow(ObjectStoreError);
      expect(readdirSync(join(root, 'd')).sort()).toEqual(['1', '2']);
      await store.put('d/4', Buffer.from('four'));
      expect((await store.get('d/4')).toString()).toBe('four');
      // A writer thread that died is replaced by the next put.
      const writer = (store as unknown as { writer: { client: WorkerClient } }).writer.client;
      await writer.terminate();
      expect(writer.failed).toBe(true);
      await store.put('d/5', Buffer.from('five'));
      expect((await store.get('d/5')).toString()).toBe('five');
    }));

  it('keeps the process alive while a put is in flight, and not after: a store never closed lets it exit', () => {
    const dir = tempDir();
    try {
      const module = new URL('../../../dist/storage/objectstore/fs.js', import.meta.url).href;
      const script = `const { FsObjectStore } = await import(${JSON.stringify(module)});
        new FsObjectStore(${JSON.stringify(join(dir.path, 'objects'))}).put('a/1', Buffer.alloc(1 << 20, 5)).then(() => console.log('put done'));`;
      writeFileSync(join(dir.path, 'put.mjs'), script);
      const run = spawnSync(process.execPath, [join(dir.path, 'put.mjs')], { encoding: 'utf8', timeout: 20_000 });
      expect(run.signal).toBeNull(); // not killed by the timeout
      expect(run.status).toBe(0);
      expect(run.stdout.trim()).toBe('put done');
      expect(readFileSync(join(dir.path, 'objects', 'a', '1')).equals(Buffer.alloc(1 << 20, 5))).toBe(true);
    } finally {
      dir.cleanup();
    }
  });
});

describe('fs store reads', () => {
  it('runs at most half of libuv\'s pool of reads at once, the rest in order, and every read returns its own bytes', async () => {
    const dir = tempDir();
    try {
      const store = new FsObjectStore(join(dir.path, 'objects'));
      const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(256 * 1024 + i, i + 1));
      await Promise.all(bodies.map((b, i) => store.put(`o/${i}`, b)));
      const max = store.readSlots.max;
      if (process.env.UV_THREADPOOL_SIZE === undefined) expect(max).toBe(2); // libuv's default pool of 4
      // Twelve reads asked for at once: two run, ten wait, in order.
      const reads = Array.from({ length: 12 }, (_, i) => store.get(`o/${i % 6}`, { start: i, end: i + 1000 }));
      expect(store.readSlots).toEqual({ running: max, queued: 12 - max, max });
      // Writes do not wait for read slots.
      const written = store.put('o/late', Buffer.from('written while reads wait'));
      expect(store.readSlots.queued).toBe(12 - max);
      await written;
      expect((await Promise.all(reads)).map((b, i) => b.equals(bodies[i % 6].subarray(i, i + 1000)))).toEqual(Array(12).fill(true));
      expect(store.readSlots).toEqual({ running: 0, queued: 0, max });
      // A read that fails (a missing object) gives its slot back too.
      await expect(Promise.all([store.get('o/missing'), store.get('o/missing'), store.get('o/missing')])).rejects.toBeInstanceOf(ObjectNotFoundError);
      await new Promise((r) => setTimeout(r, 50));
      expect(store.readSlots).toEqual({ running: 0, queued: 0, max });
      expect((await store.get('o/late')).toString()).toBe('written while reads wait');
      await store.close();
    } finally {
      dir.cleanup();
    }
  });
});

describe('S3 store specifics', () => {
  const [, s3] = objectStoreKinds();
  beforeAll(() => s3.start());
  afterAll(() => s3.stop());

  it('uploads large objects in parts and reads ranges across part boundaries', async () => {
    const metrics = new BrokerMetrics();
    const store = s3.open(s3.location(''), metrics, { multipartThresholdBytes: 6 << 20, multipartPartBytes: 5 << 20 });
    const data = randomBytes(13 << 20);
    await store.put('big', data);
    expect(await store.head('big')).toEqual({ key: 'big', size: data.length });
    const boundary = 5 << 20;
    expect((await store.get('big', { start: boundary - 100, end: boundary + 100 })).equals(data.subarray(boundary - 100, boundary + 100))).toBe(true);
    expect((await store.get('big')).equals(data)).toBe(true);
    const text = await metrics.text();
    expect(text).toMatch(/floe_object_store_requests_total\{operation="multipart_upload_part",outcome="success"\} 3/);
    expect(text).toMatch(/floe_object_store_requests_total\{operation="multipart_complete",outcome="success"\} 1/);
    expect(text).not.toMatch(/operation="put"/);
    await store.close();
  });

  it('sends a PUT of many parts (a WAL object\'s batches) in a few socket writes, not one per part', async () => {
    const store = s3.open(s3.location(''));
    await store.put('warm', Buffer.from('the connection is open'));
    // What strace would count: write requests handed to the kernel on TCP sockets (not vitest's IPC pipe).
    const proto = Socket.prototype as unknown as { _writeGeneric: (writev: boolean, data: unknown, encoding: string, cb: () => void) => unknown };
    const original = proto._writeGeneric;
    let writes = 0;
    let bytes = 0;
    proto._writeGeneric = function (this: Socket, writev, data, encoding, cb) {
      if (this.remotePort !== undefined) {
        writes++;
        bytes += writev ? (data as { chunk: Buffer }[]).reduce((n, c) => n + c.chunk.length, 0) : (data as Buffer).length;
      }
      return original.call(this, writev, data, encoding, cb);
    };
    const parts = Array.from({ length: 100 }, (_, i) => randomBytes(10_000 + i));
    try {
      await store.put('many-parts', parts);
    } finally {
      proto._writeGeneric = original;
    }
    expect((await store.get('many-parts')).equals(Buffer.concat(parts))).toBe(true);
    expect(bytes).toBeGreaterThan(1_004_950); // the body and its request line and headers
    expect(writes).toBeLessThanOrEqual(3);
    await store.close();
  });

  it('keeps each cluster under its prefix', async () => {
    const one = s3.open('cluster-one/');
    const two = s3.open('cluster-two/');
    await one.put('s3stream/00/1', Buffer.from('one'));
    await two.put('s3stream/00/1', Buffer.from('two'));
    expect((await one.get('s3stream/00/1')).toString()).toBe('one');
    expect((await listAll(two, '')).map((o) => o.key)).toEqual(['s3stream/00/1']);
    await Promise.all([one.close(), two.close()]);
  });

  it('counts requests by operation and outcome', async () => {
    const metrics = new BrokerMetrics();
    const store = s3.open(s3.location(''), metrics);
    await store.put('a', Buffer.alloc(1000));
    await store.get('a', { start: 0, end: 10 });
    await store.head('missing');
    const text = await metrics.text();
    expect(text).toMatch(/floe_object_store_requests_total\{operation="put",outcome="success"\} 1/);
    expect(text).toMatch(/floe_object_store_requests_total\{operation="head",outcome="not_found"\} 1/);
    expect(text).toMatch(/floe_object_store_bytes_total\{direction="upload"\} 1000/);
    expect(text).toMatch(/floe_object_store_bytes_total\{direction="download"\} 10/);
    await store.close();
  });
});

describe('S3 store retries', () => {
  it('retries 500s, SlowDowns, resets and timeouts, counts each attempt, and gives up after s3.max.attempts', async () => {
    const server = await startS3Server();
    const proxy = await FaultProxy.start(server.port);
    const metrics = new BrokerMetrics();
    const store = new S3ObjectStore({ ...s3Options(server, 'retries/'), endpoint: proxy.endpoint, maxAttempts: 4, requestTimeoutMs: 300, retryBaseMs: 5, retryMaxMs: 20 }, metrics);
    try {
      const count = (outcome: string) => metricValue(metrics, 'put', outcome);
      for (const kind of ['internal_error', 'slow_down', 'reset'] as const) {
        // Every attempt fails: the put fails after exactly 4 attempts.
        proxy.setFaults([{ kind, probability: 1, operations: ['put'] }]);
        await expect(store.put(`k-${kind}`, Buffer.from('x'))).rejects.toBeInstanceOf(ObjectStoreError);
        // Three failures in a row: the fourth attempt gets the put through.
        proxy.setFaults([{ kind, probability: 1, times: 3, operations: ['put'] }]);
        await store.put(`k-${kind}`, Buffer.from(kind));
        proxy.setFaults([]);
        expect((await store.get(`k-${kind}`)).toString()).toBe(kind);
      }
      expect(await count('server_error')).toBe(7);
      expect(await count('throttled')).toBe(7);
      expect(await count('network_error')).toBe(7);
      expect(proxy.injected).toMatchObject({ internal_error: 7, slow_down: 7, reset: 7 });
      // A request that hangs is cut at s3.request.timeout.ms and retried.
      proxy.setLatency({ put: () => 1000 });
      const started = Date.now();
      await expect(store.put('slow', Buffer.from('x'))).rejects.toBeInstanceOf(ObjectStoreError);
      expect(Date.now() - started).toBeLessThan(4 * 300 + 4 * 20 + 1000);
      expect(await count('timeout')).toBe(4);
      proxy.setLatency({});
      expect(await count('success')).toBe(3);
      // A 4xx is not retried: the wrong credentials fail at once.
      const denied = new S3ObjectStore({ ...s3Options(server, 'retries/'), credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'wrong' } }, metrics);
      await expect(denied.put('denied', Buffer.from('x'))).rejects.toThrow(/after 1 attempt\(s\) \(client_error\)/);
      await denied.close();
    } finally {
      await store.close();
      await proxy.stop();
      await server.stop();
    }
  });
});

async function metricValue(metrics: BrokerMetrics, operation: string, outcome: string): Promise<number> {
  const line = (await metrics.text()).split('\n').find((l) => l.startsWith(`floe_object_store_requests_total{operation="${operation}",outcome="${outcome}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}
