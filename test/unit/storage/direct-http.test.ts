// The S3 store's ranged GETs, read straight into pooled blocks, and its
// single PUTs, written part by part (direct-http.ts, signed-requests.ts),
// against an HTTP server written here byte by byte, so that each way a
// server can frame (or break) a response is met: the bytes that come back,
// the requests, bodies and connections the server saw, and the fallbacks
// counted.
import { spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerMetrics } from '../../../src/observability/metrics.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../../src/storage/objectstore/s3.js';
import { ObjectNotFoundError, ObjectStoreError } from '../../../src/storage/objectstore/types.js';
import { metricValue } from '../../helpers/metrics.js';
import { seededRandom } from '../../helpers/random.js';
import { startS3Server } from '../../helpers/s3-server.js';
import { s3Options } from './store-kinds.js';

const OBJECT = randomBytes(3 << 20);

interface SeenRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly start: number;
  readonly end: number;
  /** How many requests this connection carried before this one. */
  readonly onConnection: number;
  /** The request's body (a PUT's), all of it unless the server answers on the head. */
  readonly body: Buffer;
}

type Answer = (req: SeenRequest, socket: Socket, n: number) => void;

/** A plain-TCP HTTP/1.1 server: each request head goes to `answer` with the socket, which writes whatever bytes the test wants. */
class RawHttpServer {
  readonly requests: SeenRequest[] = [];
  connections = 0;
  open = 0;
  maxOpen = 0;
  /** Answer each request on its head, before its body is in (the body's bytes are then dropped). */
  answerOnHead = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    public answer: Answer,
  ) {}

  static async start(answer: Answer): Promise<RawHttpServer> {
    const s = new RawHttpServer(createServer(), answer);
    s.server.on('connection', (socket) => s.accept(socket));
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    return s;
  }

  get endpoint(): string {
    const addr = this.server.address() as { port: number };
    return `http://127.0.0.1:${addr.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private accept(socket: Socket): void {
    this.connections++;
    this.maxOpen = Math.max(this.maxOpen, ++this.open);
    this.sockets.add(socket);
    socket.on('close', () => {
      this.open--;
      this.sockets.delete(socket);
    });
    socket.on('error', () => {});
    let pending: Buffer = Buffer.alloc(0);
    let served = 0;
    /** A request whose body is still coming: its chunks so far (none kept if answered already) and how many bytes are left. */
    let awaiting: { req: Omit<SeenRequest, 'body'>; chunks: Buffer[]; left: number; answered: boolean } | null = null;
    const serve = (req: SeenRequest) => {
      this.requests.push(req);
      this.answer(req, socket, this.requests.length);
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        if (awaiting !== null) {
          const take = pending.subarray(0, awaiting.left);
          pending = pending.subarray(take.length);
          awaiting.left -= take.length;
          if (!awaiting.answered) awaiting.chunks.push(take);
          if (awaiting.left > 0) return;
          const { req, chunks, answered } = awaiting;
          awaiting = null;
          if (!answered) serve({ ...req, body: Buffer.concat(chunks) });
          continue;
        }
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = pending.subarray(0, end).toString('latin1').split('\r\n');
        pending = pending.subarray(end + 4);
        const [method, target] = lines[0].split(' ');
        const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const m = /^bytes=(\d+)-(\d+)$/.exec(headers.range ?? '');
        const req = { method, target, headers, start: m ? Number(m[1]) : 0, end: m ? Number(m[2]) + 1 : OBJECT.length, onConnection: served++ };
        const length = Number(headers['content-length'] ?? 0);
        if (length === 0) serve({ ...req, body: Buffer.alloc(0) });
        else {
          awaiting = { req, chunks: [], left: length, answered: this.answerOnHead };
          if (this.answerOnHead) serve({ ...req, body: Buffer.alloc(0) });
        }
      }
    });
  }
}

/** A 206 of the range asked for, framed by Content-Length, head and body in one write. */
function partial(req: SeenRequest, socket: Socket, extraHeaders = ''): void {
  const body = OBJECT.subarray(req.start, req.end);
  socket.write(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 206 Partial Content\r\ncontent-type: application/octet-stream\r\ncontent-range: bytes ${req.start}-${req.end - 1}/${OBJECT.length}\r\ncontent-length: ${body.length}\r\n${extraHeaders}\r\n`,
      ),
      body,
    ]),
  );
}

