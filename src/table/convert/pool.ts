// Conversion workers: a fixed pool of threads, each holding the
// PartitionConverter sessions pinned to it. A session's calls go to its
// worker in order; sessions spread over the pool round-robin.

import { builtScript, WorkerClient } from '../../threads/worker-client.js';
import type { PartitionSpec } from '../iceberg/metadata.js';
import type { IcebergSchema } from '../iceberg/types.js';
import type { AppendOutcome, ConverterOptions, SchemaText, WrittenFile } from './converter.js';

/** How a conversion thread yields the CPU (table.topic.convert.priority; see worker.ts). */
export type ConvertPriority = 'idle' | 'nice';

/** One conversion thread, unref'd: an idle pool never keeps the process alive. */
class ConvertWorker {
  private readonly client: WorkerClient;

  constructor(priority: ConvertPriority) {
    this.client = new WorkerClient(builtScript(import.meta.url, 'worker.js'), { workerData: { priority } }, 'convert worker', (name, message) => Object.assign(new Error(message), { name }));
    this.client.worker.unref();
  }

  call<T>(op: string, session: number, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    return this.client.call({ op, session, args }, transfer);
  }

  terminate(): Promise<void> {
    return this.client.terminate();
  }
}

export class ConvertPool {
  private readonly workers: ConvertWorker[];
  private nextSession = 0;

  constructor(threads: number, priority: ConvertPriority) {
    this.workers = Array.from({ length: Math.max(1, threads) }, () => new ConvertWorker(priority));
  }

  async open(options: ConverterOptions): Promise<ConvertSession> {
    const id = this.nextSession++;
    const worker = this.workers[id % this.workers.length];
    await worker.call('open', id, [options]);
    return new ConvertSession(worker, id);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
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
