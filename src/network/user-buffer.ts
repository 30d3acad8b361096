// Socket reads into buffers the caller chooses, for sockets a server
// accepted. Node offers this (the `onread` option) only to sockets it
// connects: lib/net.js then keeps the buffer, its callback and the
// function giving the next buffer under three private symbols, and the
// handle reads into that memory (useUserBuffer) instead of a fresh 64 KiB
// chunk per read. Set on an accepted socket before it starts reading, the
// same fields switch the same machinery on (pause and resume included, as
// net.Socket handles them for `onread`). This leans on Node's internals, so
// every one is checked at run time: where one is missing, nothing is
// changed and the caller reads 'data' events instead.
//
// Why: a produce request of 100 KB spans two or three 64 KiB reads, and
// assembling it cost the broker's main thread about a second of copying per
// GB produced (BENCHMARKS.md, 2026-11-23).

import type { Socket } from 'node:net';

interface UserBufferHandle {
  useUserBuffer(buf: Uint8Array): void;
  reading?: boolean;
}

/**
 * Makes `socket` (accepted paused: pauseOnConnect) read into `next()`'s
 * buffers, calling `onRead(n, buf)` with each read's length and the buffer it
 * filled (from its start); a false return stops reading until resume().
 * Returns false, changing nothing, where Node's internals differ.
 */
export function readIntoUserBuffers(socket: Socket, next: () => Buffer, onRead: (n: number, buf: Buffer) => boolean): boolean {
  const symbols = new Map(Object.getOwnPropertySymbols(socket).map((s) => [s.description, s]));
  const kBuffer = symbols.get('kBuffer');
  const kBufferCb = symbols.get('kBufferCb');
  const kBufferGen = symbols.get('kBufferGen');
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return false;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function' || handle.reading === true) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (fields[kBuffer] !== null || fields[kBufferCb] !== null || fields[kBufferGen] !== null) return false;
  const first = next();
  fields[kBuffer] = first;
  fields[kBufferCb] = onRead;
  fields[kBufferGen] = next;
  handle.useUserBuffer(first);
  return true;
}
