// The calling side of a worker thread that answers requests: each message
// out carries an id, each answer ({ id, result } or { id, error: { name,
// message } }) settles the call with that id, and a worker that fails or
// exits fails every call in flight and every later one. The metadata store's
// SQLite thread and the table topics' conversion threads both run behind one.

import { Worker, type WorkerOptions } from 'node:worker_threads';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * The compiled script `file` next to the module at `moduleUrl`. Run from
 * TypeScript sources (the tests), the build's copy: src/x/y.ts → dist/x/file.
 */
export function builtScript(moduleUrl: string, file: string): URL {
  const url = new URL(file, moduleUrl);
  if (!new URL(moduleUrl).pathname.endsWith('.ts')) return url;
  const i = url.pathname.lastIndexOf('/src/');
  return new URL(`${url.pathname.slice(0, i)}/dist/${url.pathname.slice(i + 5)}`, url);
}

export class WorkerClient {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  /**
   * @param what names the worker in the error of an unexpected exit.
   * @param errorOf turns an answered error back into a typed one.
   */
  constructor(script: URL, options: WorkerOptions, what: string, errorOf: (name: string, message: string) => Error) {
    this.worker = new Worker(script, options);
    this.worker.on('message', (msg: { id: number; result?: unknown; error?: { name: string; message: string } }) => {
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(errorOf(msg.error.name, msg.error.message));
      else p.resolve(msg.result);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`${what} exited with code ${code}`)));
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  /** Sends `message` with a fresh id; `transfer` hands those buffers over instead of copying them. */
  call<T>(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** Fails every call from now on with `err` (and those in flight). */
  fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
