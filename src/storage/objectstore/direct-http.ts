// Block reads (ranged GETs) and WAL uploads (single PUTs) over sockets of our
// own, built and signed in signed-requests.ts.
//
// Why our own client for these two requests: Node's HTTP client reads every
// response into fresh 64 KiB chunks and runs each through its parser and a
// stream, and the store then copied the chunks into one block. On a catch-up
// read from S3 that was about half a CPU-second per GB (BENCHMARKS.md): the
// parser and the streams, the copy, and the collections V8 runs for the
// chunks' new memory. Neither Node's client nor undici can read a body into a
// buffer the caller gives; a socket can (net.connect's `onread`, and
// tls.connect's: the decrypted bytes land in the block). So a ranged GET's
// response head is read into a small buffer of the connection, and once
// Content-Length is known the body lands in its block of the buffer pool
// with the kernel's one copy. A PUT's body, the WAL's parts as they are, is
// queued with its head in one writev; its response is a head and an empty
// (or error) body.
//
// Only what S3 answers these with is read here: HTTP/1.1, a status line,
// headers and a Content-Length body, or a chunked one for a small body (an
// error, a PUT's answer). A response this client does not take (a block's
// body chunked or unframed, a head over HEAD_BYTES, a body longer than the
// range asked for, 1xx) is given up, and the store sends the request again
// through the SDK: a GET can always be repeated, and so can a PUT of the same
// bytes to the same key (objects are written once, never changed).

import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { bufferPool } from '../../memory/buffer-pool.js';
import { ChunkedBody, ChunkedTooLongError } from './http-chunked.js';

/** A request as signed-requests.ts builds and signs it. */
export interface SignedRequest {
  readonly method: 'GET' | 'PUT';
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  /** Host, Range or Content-Length, and the signature's fields, names in lower case. */
  readonly headers: Record<string, string>;
}

/** A response head must fit in this (S3's are under 1 KiB); a read of it may carry the body's first bytes, which are copied. */
const HEAD_BYTES = 8 * 1024;
/** Idle connections older than this are closed, not reused: Node servers close theirs after 5 s, and a GET sent on one being closed fails. */
const IDLE_REUSE_MS = 4000;
/** An error response's body (S3's XML), or a PUT's, is read up to this; a longer one is given up. */
const MAX_SMALL_BODY = 1024 * 1024;

/** Why a response was given up (the store asks again through the SDK). */
export type DirectHttpFallback = 'unframed' | 'head_too_large' | 'longer_than_range' | 'informational';

/** A response read whole: a GET's body is a block of the buffer pool when the status is 2xx. */
export interface DirectResponse {
  readonly statusCode: number;
  readonly reason: string;
  /** Names in lower case; repeated fields joined with ', '. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A response this client does not take; the store sends the request again through the SDK. */
class NotTaken extends Error {
  constructor(readonly reason: DirectHttpFallback) {
    super(`response not read directly: ${reason}`);
  }
}

/** The server broke HTTP; the connection is dropped and the attempt fails (the store retries it). */
class HttpProtocolError extends Error {
  override readonly name = 'HttpProtocolError';
}

interface ParsedHead {
  readonly statusCode: number;
  readonly reason: string;
  readonly headers: Record<string, string>;
  /** The body's Content-Length; -1 when it comes chunked. */
  readonly length: number;
  readonly keepAlive: boolean;
}

interface Exchange {
  /** The longest 2xx body taken; a GET's goes into a block of the buffer pool. */
  readonly maxBody: number;
  readonly pooled: boolean;
  resolve(r: { head: ParsedHead; body: Buffer }): void;
  reject(err: Error): void;
}

/** One keep-alive connection; one request at a time. */
class Connection {
  readonly socket: Socket;
  private readonly head = Buffer.allocUnsafeSlow(HEAD_BYTES);
  private headLength = 0;
  private parsed: ParsedHead | null = null;
  private body: Buffer | null = null;
  private bodyFilled = 0;
  /** A chunked body being read (small ones only: see http-chunked.ts); its bytes are read into `head`. */
  private chunked: ChunkedBody | null = null;
  /** The body arrived with more bytes after it: nothing more can be trusted on this connection. */
  private overrun = false;
  private exchange: Exchange | null = null;
  /** A request body is still being written: a response before it is all out leaves the connection unusable. */
  private sending = false;
  closed = false;
  idleSince = 0;

