// The embedded object store: one file per object under a root directory.
// A put writes a temp file, fsyncs it, renames it into place and fsyncs the
// directory, so an object is either absent or complete after any crash; it
// runs on a thread of its own (fs-writer.ts), reads on libuv's pool.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { bufferPool } from '../../memory/buffer-pool.js';
import type { BrokerMetrics, ObjectStoreOperation } from '../../observability/metrics.js';
import { builtScript, WorkerClient } from '../../threads/worker-client.js';
import type { PutMessage } from './fs-writer.js';
import { ObjectNotFoundError, ObjectStoreError, type ByteRange, type ObjectInfo, type ObjectStore } from './types.js';

const TEMP_SUFFIX = '.tmp-';

/**
 * Reads this store runs at once. Its reads run on libuv's thread pool
 * (UV_THREADPOOL_SIZE threads, 4 by default), first come first served.
 * A catching-up consumer's block reads used to fill it, and the WAL's
 * writes, fsyncs and renames, which every produce acknowledgement waits for,
 * queued behind them (they were on the pool too then): tail produce p99 went
 * from 16 ms to 85–100 ms during a cold read, against 29–44 ms with reads
 * held to half the pool, where the reader also went faster (BENCHMARKS.md).
 * The pool still serves the rest of the process (directory walks, deletes).
 */
const READ_SLOTS = Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2));

/** At most `max` tasks at once; the rest wait in arrival order. */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.max) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task, so a late arrival cannot take it first.
      if (next !== undefined) next();
      else this.active--;
    }
  }
}

interface WriterThread {
  readonly client: WorkerClient;
  /** Puts in flight: the thread keeps the process alive only while there are some. */
  puts: number;
}

export class FsObjectStore implements ObjectStore {
  private readonly knownDirs = new Set<string>();
  private writer: WriterThread | null = null;
  private readonly reads = new Slots(READ_SLOTS);

  constructor(
    readonly root: string,
    private readonly metrics?: BrokerMetrics,
  ) {}

