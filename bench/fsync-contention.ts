// What a large object put does to a small write + fdatasync next to it, as
// a Parquet file or a compaction output does to the WAL on the fs store.
//
//   npm run bench:fsync -- [--mib 40] [--chunk-mib 4] [--runs 4] [--dir .]
//
// In a worker thread, a WAL-like writer appends 100 KB and fdatasyncs every
// 5 ms for 1.5 s. After 0.2 s, the main thread puts one object of --mib MiB,
// alternating between the fs store's put (FsObjectStore: the whole object
// written, then one fsync) and the same written and fdatasync'ed every
// --chunk-mib MiB. Prints the small syncs' p50/p99/max and how long the put
// took. Run on the disk the broker's data directory lives on (--dir).

import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { FsObjectStore } from '../src/storage/objectstore/fs.js';

interface Options {
  mib: number;
  chunkMib: number;
  runs: number;
  dir: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { mib: 40, chunkMib: 4, runs: 4, dir: process.cwd() };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (key === 'mib' || key === 'runs') o[key] = Number(argv[i + 1]);
    else if (key === 'chunk-mib') o.chunkMib = Number(argv[i + 1]);
    else if (key === 'dir') o.dir = argv[i + 1];
    else throw new Error(`unknown option --${key}`);
  }
  return o;
}

/** The WAL-like writer: sync latencies in ms. */
function smallSyncs(path: string): number[] {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(100_000, 1);
  const out: number[] = [];
  const until = performance.now() + 1500;
  try {
    while (performance.now() < until) {
      writeSync(fd, chunk);
      const t = performance.now();
      fdatasyncSync(fd);
      out.push(performance.now() - t);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

async function chunkedPut(path: string, data: Buffer, chunk: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let at = 0; at < data.length; at += chunk) {
      await fh.write(data.subarray(at, Math.min(data.length, at + chunk)));
      await fh.datasync();
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(o.dir, 'floe-fsync-'));
  const store = new FsObjectStore(join(dir, 'objects'));
  const data = randomBytes(o.mib * 2 ** 20);
  try {
    for (let run = 1; run <= o.runs; run++) {
      for (const how of ['fs store put', `synced every ${o.chunkMib} MiB`]) {
        const worker = new Worker(new URL(import.meta.url), { workerData: join(dir, 'wal') });
        const syncs = new Promise<number[]>((resolve, reject) => worker.once('message', resolve).once('error', reject));
        await new Promise((r) => setTimeout(r, 200));
        const t = performance.now();
        if (how === 'fs store put') await store.put(`big-${run}`, data);
        else await chunkedPut(join(dir, `chunked-${run}`), data, o.chunkMib * 2 ** 20);
        const putMs = performance.now() - t;
        const sorted = (await syncs).sort((a, b) => a - b);
        await worker.terminate();
        console.log(
          `run ${run}, ${how.padEnd(20)}: ${o.mib} MiB put in ${putMs.toFixed(0)} ms; ${sorted.length} small syncs, ` +
            `p50 ${quantile(sorted, 0.5).toFixed(2)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`,
        );
      }
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  parentPort!.postMessage(smallSyncs(workerData as string));
}
