// Worker-thread host of PartitionConverter sessions: decompression, Avro
// decoding, Arrow building and Parquet encoding all run here, off the event
// loop that serves produce and fetch (ARCHITECTURE §7.3). Messages:
// { id, op, session, args } in; { id, result } or { id, error } out.

import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { PartitionSpec } from '../iceberg/metadata.js';
import type { IcebergSchema } from '../iceberg/types.js';
import { PartitionConverter, type ConverterOptions, type SchemaText, type WrittenFile } from './converter.js';
import type { ConvertPriority } from './pool.js';

const port = parentPort;
if (port === null) throw new Error('convert worker must run in a worker thread');

/**
 * Conversion yields the CPU to produce and fetch. On Linux a thread has its
 * own nice value and scheduling policy, and /proc/thread-self names this
 * thread's id, so only this worker is lowered; the event loop and the
 * metadata store's thread keep their priority.
 * - 'idle' (table.topic.convert.priority's default): SCHED_IDLE. The thread
 *   runs only on CPU that no other thread wants, and a waking thread
 *   preempts it at once. A nice-10 thread keeps its time slice when the
 *   event loop wakes; on two cores that cost produce p99 about 2 ms of the
 *   table topics' 3.5 (BENCHMARKS.md, 2026-12-06). Node cannot call
 *   sched_setscheduler, so util-linux's chrt sets it; where chrt is missing,
 *   nice 10 alone.
 * - 'nice': nice 10, which keeps conversion a share of a saturated CPU.
 * Elsewhere (not Linux) nothing is lowered.
 */
const CONVERT_NICE = 10;
const { priority } = workerData as { priority: ConvertPriority };
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) {
    setPriority(tid, Math.max(getPriority(tid), CONVERT_NICE));
    // A failed chrt (absent, refused) leaves the thread at nice 10.
    if (priority === 'idle') spawnSync('chrt', ['--idle', '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 5000 });
  }
} catch {
  // no /proc (not Linux): nothing to lower
}
const sessions = new Map<number, PartitionConverter>();

function session(id: number): PartitionConverter {
  const s = sessions.get(id);
  if (s === undefined) throw new Error(`no conversion session ${id}`);
  return s;
}

async function run(op: string, id: number, args: unknown[]): Promise<unknown> {
  switch (op) {
    case 'open':
      sessions.set(id, new PartitionConverter(args[0] as ConverterOptions));
      return null;
    case 'addSchemas':
      session(id).addSchemas(args[0] as Map<number, SchemaText>);
      return null;
    case 'setTableSchema':
      await session(id).setTableSchema(args[0] as IcebergSchema, args[1] as PartitionSpec);
      return null;
    case 'append':
      // Structured cloning delivers Uint8Arrays; the record codec reads Buffers.
      return session(id).append((args[0] as Uint8Array[]).map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)));
    case 'flush':
      return session(id).flush();
    case 'close':
      sessions.delete(id);
      return null;
    default:
      throw new Error(`unknown op ${op}`);
  }
}

/**
 * Written files' bytes go back in shared memory, copied here: the fs
 * store's writer thread then takes them as they are. Transferred, they
 * would be copied for it on the broker's event loop instead, tens of ms
 * for a data file of 128 MiB; here the copy costs this thread.
 */
function inSharedMemory(result: unknown): unknown {
  const share = (files: readonly WrittenFile[]): WrittenFile[] =>
    files.map((f) => {
      const bytes = new Uint8Array(new SharedArrayBuffer(f.bytes.byteLength));
      bytes.set(f.bytes);
      return { ...f, bytes };
    });
  if (Array.isArray(result)) return share(result as WrittenFile[]);
  const files = (result as { files?: WrittenFile[] } | null)?.files;
  return files === undefined ? result : { ...(result as object), files: share(files) };
}

port.on('message', (msg: { id: number; op: string; session: number; args: unknown[] }) => {
  run(msg.op, msg.session, msg.args).then(
    (result) => port.postMessage({ id: msg.id, result: inSharedMemory(result) }),
    (err: unknown) => port.postMessage({ id: msg.id, error: { name: (err as Error).name, message: (err as Error).message } }),
  );
});
