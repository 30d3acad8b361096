// The fs store's writer thread. A put is six file-system calls in a row:
// open the temp file, write, fsync, close, rename, fsync the directory. On
// the event loop each is one trip through libuv's pool, and each trip's
// completion waits for a turn of the main thread before the next call can
// start; while a consumer catches up, those turns are taken by block reads
// and response writes, and the tail producers' acknowledgements waited for
// all six (BENCHMARKS.md, "The fs store's puts on a thread of their own").
// Here the six calls run back to back, synchronously, on a thread that does
// nothing else: one message in, one message out.
//
// The bytes are not copied: the broker's pooled buffers are shared memory
// (memory/buffer-pool.ts), so the parts arrive as views of the same bytes.
// The caller keeps them unchanged until the answer, as it does for libuv's
// pool.

import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writevSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export interface PutMessage {
  readonly id: number;
  readonly op: 'put';
  readonly tmp: string;
  readonly path: string;
  readonly dir: string;
  readonly parts: readonly Uint8Array[];
}

export interface CloseMessage {
  readonly id: number;
  readonly op: 'close';
}

/**
 * Directory descriptors, kept open for the fsync after every rename into
 * them (at most one per key directory; a thread that dies leaves its own
 * open, as they belong to the process).
 */
const dirs = new Map<string, number>();

function put(m: PutMessage): void {
  let fd: number | undefined = openSync(m.tmp, constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC, 0o644);
  try {
    let pending = m.parts;
    while (pending.length > 0) pending = advance(pending, writevSync(fd, pending as Uint8Array[]));
    fsyncSync(fd);
    const closing = fd;
    fd = undefined;
    closeSync(closing);
    renameSync(m.tmp, m.path);
  } catch (err) {
    try {
      if (fd !== undefined) closeSync(fd);
    } catch {
      // The error reported is the one that stopped the put, not the clean-up's.
    }
    try {
      unlinkSync(m.tmp);
    } catch {
      // Gone already; removeTemporaryFiles() sweeps what a crash leaves.
    }
    throw err;
  }
  let dirFd = dirs.get(m.dir);
  if (dirFd === undefined) {
    dirFd = openSync(m.dir, 'r');
    dirs.set(m.dir, dirFd);
  }
  fsyncSync(dirFd);
}

function advance(parts: readonly Uint8Array[], written: number): readonly Uint8Array[] {
  let n = written;
  let i = 0;
  while (i < parts.length && n >= parts[i].length) n -= parts[i++].length;
  if (i >= parts.length) return [];
  return [parts[i].subarray(n), ...parts.slice(i + 1)];
}

parentPort?.on('message', (m: PutMessage | CloseMessage) => {
  try {
    if (m.op === 'put') put(m);
    else {
      for (const fd of dirs.values()) closeSync(fd);
      dirs.clear();
    }
    parentPort!.postMessage({ id: m.id, result: null });
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: { name: 'ObjectStoreError', message: (err as Error).message } });
  }
});