function xmlError(socket: Socket, status: string, code: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`;
  socket.write(`HTTP/1.1 ${status}\r\ncontent-type: application/xml\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

let server: RawHttpServer | null = null;
let store: S3ObjectStore | null = null;
let metrics: BrokerMetrics;

async function open(answer: Answer, options: Partial<S3ObjectStoreOptions> = {}): Promise<{ server: RawHttpServer; store: S3ObjectStore }> {
  server = await RawHttpServer.start(answer);
  metrics = new BrokerMetrics();
  store = new S3ObjectStore(
    {
      endpoint: server.endpoint,
      region: 'us-east-1',
      bucket: 'bucket',
      prefix: '',
      pathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      requestTimeoutMs: 2000,
      maxAttempts: 3,
      retryBaseMs: 5,
      retryMaxMs: 20,
      multipartThresholdBytes: 32 << 20,
      multipartPartBytes: 16 << 20,
      maxConnections: 4,
      ...options,
    },
    metrics,
  );
  return { server, store };
}

async function fallbacks(reason?: string, operation = 'get'): Promise<number> {
  return metricValue(await metrics.text(), 'floe_object_store_sdk_fallbacks_total', reason === undefined ? { operation } : { operation, reason });
}

async function attempts(outcome: string, operation = 'get'): Promise<number> {
  return metricValue(await metrics.text(), 'floe_object_store_requests_total', { operation, outcome });
}

afterEach(async () => {
  await store?.close();
  await server?.stop();
  store = null;
  server = null;
});

const RANGES = [
  { start: 0, end: 1 },
  { start: 5, end: 7000 },
  { start: 1000, end: 1000 + (1 << 20) },
  { start: OBJECT.length - 448 * 1024, end: OBJECT.length },
  { start: 12345, end: 12345 + 8192 },
];

describe('S3 ranged GETs read directly into pooled blocks', () => {
  it('reads ranges of every size over one kept-alive connection, signed, each asked once, into shared pooled memory', async () => {
    const { server, store } = await open((req, socket) => partial(req, socket));
    for (const r of RANGES) {
      const got = await store.get('s3stream/obj', r);
      expect(got.equals(OBJECT.subarray(r.start, r.end))).toBe(true);
      // Blocks of the buffer pool's sizes (16 KiB and up) come in its shared memory.
      if (r.end - r.start >= 16384) expect(got.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    expect(server.requests.map((r) => [r.method, r.target.split('?')[0], r.start, r.end])).toEqual(RANGES.map((r) => ['GET', '/bucket/s3stream/obj', r.start, r.end]));
    expect(server.requests[0].headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AK\//);
    expect(server.requests[0].headers.host).toBe(new URL(server.endpoint).host);
    expect(server.connections).toBe(1);
    expect(await fallbacks()).toBe(0);
    expect(metricValue(await metrics.text(), 'floe_object_store_bytes_total', { direction: 'download' })).toBe(RANGES.reduce((n, r) => n + r.end - r.start, 0));
  });

  it('reads a response however the server cuts it up: a byte at a time through the head, odd pieces through the body', async () => {
    const { server, store } = await open(async (req, socket) => {
      const body = OBJECT.subarray(req.start, req.end);
      const head = Buffer.from(`HTTP/1.1 206 Partial Content\r\ncontent-length: ${body.length}\r\n\r\n`);
      for (const byte of head) {
        socket.write(Buffer.of(byte));
        await new Promise((r) => setImmediate(r));
      }
      for (let at = 0; at < body.length; at += 7919) {
        socket.write(body.subarray(at, at + 7919));
        if (at % 10 === 0) await new Promise((r) => setImmediate(r));
      }
    });
    const r = { start: 100, end: 100 + 300_000 };
    expect((await store.get('o', r)).equals(OBJECT.subarray(r.start, r.end))).toBe(true);
    expect((await store.get('o', r)).equals(OBJECT.subarray(r.start, r.end))).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(server.connections).toBe(1);
  });

  it('opens at most s3.max.connections at once; the rest wait their turn', async () => {
    const { server, store } = await open((req, socket) => setTimeout(() => partial(req, socket), 20), { maxConnections: 2 });
    const ranges = Array.from({ length: 12 }, (_, i) => ({ start: i * 100_000, end: i * 100_000 + 90_000 + i }));
    const got = await Promise.all(ranges.map((r) => store.get('o', r)));
    got.forEach((g, i) => expect(g.equals(OBJECT.subarray(ranges[i].start, ranges[i].end))).toBe(true));
    expect(server.maxOpen).toBe(2);
    expect(server.connections).toBe(2);
  });

  it('sends each response it does not read on to the SDK\'s client, asked again, and counts why', async () => {
    const { server, store } = await open((req, socket, n) => {
      // Odd requests are the direct reader's, even ones the SDK's client asking again.
      const body = OBJECT.subarray(req.start, req.end);
      const kind = Math.ceil(n / 2);
      if (kind === 1) {
        const chunked = `${body.length.toString(16)}\r\n`;
        socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\ntransfer-encoding: chunked\r\n\r\n${chunked}`), body, Buffer.from('\r\n0\r\n\r\n')]));
      } else if (kind === 2) {
        partial(req, socket, `x-amz-meta-big: ${'m'.repeat(9000)}\r\n`);
      } else if (kind === 3) {
        // The whole object with a 200, as HTTP lets a server that ignores Range answer.
        socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${OBJECT.length}\r\n\r\n`), OBJECT]));
      } else if (kind === 4) {
        socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        partial(req, socket);
      }
    });
    const r = { start: 4096, end: 4096 + 65536 };
    for (let i = 0; i < 4; i++) expect((await store.get('o', r)).equals(OBJECT.subarray(r.start, r.end))).toBe(true);
    expect(server.requests).toHaveLength(8);
    expect(await fallbacks('unframed')).toBe(1);
    expect(await fallbacks('head_too_large')).toBe(1);
    expect(await fallbacks('longer_than_range')).toBe(1);
    expect(await fallbacks('informational')).toBe(1);
    expect(await attempts('success')).toBe(4);
  });

  it('reads S3\'s error responses as the SDK does: 404 is ObjectNotFoundError, SlowDown is retried', async () => {
    const { server, store } = await open((req, socket, n) => {
      if (req.target.startsWith('/bucket/missing')) xmlError(socket, '404 Not Found', 'NoSuchKey');
      else if (n === 2) xmlError(socket, '503 Slow Down', 'SlowDown');
      else partial(req, socket);
    });
    await expect(store.get('missing', { start: 0, end: 10 })).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect((await store.get('o', { start: 10, end: 20 })).equals(OBJECT.subarray(10, 20))).toBe(true);
    expect(await attempts('not_found')).toBe(1);
    expect(await attempts('throttled')).toBe(1);
    expect(server.connections).toBe(1);
  });

  it('drops a connection that breaks HTTP, fails that attempt, and goes on on a new one', async () => {
    const { server, store } = await open((req, socket, n) => {
      const body = OBJECT.subarray(req.start, req.end);
      if (n === 1) socket.write(`HTTP/1.1 206 Partial Content\r\ncontent-length: 12abc\r\n\r\n`);
      else if (n === 3) socket.write('SMTP ready\r\n\r\n');
      else if (n === 5) socket.write(`HTTP/1.1 206 Partial Content\r\n no-name\r\ncontent-length: ${body.length}\r\n\r\n`);
      else if (n === 7) {
        // Cut short: half the body, then the connection closes.
        socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\ncontent-length: ${body.length}\r\n\r\n`), body.subarray(0, body.length >> 1)]));
        setTimeout(() => socket.destroy(), 20);
      } else if (n === 9) {
        // More bytes than the body, in the same read as its head: the response is right, the connection is not kept.
        socket.write(`HTTP/1.1 206 Partial Content\r\ncontent-length: ${body.length}\r\n\r\n${body.toString('latin1')}HTTP/1.1 200 OK\r\n`, 'latin1');
      } else partial(req, socket);
    });
    const r = { start: 777, end: 777 + 200_000 };
    const small = { start: 5, end: 105 };
    for (const range of [r, r, r, r, small, r]) expect((await store.get('o', range)).equals(OBJECT.subarray(range.start, range.end))).toBe(true);
    expect(server.requests).toHaveLength(10);
    expect(await attempts('network_error')).toBe(4);
    expect(await attempts('success')).toBe(6);
    expect(await fallbacks()).toBe(0);
    // Each broken response ends its connection; a good one keeps it for the next request.
    expect(server.connections).toBe(6);
    expect(server.requests.map((q) => q.onConnection)).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
  });

  it('gives up on a server that never answers at s3.request.timeout.ms, per attempt, without hanging', async () => {
    const { server, store } = await open(() => {}, { requestTimeoutMs: 200, maxAttempts: 2 });
    const started = Date.now();
    await expect(store.get('o', { start: 0, end: 100 })).rejects.toThrow(ObjectStoreError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await attempts('timeout')).toBe(2);
    expect(server.requests).toHaveLength(2);
    // A connection abandoned mid-request is not reused.
    expect(server.connections).toBe(2);
  });

  it('closes a kept-alive connection the server speaks on out of turn, and reads on over a new one', async () => {
    const { server, store } = await open((req, socket, n) => {
      partial(req, socket);
      if (n === 1) setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'), 20);
    });
    expect((await store.get('o', { start: 0, end: 1000 })).equals(OBJECT.subarray(0, 1000))).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.open).toBe(0);
    expect((await store.get('o', { start: 1000, end: 2000 })).equals(OBJECT.subarray(1000, 2000))).toBe(true);
    expect(server.connections).toBe(2);
    expect(await attempts('success')).toBe(2);
  });
});

describe('hostile answers', () => {
  it('gives every GET its exact bytes or a typed failure, and every PUT an answer or a typed failure, in bounded time, whatever the framing', async () => {
    const { int, rand } = seededRandom(0x5eed4);
    // A valid answer, then its framing damaged: bytes of the head (or of a chunked body's framing) flipped, dropped or
    // repeated, or the answer cut short and the connection closed. A block's own bytes are left alone, and so is the
    // blank line that ends its head (moving it moves bytes between head and body): that is a different body, which
    // HTTP cannot tell from the right one (the object format's block CRC does, in the broker).
    const answer = (req: SeenRequest, socket: Socket) => {
      let head: Buffer;
      let payload = Buffer.alloc(0);
      if (req.method === 'GET') {
        payload = OBJECT.subarray(req.start, req.end);
        head = Buffer.from(`HTTP/1.1 206 Partial Content\r\ncontent-range: bytes ${req.start}-${req.end - 1}/${OBJECT.length}\r\ncontent-length: ${payload.length}\r\n\r\n`);
      } else if (rand() < 0.5) {
        head = Buffer.from('HTTP/1.1 200 OK\r\netag: "e"\r\ncontent-length: 0\r\n\r\n');
      } else {
        const xml = '<Error><Code>SlowDown</Code></Error>';
        head = Buffer.from(`HTTP/1.1 503 Slow Down\r\ntransfer-encoding: chunked\r\n\r\n5\r\n${xml.slice(0, 5)}\r\n${(xml.length - 5).toString(16)}\r\n${xml.slice(5)}\r\n0\r\n\r\n`);
      }
      const at = int(req.method === 'GET' ? head.length - 4 : head.length);
      switch (int(5)) {
        case 0:
          head[at] ^= 1 << int(8);
          break;
        case 1:
          head = Buffer.concat([head.subarray(0, at), head.subarray(at + 1 + int(3))]);
          break;
        case 2:
          head = Buffer.concat([head.subarray(0, at), head.subarray(at - int(Math.min(at, 4)), at), head.subarray(at)]);
          break;
        case 3: {
          const whole = Buffer.concat([head, payload]);
          socket.end(whole.subarray(0, int(whole.length)));
          return;
        }
        default:
          break; // left whole, so that some succeed
      }
      socket.write(Buffer.concat([head, payload]));
    };
    const { server, store } = await open(answer, { requestTimeoutMs: 150, maxAttempts: 2, maxConnections: 4 });
    const outcomes = { got: 0, failed: 0 };
    const started = Date.now();
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const start = int(OBJECT.length - 70_000);
          const range = { start, end: start + 1 + int(65_536) };
          try {
            if (i % 2 === 0) expect((await store.get('o', range)).equals(OBJECT.subarray(range.start, range.end))).toBe(true);
            else await store.put(`wal/${round}-${i}`, [OBJECT.subarray(0, 1000), OBJECT.subarray(range.start, range.end)]);
            outcomes.got++;
          } catch (err) {
            expect(err).toBeInstanceOf(ObjectStoreError);
            outcomes.failed++;
          }
        }),
      );
    }
    expect(outcomes.got + outcomes.failed).toBe(80);
    expect(outcomes.got).toBeGreaterThan(0);
    expect(outcomes.failed).toBeGreaterThan(0);
    // Each attempt ends in about the request timeout at worst; ten rounds, two attempts each.
    expect(Date.now() - started).toBeLessThan(10 * 2 * (150 + 50) + 5000);
    // And the client is sound after it all.
    server.answer = (req, socket) => (req.method === 'GET' ? partial(req, socket) : socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    expect((await store.get('o', { start: 3, end: 300_003 })).equals(OBJECT.subarray(3, 300_003))).toBe(true);
    await store.put('wal/after', OBJECT);
  });
});

describe('S3 ranged GETs and PUTs over TLS', () => {
  it('sends them directly too, verifying the endpoint\'s certificate and name as the SDK\'s client does', () => {
    const fixtures = new URL('../../fixtures/', import.meta.url);
    const run = spawnSync(process.execPath, [fileURLToPath(new URL('tls-direct-http.mjs', fixtures))], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: fileURLToPath(new URL('tls/cert.pem', fixtures)), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').pop() as string);
    expect(out.matches).toEqual([true, true, true, true]);
    expect(out.chunkedMatches).toBe(true);
    // Four GETs read directly on one connection; the chunked one asked there, then again by the SDK's client on its own.
    expect(out.fallbacks).toBe(1);
    expect(out.requests.map((r: { target: string }) => r.target)).toEqual(['/bucket/o', '/bucket/o', '/bucket/o', '/bucket/o', '/bucket/chunked', '/bucket/chunked', '/bucket/wal/1']);
    expect(out.requests.slice(0, 5).map((r: { connection: number }) => r.connection)).toEqual([1, 1, 1, 1, 1]);
    expect(out.requests[5].connection).not.toBe(1);
    // The PUT's parts arrived whole and in order, sent once, on an upload connection of its own.
    expect(out.putMatches).toBe(true);
    expect(out.putConnection).not.toBe(1);
    // Reached at an address its certificate does not name, the endpoint is refused before any request.
    expect(out.wrongNameError).toMatch(/ObjectStoreError: .*IP: 127.0.0.2 is not in the cert's list/);
  });
});

describe('WAL uploads (single PUTs) signed and sent without the SDK', () => {
  const PREFIX = "we ird/ü!'()*/";
  const ok = (socket: Socket) => socket.write('HTTP/1.1 200 OK\r\netag: "e"\r\ncontent-length: 0\r\n\r\n');
  const PARTS = [OBJECT.subarray(0, 100), OBJECT.subarray(100, 300_000), OBJECT.subarray(300_000, 300_001), OBJECT.subarray(400_000, 1_400_000)];
  const WHOLE = Buffer.concat(PARTS);

  it('sends the parts as they are, once each PUT, with their CRC32C, signed over length and checksum, on one kept-alive connection', async () => {
    const { server, store } = await open((req, socket) => ok(socket), { prefix: PREFIX });
    await store.put('wal/a b', PARTS);
    await store.put('wal/2', OBJECT.subarray(0, 5000));
    expect(server.requests.map((q) => [q.method, q.target])).toEqual([
      ['PUT', '/bucket/we%20ird/%C3%BC%21%27%28%29%2A/wal/a%20b'],
      ['PUT', '/bucket/we%20ird/%C3%BC%21%27%28%29%2A/wal/2'],
    ]);
    const [first, second] = server.requests;
    expect(first.body.equals(WHOLE)).toBe(true);
    expect(second.body.equals(OBJECT.subarray(0, 5000))).toBe(true);
    expect(first.headers['content-length']).toBe(String(WHOLE.length));
    expect(first.headers['x-amz-checksum-crc32c']).toBe(crc32cBase64(WHOLE));
    expect(second.headers['x-amz-checksum-crc32c']).toBe(crc32cBase64(OBJECT.subarray(0, 5000)));
    expect(first.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(sigV4Check(first, 'SK')).toEqual({ valid: true, signed: ['content-length', 'host', 'x-amz-checksum-crc32c', 'x-amz-content-sha256', 'x-amz-date'] });
    expect(sigV4Check(first, 'another secret').valid).toBe(false);
    expect(server.connections).toBe(1);
    expect(second.onConnection).toBe(1);
    expect(await attempts('success', 'put')).toBe(2);
    expect(await fallbacks(undefined, 'put')).toBe(0);
    expect(metricValue(await metrics.text(), 'floe_object_store_bytes_total', { direction: 'upload' })).toBe(WHOLE.length + 5000);
  });

  it('sends a PUT whose answer it does not take again through the SDK, the same bytes, scoped as the SDK scopes it', async () => {
    const { server, store } = await open((req, socket, n) => {
      // Framed by the connection's end, as HTTP/1.0 servers do.
      if (n === 1) socket.end('HTTP/1.1 200 OK\r\n\r\n');
      else ok(socket);
    });
    await store.put('wal/1', PARTS);
    const [ours, sdk] = server.requests;
    expect(server.requests).toHaveLength(2);
    expect(sdk.target).toBe('/bucket/wal/1?x-id=PutObject');
    expect(ours.body.equals(WHOLE)).toBe(true);
    expect(sdk.body.equals(WHOLE)).toBe(true);
    expect(sdk.headers['x-amz-checksum-crc32c']).toBe(ours.headers['x-amz-checksum-crc32c']);
    expect(sigV4Check(sdk, 'SK').valid).toBe(true);
    const scopeOf = (q: SeenRequest) => /Credential=([^,]+),/.exec(q.headers.authorization ?? '')?.[1];
    expect(scopeOf(ours)).toBe(scopeOf(sdk));
    expect(await fallbacks('unframed', 'put')).toBe(1);
    expect(await attempts('success', 'put')).toBe(1);
  });

  it('reads S3\'s answers to a PUT as the SDK does: SlowDown is retried, AccessDenied is not', async () => {
    const { server, store } = await open((req, socket, n) => {
      if (n === 1) xmlError(socket, '503 Slow Down', 'SlowDown');
      else if (req.target.includes('denied')) xmlError(socket, '403 Forbidden', 'AccessDenied');
      else ok(socket);
    });
    await store.put('wal/1', PARTS);
    await expect(store.put('wal/denied', PARTS)).rejects.toThrow(/client_error.*AccessDenied|AccessDenied.*client_error/s);
    expect(server.requests.map((q) => q.target)).toEqual(['/bucket/wal/1', '/bucket/wal/1', '/bucket/wal/denied']);
    expect(server.requests.every((q) => q.body.equals(WHOLE))).toBe(true);
    expect(await attempts('throttled', 'put')).toBe(1);
    expect(await attempts('success', 'put')).toBe(1);
    expect(await attempts('client_error', 'put')).toBe(1);
    // Each error came framed and the body was all in: the connection was kept.
    expect(server.connections).toBe(1);
  });

  it('reads chunked answers, as S3 often sends its errors, without asking again; broken chunking fails the attempt', async () => {
    const chunkedError = (socket: Socket, status: string, code: string) => {
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message></Error>`;
      socket.write(`HTTP/1.1 ${status}\r\ntransfer-encoding: chunked\r\n\r\n10\r\n${xml.slice(0, 16)}\r\n${(xml.length - 16).toString(16)}\r\n${xml.slice(16)}\r\n0\r\n\r\n`);
    };
    const { server, store } = await open((req, socket, n) => {
      if (req.target.startsWith('/bucket/missing')) chunkedError(socket, '404 Not Found', 'NoSuchKey');
      else if (n === 2) chunkedError(socket, '503 Slow Down', 'SlowDown');
      else if (n === 4) socket.write('HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n');
      else if (n === 6) socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n');
      else ok(socket);
    });
    await expect(store.get('missing', { start: 0, end: 10 })).rejects.toBeInstanceOf(ObjectNotFoundError);
    await store.put('wal/1', PARTS);
    await store.put('wal/2', PARTS);
    await store.put('wal/3', PARTS);
    expect(server.requests.map((q) => q.target)).toEqual(['/bucket/missing', '/bucket/wal/1', '/bucket/wal/1', '/bucket/wal/2', '/bucket/wal/2', '/bucket/wal/3']);
    expect(await fallbacks(undefined, 'get')).toBe(0);
    expect(await fallbacks(undefined, 'put')).toBe(0);
    expect(await attempts('not_found')).toBe(1);
    expect(await attempts('throttled', 'put')).toBe(1);
    expect(await attempts('network_error', 'put')).toBe(1);
    expect(await attempts('success', 'put')).toBe(3);
    // The broken one ended its connection; the others were kept (reads and uploads on connections of their own).
    expect(server.requests.map((q) => q.onConnection)).toEqual([0, 0, 1, 2, 0, 1]);
  });

  it('drops the connection when S3 answers before the body is all sent, and puts again on a new one', async () => {
    const big = Array.from({ length: 8 }, () => OBJECT);
    const { server, store } = await open((req, socket, n) => {
      if (n === 1) {
        // Refused on its head; the server reads no more of it, and takes the next one whole.
        socket.pause();
        server.answerOnHead = false;
        xmlError(socket, '500 Internal Server Error', 'InternalError');
      } else ok(socket);
    });
    server.answerOnHead = true;
    await store.put('wal/big', big);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1].body.equals(Buffer.concat(big))).toBe(true);
    expect(server.requests[1].onConnection).toBe(0);
    expect(server.connections).toBe(2);
    expect(await attempts('server_error', 'put')).toBe(1);
    expect(await attempts('success', 'put')).toBe(1);
    // Not sent again on the refused connection, behind what was left of the first body.
    expect(await attempts('timeout', 'put')).toBe(0);
  });

  it('gives up on a server that takes the body and never answers, at s3.request.timeout.ms per attempt', async () => {
    const { server, store } = await open(() => {}, { requestTimeoutMs: 200, maxAttempts: 2 });
    const started = Date.now();
    await expect(store.put('wal/1', PARTS)).rejects.toThrow(ObjectStoreError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await attempts('timeout', 'put')).toBe(2);
    expect(server.requests).toHaveLength(2);
    expect(server.requests.every((q) => q.body.equals(WHOLE))).toBe(true);
    expect(server.connections).toBe(2);
  });
});