  /** Counts the call as object-store request, as the S3 store counts its requests. */
  private async timed<T>(operation: ObjectStoreOperation, run: () => Promise<T>): Promise<T> {
    if (this.metrics === undefined) return run();
    const started = performance.now();
    try {
      const result = await run();
      this.metrics.objectStoreRequest(operation, 'success', (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      this.metrics.objectStoreRequest(operation, err instanceof ObjectNotFoundError ? 'not_found' : 'client_error', (performance.now() - started) / 1000);
      throw err;
    }
  }

  private pathOf(key: string): string {
    if (key.includes('..') || key.startsWith('/') || key.includes('\\') || key.includes(TEMP_SUFFIX)) {
      throw new ObjectStoreError(`invalid object key ${JSON.stringify(key)}`);
    }
    return join(this.root, key);
  }

  put(key: string, data: Buffer | readonly Buffer[]): Promise<void> {
    return this.timed('put', () => this.putFile(key, data));
  }

  private async putFile(key: string, data: Buffer | readonly Buffer[]): Promise<void> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    // No await once the directory is known: the put reaches its thread in the caller's turn of the event loop.
    if (!this.knownDirs.has(dir)) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        throw new ObjectStoreError(`put ${key} failed: ${(err as Error).message}`);
      }
      this.knownDirs.add(dir);
    }
    const tmp = `${path}${TEMP_SUFFIX}${randomBytes(6).toString('hex')}`;
    const transfer: ArrayBuffer[] = [];
    const parts = (Buffer.isBuffer(data) ? [data] : data).map((p) => shareable(p, transfer));
    const message: Omit<PutMessage, 'id'> = { op: 'put', tmp, path, dir, parts };
    const writer = this.writerThread();
    if (writer.puts++ === 0) writer.client.worker.ref();
    try {
      await writer.client.call(message, transfer);
    } catch (err) {
      throw new ObjectStoreError(`put ${key} failed: ${(err as Error).message}`);
    } finally {
      // Unref'd when idle: a store nobody closed must not keep the process alive.
      if (--writer.puts === 0) writer.client.worker.unref();
    }
  }

  /** The writer thread, started on the first put (and again after one that failed). */
  private writerThread(): WriterThread {
    if (this.writer === null || this.writer.client.failed) {
      const client = new WorkerClient(builtScript(import.meta.url, 'fs-writer.js'), {}, 'fs store writer thread', (_name, message) => new Error(message));
      client.worker.unref();
      this.writer = { client, puts: 0 };
    }
    return this.writer;
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    // Timed from when the read starts, as the S3 store times a request: the wait for a slot is not the store's latency.
    return this.reads.run(() => this.timed('get', () => this.getFile(key, range)));
  }

  /** Reads running and waiting for a slot (see READ_SLOTS). */
  get readSlots(): { running: number; queued: number; max: number } {
    return { running: this.reads.running, queued: this.reads.queued, max: READ_SLOTS };
  }

  private async getFile(key: string, range?: ByteRange): Promise<Buffer> {
    const path = this.pathOf(key);
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(`no object ${key}`);
      throw new ObjectStoreError(`get ${key} failed: ${(err as Error).message}`);
    }
    try {
      const start = range?.start ?? 0;
      const end = range?.end ?? (await fh.stat()).size;
      const length = end - start;
      if (length < 0 || start < 0) throw new ObjectStoreError(`invalid range ${start}-${end} of ${key}`);
      // From the buffer pool: a block the block cache keeps goes back to it once evicted and released.
      const buf = bufferPool.allocate(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await fh.read(buf, read, length - read, start + read);
        if (bytesRead === 0) throw new ObjectStoreError(`short read of ${key}: ${read} of ${length} bytes at ${start}`);
        read += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.pathOf(key));
      return { key, size: s.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ObjectStoreError(`head ${key} failed: ${(err as Error).message}`);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    await this.timed('delete', async () => {
      await Promise.all(keys.map((k) => rm(this.pathOf(k), { force: true })));
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const out: ObjectInfo[] = [];
    // Keys map to paths, so only the prefix's deepest directory need be walked.
    const dir = prefix.includes('/') ? this.pathOf(prefix.slice(0, prefix.lastIndexOf('/'))) : this.root;
    for await (const { path, name } of walkFiles(dir)) {
      if (name.includes(TEMP_SUFFIX)) continue;
      const key = relative(this.root, path).split(sep).join('/');
      if (key.startsWith(prefix)) out.push({ key, size: (await stat(path)).size });
    }
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* out;
  }

  /**
   * Deletes temp files of puts that a crash cut short (never listed or read,
   * but they take disk space). Call before this store's first put: a temp
   * file that exists then belongs to no live upload.
   */
  async removeTemporaryFiles(): Promise<number> {
    let removed = 0;
    for await (const { path, name } of walkFiles(this.root)) {
      if (!name.includes(TEMP_SUFFIX)) continue;
      await rm(path, { force: true });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    const writer = this.writer?.client;
    this.writer = null;
    if (writer === undefined || writer.failed) return;
    // Its directory descriptors first: they belong to the process, not the thread.
    writer.worker.ref();
    await writer.call({ op: 'close' }).catch(() => {});
    await writer.terminate();
  }
}

/**
 * A part the writer thread can take without a copy: a view of shared
 * memory as it is (the buffer pool's), else its bytes alone in a buffer of
 * their own, added to `transfer` (a view of unshared memory would have its
 * whole underlying buffer cloned).
 */
function shareable(part: Buffer, transfer: ArrayBuffer[]): Uint8Array {
  if (part.buffer instanceof SharedArrayBuffer) return part;
  const own = new Uint8Array(part);
  transfer.push(own.buffer);
  return own;
}

/** Every file under `dir`, depth first (nothing when `dir` does not exist). */
async function* walkFiles(dir: string): AsyncGenerator<{ path: string; name: string }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* walkFiles(path);
    else if (e.isFile()) yield { path, name: e.name };
  }
}
