// Worker-thread host of the SQLite metadata store: better-sqlite3 is
// synchronous and every commit fsyncs, so it runs here, off the event loop
// that serves Kafka requests. Messages: { id, method, args } in,
// { id, result } or { id, error: { name, message } } out.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteMetadataStore } from './sqlite.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-worker must run in a worker thread');
const store = new SqliteMetadataStore((workerData as { path: string }).path);
type Methods = Record<string, (...args: unknown[]) => Promise<unknown>>;
// 'registry.x' and 'catalog.x' name methods of the store's registry and catalog tables.
function lookup(method: string): { target: object; fn: unknown } {
  if (method.startsWith('registry.')) return { target: store.registry, fn: (store.registry as unknown as Methods)[method.slice(9)] };
  if (method.startsWith('catalog.')) return { target: store.catalog, fn: (store.catalog as unknown as Methods)[method.slice(8)] };
  return { target: store, fn: (store as unknown as Methods)[method] };
}

port.on('message', (msg: { id: number; method: string; args: unknown[] }) => {
  const { target, fn } = lookup(msg.method);
  const call = typeof fn === 'function' ? Promise.resolve().then(() => (fn as (...a: unknown[]) => unknown).apply(target, msg.args)) : Promise.reject(new Error(`no method ${msg.method}`));
  call.then(
    (result) => port.postMessage({ id: msg.id, result }),
    (err: unknown) => port.postMessage({ id: msg.id, error: { name: (err as Error).name, message: (err as Error).message } }),
  );
});
