// Conversion workers: a fixed pool of threads, each holding the
// PartitionConverter sessions pinned to it. A session's calls go to its
// worker in order; sessions spread over the pool round-robin.

import { Worker } from 'node:worker_threads';
import type { PartitionSpec } from '../iceberg/metadata.js';
import type { IcebergSchema } from '../iceberg/types.js';
import type { AppendOutcome, ConverterOptions, SchemaText, WrittenFile } from './converter.js';

function workerScript(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../../../dist/table/convert/worker.js', here) : new URL('./worker.js', here);
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

class ConvertWorker {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor() {
    this.worker = new Worker(workerScript());
    this.worker.unref();
    this.worker.on('message', (msg: { id: number; result?: unknown; error?: { name: string; message: string } }) => {
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(Object.assign(new Error(msg.error.message), { name: msg.error.name }));
      else p.resolve(msg.result);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`convert worker exited with code ${code}`)));
  }

  call<T>(op: string, session: number, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, session, args }, transfer);
    });
  }
}

export class ConvertPool {
  private readonly workers: ConvertWorker[];
  private nextSession = 0;

  constructor(threads: number) {
    this.workers = Array.from({ length: Math.max(1, threads) }, () => new ConvertWorker());
  }

  async open(options: ConverterOptions): Promise<ConvertSession> {
    const id = this.nextSession++;
    const worker = this.workers[id % this.workers.length];
    await worker.call('open', id, [options]);
    return new ConvertSession(worker, id);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

export class ConvertSession {
  constructor(
    private readonly worker: ConvertWorker,
    private readonly id: number,
  ) {}

  addSchemas(schemas: ReadonlyMap<number, SchemaText>): Promise<void> {
    return this.worker.call('addSchemas', this.id, [schemas]);
  }
  setTableSchema(schema: IcebergSchema, spec: PartitionSpec): Promise<void> {
    return this.worker.call('setTableSchema', this.id, [schema, spec]);
  }
  /**
   * The batches may still sit in the log cache, so they are not handed over:
   * they are copied once into a buffer of their own, which is transferred
   * (structured cloning would copy them twice, once each side).
   */
  append(batches: readonly Buffer[]): Promise<AppendOutcome> {
    const joined = Buffer.allocUnsafeSlow(batches.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of batches) at += b.copy(joined, at);
    return this.worker.call('append', this.id, [[joined]], [joined.buffer as ArrayBuffer]);
  }
  flush(): Promise<WrittenFile[]> {
    return this.worker.call('flush', this.id, []);
  }
  close(): Promise<void> {
    return this.worker.call('close', this.id, []);
  }
}
