// A fault-injecting HTTP proxy in front of the S3 test server. It forwards
// every request as is, and on command adds what a real object store does on a
// bad day: 500 InternalError, 503 SlowDown, connection resets, latency (fixed,
// or drawn from a profile such as S3's ~20 ms p50 / ~100 ms p99 PUTs), and
// full outages in which every connection is reset or left hanging.
//
// Used by the fault tests and by the benchmarks (for S3-like latency).
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type FaultKind = 'internal_error' | 'slow_down' | 'reset';

export interface FaultRule {
  readonly kind: FaultKind;
  /** Share of matching requests that get the fault. */
  readonly probability: number;
  /** When set, only the next `times` matching requests get it (a deterministic burst). */
  times?: number;
  /** Only these S3 operations (default: all). */
  readonly operations?: readonly S3Operation[];
}

export type S3Operation = 'put' | 'get' | 'head' | 'delete' | 'list' | 'multipart';

/** The S3 operation a request is, from its method and query. */
export function operationOf(method: string, url: string): S3Operation {
  const q = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  if (/[?&](uploads|uploadId)=?/.test(q)) return 'multipart';
  if (method === 'POST' && /[?&]delete/.test(q)) return 'delete';
  if (method === 'DELETE') return 'delete';
  if (method === 'PUT') return 'put';
  if (method === 'HEAD') return 'head';
  if (method === 'GET' && /[?&]list-type=2/.test(q)) return 'list';
  return 'get';
}

/** Latency samplers, in milliseconds. */
export const latencyProfiles = {
  /** Log-normal around a 20 ms median with a ~100 ms p99, like S3 Standard PUTs. */
  s3Put: (): number => 20 * Math.exp(0.69 * gaussian()),
  /** Reads in the same region: ~12 ms median, ~60 ms p99. */
  s3Get: (): number => 12 * Math.exp(0.69 * gaussian()),
};

function gaussian(): number {
  let u = 0;
  while (u === 0) u = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

export class FaultProxy {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly sockets = new Set<Socket>();
  private rules: FaultRule[] = [];
  private outageMode: 'reset' | 'hang' | null = null;
  private latency: Partial<Record<S3Operation, () => number>> = {};
  private responseHold: Partial<Record<S3Operation, number>> = {};
  private readonly hanging = new Set<ServerResponse>();
  /** Requests seen, by operation, and faults injected, by kind. */
  readonly requests: Record<S3Operation, number> = { put: 0, get: 0, head: 0, delete: 0, list: 0, multipart: 0 };
  readonly bytes = { up: 0, down: 0 };
  readonly injected: Record<FaultKind | 'outage', number> = { internal_error: 0, slow_down: 0, reset: 0, outage: 0 };
  /**
   * Milliseconds from each forwarded request's arrival to the end of its
   * answer, by operation (injected latency, body transfer and the server's
   * own time): the object store's latency as the broker met it.
   */
  readonly durations: Record<S3Operation, number[]> = { put: [], get: [], head: [], delete: [], list: [], multipart: [] };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly upstreamPort: number,
  ) {}

  static async start(upstreamPort: number): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new FaultProxy(server, (server.address() as { port: number }).port, upstreamPort);
    server.on('connection', (s) => {
      proxy.sockets.add(s);
      s.once('close', () => proxy.sockets.delete(s));
      if (proxy.outageMode === 'reset') {
        proxy.injected.outage++;
        s.resetAndDestroy();
      }
    });
    server.on('request', (req, res) => proxy.handle(req, res));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Faults drawn per request; [] turns them off. */
  setFaults(rules: FaultRule[]): void {
    this.rules = rules;
  }

  /** Added delay per operation, before a request is forwarded. */
  setLatency(latency: Partial<Record<S3Operation, () => number>>): void {
    this.latency = latency;
  }

  /**
   * Forwards requests at once but holds the answers back this long: the store
   * has the object while the client still waits (a crash then leaves an
   * upload that was never committed).
   */
  holdResponses(hold: Partial<Record<S3Operation, number>>): void {
    this.responseHold = hold;
  }

  /**
   * A full outage: 'reset' resets every connection (open ones too), 'hang'
   * accepts requests and never answers them until the outage ends.
   */
  startOutage(mode: 'reset' | 'hang'): void {
    this.outageMode = mode;
    if (mode === 'reset') for (const s of this.sockets) s.resetAndDestroy();
  }

  endOutage(): void {
    this.outageMode = null;
    // Requests left hanging get their connection reset, as a recovering load balancer would.
    for (const res of this.hanging) res.socket?.resetAndDestroy();
    this.hanging.clear();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const op = operationOf(req.method ?? 'GET', req.url ?? '/');
    this.requests[op]++;
    if (this.outageMode === 'reset') {
      this.injected.outage++;
      req.socket.resetAndDestroy();
      return;
    }
    if (this.outageMode === 'hang') {
      this.injected.outage++;
      this.hanging.add(res);
      req.resume();
      res.once('close', () => this.hanging.delete(res));
      return;
    }
    const rule = this.rules.find(
      (r) => (r.operations === undefined || r.operations.includes(op)) && (r.times === undefined || r.times > 0) && Math.random() < r.probability,
    );
    if (rule !== undefined) {
      if (rule.times !== undefined) rule.times--;
      this.injected[rule.kind]++;
      if (rule.kind === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      const [status, code] = rule.kind === 'slow_down' ? [503, 'SlowDown'] : [500, 'InternalError'];
      // Read the body first, as S3 does, so the client sees the error and not a broken pipe.
      req.resume();
      req.once('end', () => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the fault proxy</Message></Error>`);
      });
      return;
    }
    const arrived = performance.now();
    res.once('finish', () => this.durations[op].push(performance.now() - arrived));
    const delay = this.latency[op]?.() ?? 0;
    if (delay > 0) setTimeout(() => this.forward(req, res, op), delay);
    else this.forward(req, res, op);
  }

  private forward(req: IncomingMessage, res: ServerResponse, op: S3Operation): void {
    const upstream = httpRequest(
      { host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
      (up) => {
        const answer = () => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.on('data', (d: Buffer) => (this.bytes.down += d.length));
          up.pipe(res);
        };
        const hold = this.responseHold[op] ?? 0;
        if (hold > 0) {
          up.pause();
          setTimeout(answer, hold);
        } else answer();
      },
    );
    upstream.on('error', () => req.socket.resetAndDestroy());
    req.on('data', (d: Buffer) => (this.bytes.up += d.length));
    req.pipe(upstream);
  }

  async stop(): Promise<void> {
    this.endOutage();
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
