// Worker-thread host of the SQLite metadata store: better-sqlite3 is
// synchronous and every commit fsyncs, so it runs here, off the event loop
// that serves Kafka requests. Messages: { id, method, args } in,
// { id, result } or { id, error: { name, message } } out.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteMetadataStore } from './sqlite.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-worker must run in a worker thread');
const store = new SqliteMetadataStore((workerData as { path: string }).path);
const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;

port.on('message', (msg: { id: number; method: string; args: unknown[] }) => {
  const fn = methods[msg.method];
  const call = typeof fn === 'function' ? Promise.resolve().then(() => fn.apply(store, msg.args)) : Promise.reject(new Error(`no method ${msg.method}`));
  call.then(
    (result) => port.postMessage({ id: msg.id, result }),
    (err: unknown) => port.postMessage({ id: msg.id, error: { name: (err as Error).name, message: (err as Error).message } }),
  );
});
