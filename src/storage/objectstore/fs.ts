// The embedded object store: one file per object under a root directory.
// A put writes a temp file, fsyncs it, renames it into place and fsyncs the
// directory, so an object is either absent or complete after any crash.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { bufferPool } from '../../memory/buffer-pool.js';
import type { BrokerMetrics, ObjectStoreOperation } from '../../observability/metrics.js';
import { ObjectNotFoundError, ObjectStoreError, type ByteRange, type ObjectInfo, type ObjectStore } from './types.js';

const TEMP_SUFFIX = '.tmp-';

/**
 * Reads this store runs at once. Every fs call here runs on libuv's thread
 * pool (UV_THREADPOOL_SIZE threads, 4 by default), first come first served.
 * A catching-up consumer's block reads used to fill it, and the WAL's
 * writes, fsyncs and renames, which every produce acknowledgement waits for,
 * queued behind them: tail produce p99 went from 16 ms to 85–100 ms during a
 * cold read, against 29–44 ms with reads held to half the pool, where the
 * reader also went faster (BENCHMARKS.md).
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

export class FsObjectStore implements ObjectStore {
  private readonly knownDirs = new Set<string>();
  /** Open handles of the key directories, kept for the directory fsync after each rename. */
  private readonly dirHandles = new Map<string, Promise<FileHandle>>();
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

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  put(key: string, data: Buffer | readonly Buffer[]): Promise<void> {
    return this.timed('put', () => this.putFile(key, data));
  }

  private async putFile(key: string, data: Buffer | readonly Buffer[]): Promise<void> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    await this.ensureDir(dir);
    const tmp = `${path}${TEMP_SUFFIX}${randomBytes(6).toString('hex')}`;
    const parts = Buffer.isBuffer(data) ? [data] : [...data];
    let fh;
    try {
      fh = await open(tmp, constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC, 0o644);
      let pending = parts;
      while (pending.length > 0) {
        const { bytesWritten } = await fh.writev(pending);
        pending = advance(pending, bytesWritten);
      }
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, path);
      await this.syncDir(dir);
    } catch (err) {
      await fh?.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw new ObjectStoreError(`put ${key} failed: ${(err as Error).message}`);
    }
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

  /** Makes a rename durable: fsync of the directory that holds the new name. */
  private async syncDir(dir: string): Promise<void> {
    let handle = this.dirHandles.get(dir);
    if (handle === undefined) {
      handle = open(dir, 'r');
      this.dirHandles.set(dir, handle);
      handle.catch(() => this.dirHandles.delete(dir));
    }
    await (await handle).sync();
  }

  async close(): Promise<void> {
    const handles = [...this.dirHandles.values()];
    this.dirHandles.clear();
    await Promise.all(handles.map(async (h) => (await h).close().catch(() => {})));
  }
}

function advance(parts: Buffer[], written: number): Buffer[] {
  let n = written;
  let i = 0;
  while (i < parts.length && n >= parts[i].length) n -= parts[i++].length;
  if (i >= parts.length) return [];
  return [parts[i].subarray(n), ...parts.slice(i + 1)];
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