describe('block reads signed without the SDK', () => {
  const PREFIX = "we ird/ü!'()*/";

  it('sends them to the SDK\'s URL for the key, escaped as the SDK escapes it, with no query', async () => {
    const { server, store } = await open((req, socket) => partial(req, socket), { prefix: PREFIX });
    const r = { start: 50, end: 50_050 };
    expect((await store.get('s3stream/a b', r)).equals(OBJECT.subarray(r.start, r.end))).toBe(true);
    expect(server.requests.map((q) => q.target)).toEqual(['/bucket/we%20ird/%C3%BC%21%27%28%29%2A/s3stream/a%20b']);
    expect(server.requests[0].headers.range).toBe('bytes=50-50049');
    expect(server.requests[0].headers['x-amz-content-sha256']).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('carry a valid SigV4 signature over host, range, the payload hash and the date, as the SDK\'s own requests do', async () => {
    const { server, store } = await open((req, socket, n) => {
      // The first GET is ours; the second is given up (chunked), so the SDK asks too: its request checks the checker.
      if (n === 2) socket.write('HTTP/1.1 206 Partial Content\r\ntransfer-encoding: chunked\r\n\r\n');
      else partial(req, socket);
    }, { prefix: PREFIX });
    const r = { start: 7, end: 70_007 };
    expect((await store.get('s3stream/a b', r)).equals(OBJECT.subarray(r.start, r.end))).toBe(true);
    await store.get('s3stream/chunked', { start: 0, end: 10 });
    const [ours, , sdk] = server.requests;
    expect(sdk.target).toMatch(/\?x-id=GetObject$/);
    expect(sigV4Check(sdk, 'SK')).toEqual({ valid: true, signed: expect.arrayContaining(['host', 'range', 'x-amz-content-sha256', 'x-amz-date']) });
    expect(ours.target).not.toContain('?');
    expect(sigV4Check(ours, 'SK')).toEqual({ valid: true, signed: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'] });
    expect(sigV4Check(ours, 'another secret').valid).toBe(false);
    // Scoped as the SDK scopes it: the same key, region and service.
    const scopeOf = (q: SeenRequest) => /Credential=([^,]+),/.exec(q.headers.authorization ?? '')?.[1];
    expect(scopeOf(ours)).toBe(scopeOf(sdk));
    expect(scopeOf(ours)).toMatch(/^AK\/\d{8}\/us-east-1\/s3\/aws4_request$/);
    expect(ours.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(Math.abs(Date.parse(ours.headers['x-amz-date'].replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z')) - Date.now())).toBeLessThan(60_000);
  });

  it('read back what S3 stored under keys that need escaping, put here too (s3rver)', async () => {
    const s3 = await startS3Server();
    const metrics = new BrokerMetrics();
    const store = new S3ObjectStore(s3Options(s3, PREFIX), metrics);
    try {
      await store.put('s3stream/a b', OBJECT);
      for (const r of RANGES) expect((await store.get('s3stream/a b', r)).equals(OBJECT.subarray(r.start, r.end))).toBe(true);
      // An upload of parts, read back whole (through the SDK) and listed at its size.
      const parts = [OBJECT.subarray(0, 10), OBJECT.subarray(20, 600_000), OBJECT.subarray(2_000_000)];
      await store.put('wal/ü 1', parts);
      expect((await store.get('wal/ü 1')).equals(Buffer.concat(parts))).toBe(true);
      expect(await store.head('wal/ü 1')).toMatchObject({ size: Buffer.concat(parts).length });
      const text = await metrics.text();
      expect(metricValue(text, 'floe_object_store_requests_total', { operation: 'put', outcome: 'success' })).toBe(2);
      expect(metricValue(text, 'floe_object_store_requests_total', { operation: 'get' })).toBe(RANGES.length + 1);
      // s3rver answers bytes=0-0 with the whole object: that one is given up and asked again through the SDK.
      expect(metricValue(text, 'floe_object_store_sdk_fallbacks_total', { operation: 'get' })).toBe(1);
      expect(metricValue(text, 'floe_object_store_sdk_fallbacks_total', { operation: 'get', reason: 'longer_than_range' })).toBe(1);
      expect(metricValue(text, 'floe_object_store_sdk_fallbacks_total', { operation: 'put' })).toBe(0);
    } finally {
      await store.close();
      await s3.stop();
    }
  });
});

/**
 * Checks a request's AWS Signature Version 4 as S3 would, written from the
 * spec (docs.aws.amazon.com, "Create a signed AWS API request"), not with the
 * SDK's signer: the canonical request from what arrived on the wire.
 */
function sigV4Check(req: SeenRequest, secret: string): { valid: boolean; signed: string[] } {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? '');
  if (m === null) return { valid: false, signed: [] };
  const [, , date, region, service, signedList, signature] = m;
  const signed = signedList.split(';');
  const [path, query = ''] = req.target.split('?');
  const canonicalQuery = query === '' ? '' : query.split('&').sort().join('&');
  const canonicalHeaders = signed.map((h) => `${h}:${(req.headers[h] ?? '').trim()}\n`).join('');
  const canonical = [req.method, path, canonicalQuery, canonicalHeaders, signedList, req.headers['x-amz-content-sha256']].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'], scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return { valid: createHmac('sha256', key).update(toSign).digest('hex') === signature, signed };
}

/** CRC32C (Castagnoli, reflected 0x82f63b78), bit by bit: the checksum S3 checks a PUT's body against, in its header's base64. */
function crc32cBase64(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}