  /** Open and not being torn down (destroy() is at once, its 'close' event later). */
  get usable(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  constructor(host: string, port: number, tls: boolean, onClose: (c: Connection) => void) {
    const onread = {
      // Never an empty buffer: a TLS socket goes on decrypting what it holds after destroy(), and would spin on one.
      buffer: () => (this.body !== null ? this.body.subarray(this.bodyFilled) : this.headLength < HEAD_BYTES ? this.head.subarray(this.headLength) : this.head),
      callback: (n: number) => {
        this.onRead(n);
        return true;
      },
    };
    // TLS as the SDK's client does it: the system's CAs (and NODE_EXTRA_CA_CERTS), certificates verified, SNI by name.
    // (`onread` is documented for tls.connect, though not in Node's typings; the TLS test shows it taken.)
    this.socket = tls
      ? connectTls({ host, port, servername: isIP(host) === 0 ? host : undefined, ALPNProtocols: ['http/1.1'], onread } as ConnectionOptions)
      : connect({ host, port, onread });
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => {
      this.closed = true;
      this.fail(Object.assign(new Error('connection closed before the response was complete'), { code: 'ECONNRESET' }));
      onClose(this);
    });
  }

  /**
   * Sends a request (its head, then its body's parts, in one writev) and
   * resolves with the response once its body is all in.
   */
  request(head: string, body: readonly Buffer[], maxBody: number, pooled: boolean): Promise<{ head: ParsedHead; body: Buffer }> {
    return new Promise((resolve, reject) => {
      this.exchange = { maxBody, pooled, resolve, reject };
      if (body.length === 0) {
        this.socket.write(head, 'latin1');
        return;
      }
      this.sending = true;
      const sent = () => {
        this.sending = false;
      };
      this.socket.cork();
      this.socket.write(head, 'latin1');
      for (let i = 0; i < body.length; i++) this.socket.write(body[i], i === body.length - 1 ? sent : undefined);
      this.socket.uncork();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onRead(n: number): void {
    if (this.socket.destroyed) return;
    const exchange = this.exchange;
    if (exchange === null) {
      this.socket.destroy(new HttpProtocolError('data on an idle connection'));
      return;
    }
    try {
      if (this.body !== null) {
        this.bodyFilled += n;
      } else if (this.chunked !== null) {
        this.takeChunked(exchange, this.head.subarray(0, n));
        return;
      } else {
        const searchFrom = Math.max(0, this.headLength - 3);
        this.headLength += n;
        const end = this.head.subarray(0, this.headLength).indexOf('\r\n\r\n', searchFrom, 'latin1');
        if (end < 0) {
          if (this.headLength === HEAD_BYTES) throw new NotTaken('head_too_large');
          return;
        }
        const parsed = parseHead(this.head.toString('latin1', 0, end));
        const ok = parsed.statusCode >= 200 && parsed.statusCode < 300;
        if (parsed.length < 0) {
          // A block must land in a block of its length; an error's body or a PUT's answer may come chunked (S3 sends them so).
          if (ok && exchange.pooled) throw new NotTaken('unframed');
          this.parsed = parsed;
          this.chunked = new ChunkedBody(ok ? exchange.maxBody : MAX_SMALL_BODY);
          const extra = this.head.subarray(end + 4, this.headLength);
          this.headLength = 0;
          this.takeChunked(exchange, extra);
          return;
        }
        if (parsed.length > (ok ? exchange.maxBody : MAX_SMALL_BODY)) throw new NotTaken(ok ? 'longer_than_range' : 'unframed');
        const body = parsed.length === 0 ? Buffer.alloc(0) : ok && exchange.pooled ? bufferPool.allocate(parsed.length) : Buffer.allocUnsafe(parsed.length);
        const extra = this.head.subarray(end + 4, this.headLength);
        if (extra.length > body.length) this.overrun = true;
        this.bodyFilled = extra.copy(body, 0, 0, Math.min(extra.length, body.length));
        this.headLength = 0;
        this.parsed = parsed;
        this.body = body;
      }
      if (this.bodyFilled === this.body.length) this.complete(exchange);
    } catch (err) {
      this.socket.destroy();
      this.fail(err as Error);
    }
  }

  /** The next bytes of a chunked body (copied out of the connection's buffer), and the response once it is all in. */
  private takeChunked(exchange: Exchange, bytes: Buffer): void {
    const chunked = this.chunked as ChunkedBody;
    let taken: number;
    try {
      taken = chunked.push(bytes);
    } catch (err) {
      if (err instanceof ChunkedTooLongError) throw new NotTaken('unframed');
      throw new HttpProtocolError((err as Error).message);
    }
    if (!chunked.done) return;
    if (taken < bytes.length) this.overrun = true;
    this.chunked = null;
    this.body = chunked.body();
    this.complete(exchange);
  }

  private complete(exchange: Exchange): void {
    const head = this.parsed as ParsedHead;
    const body = this.body as Buffer;
    this.parsed = null;
    this.body = null;
    this.bodyFilled = 0;
    this.exchange = null;
    // Answered before the request's body was all out (S3 refusing a PUT
    // early, say): what is left of it would be read as the next request.
    if (!head.keepAlive || this.overrun || this.sending) this.socket.destroy();
    exchange.resolve({ head, body });
  }

  private fail(err: Error): void {
    const exchange = this.exchange;
    if (exchange === null) return;
    this.exchange = null;
    if (this.body !== null) bufferPool.release(this.body);
    this.body = null;
    this.chunked = null;
    this.parsed = null;
    this.headLength = 0;
    exchange.reject(err);
  }
}

/** Connections to one endpoint, at most `maxSockets` open; requests beyond wait in turn. */
class ConnectionPool {
  private readonly idle: Connection[] = [];
  private open = 0;
  private readonly waiting: { resolve(c: Connection): void; reject(err: Error): void }[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly tls: boolean,
    private readonly maxSockets: number,
  ) {}

  acquire(signal: AbortSignal | undefined): Promise<Connection> {
    const now = performance.now();
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (c.usable && now - c.idleSince < IDLE_REUSE_MS) {
        c.socket.ref();
        return Promise.resolve(c);
      }
      c.destroy();
    }
    if (this.open < this.maxSockets) return Promise.resolve(this.connect());
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError());
      });
    });
  }

  /** A connection done with its exchange: to the next waiter, or idle (not keeping the process alive). */
  release(c: Connection): void {
    if (!c.usable) return;
    const next = this.waiting.shift();
    if (next !== undefined) return next.resolve(c);
    c.idleSince = performance.now();
    c.socket.unref();
    this.idle.push(c);
  }

  destroy(): void {
    for (const w of this.waiting.splice(0)) w.reject(new Error('object store closed'));
    for (const c of this.idle.splice(0)) c.destroy();
  }

  private connect(): Connection {
    this.open++;
    return new Connection(this.host, this.port, this.tls, (closed) => {
      this.open--;
      const i = this.idle.indexOf(closed);
      if (i >= 0) this.idle.splice(i, 1);
      const next = this.waiting.shift();
      if (next !== undefined) next.resolve(this.connect());
    });
  }
}

export interface DirectHttpClientOptions {
  readonly maxSockets: number;
  /** Counts each response given up (the store sends the request again through the SDK). */
  readonly onFallback?: (method: SignedRequest['method'], reason: DirectHttpFallback) => void;
}

/** Ranged GETs and PUTs (HTTP or HTTPS) over keep-alive connections of its own. */
export class DirectHttpClient {
  private readonly pools = new Map<string, ConnectionPool>();
  private readonly live = new Set<Connection>();

  constructor(private readonly opts: DirectHttpClientOptions) {}

  /**
   * Sends a ranged GET (signed already) of `rangeLength` bytes and reads its
   * response: a 2xx body is a block of the buffer pool, held once for the
   * caller. Null when the request cannot be sent here, or the response is
   * one this client does not take (counted): the caller then asks its own way.
   */
  get(request: SignedRequest, rangeLength: number, signal?: AbortSignal): Promise<DirectResponse | null> {
    return this.send(request, [], rangeLength, true, signal);
  }

  /**
   * Sends a PUT (signed already, its Content-Length the parts' total) with
   * `body`'s parts as they are, and reads its response. Null as for get().
   */
  put(request: SignedRequest, body: readonly Buffer[], signal?: AbortSignal): Promise<DirectResponse | null> {
    return this.send(request, body, MAX_SMALL_BODY, false, signal);
  }

  destroy(): void {
    for (const p of this.pools.values()) p.destroy();
    for (const c of this.live) c.destroy();
  }

  private async send(request: SignedRequest, body: readonly Buffer[], maxBody: number, pooled: boolean, signal: AbortSignal | undefined): Promise<DirectResponse | null> {
    const planned = planRequest(request);
    if (planned === null) return null;
    try {
      return await this.exchange(planned, body, maxBody, pooled, signal);
    } catch (err) {
      if (!(err instanceof NotTaken)) throw err;
      this.opts.onFallback?.(request.method, err.reason);
      return null;
    }
  }

  private async exchange(
    planned: PlannedRequest,
    body: readonly Buffer[],
    maxBody: number,
    pooled: boolean,
    signal: AbortSignal | undefined,
  ): Promise<DirectResponse> {
    if (signal?.aborted) throw abortError();
    const key = `${planned.tls ? 'https' : 'http'}://${planned.host}:${planned.port}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new ConnectionPool(planned.host, planned.port, planned.tls, this.opts.maxSockets);
      this.pools.set(key, pool);
    }
    const conn = await pool.acquire(signal);
    this.live.add(conn);
    const onAbort = () => conn.destroy();
    signal?.addEventListener('abort', onAbort);
    try {
      const response = await conn.request(planned.head, body, maxBody, pooled);
      return { statusCode: response.head.statusCode, reason: response.head.reason, headers: response.head.headers, body: response.body };
    } catch (err) {
      if (signal?.aborted) throw abortError();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.live.delete(conn);
      pool.release(conn);
    }
  }
}

interface PlannedRequest {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly head: string;
}

/** Characters a header name, value or request target may carry here; a request with others is not sent here. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
const TARGET = /^\/[\x21-\x7e]*$/;

/** The request's head, or null where it cannot be sent here: a scheme other than HTTP(S), or bytes a request head must not carry. */
function planRequest(request: SignedRequest): PlannedRequest | null {
  const tls = request.protocol === 'https:';
  if ((request.protocol !== 'http:' && !tls) || !TARGET.test(request.path)) return null;
  let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(request.headers)) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return null;
    head += `${name}: ${value}\r\n`;
  }
  const hostname = request.hostname;
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return { host, port: request.port ?? (tls ? 443 : 80), tls, head: `${head}\r\n` };
}

/** A response head (status line and fields, without the blank line). Throws HttpProtocolError, or NotTaken for what the SDK should read. */
function parseHead(text: string): ParsedHead {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (status === null) throw new HttpProtocolError(`bad status line: ${JSON.stringify(lines[0].slice(0, 100))}`);
  const statusCode = Number(status[2]);
  if (statusCode < 200) throw new NotTaken('informational');
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    if (!TOKEN.test(name)) throw new HttpProtocolError(`bad header line: ${JSON.stringify(line.slice(0, 100))}`);
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const connection = (headers.connection ?? '').toLowerCase();
  const keepAlive = status[1] === '1' ? !/(^|,)\s*close\s*(,|$)/.test(connection) : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
  const declared = headers['content-length'];
  let length: number;
  if (statusCode === 204 || statusCode === 304) length = 0;
  else if (headers['transfer-encoding'] !== undefined) {
    // Chunked alone; any other coding is the SDK's to read.
    if (headers['transfer-encoding'].toLowerCase() !== 'chunked') throw new NotTaken('unframed');
    length = -1;
  } else {
    if (declared === undefined) throw new NotTaken('unframed');
    if (!/^\d{1,15}$/.test(declared)) throw new HttpProtocolError(`bad content-length: ${JSON.stringify(declared.slice(0, 100))}`);
    length = Number(declared);
  }
  // Chunked with a Content-Length too, the message is suspect: not kept alive (RFC 9112 §6.3).
  return { statusCode, reason: status[3] ?? '', headers, length, keepAlive: keepAlive && !(length < 0 && declared !== undefined) };
}

/** The error a request cut short by its signal ends with (the SDK's name for it, which classifyS3Error knows). */
export function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}
