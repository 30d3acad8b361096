// Block reads (ranged GETs) and WAL uploads (single PUTs) built and signed
// here rather than by the SDK, then sent by the direct client (direct-http.ts).
//
// Why: the SDK spends about half a millisecond of CPU on each request (its
// schema serializer, its endpoint rules, the middleware stack resolved anew
// for every call, and what all that leaves for the garbage collector), four
// times what reading a 448 KiB block itself costs (BENCHMARKS.md). A
// consumer catching up makes hundreds of block reads per GB, and the WAL
// about a hundred uploads per GB written.
//
// What the SDK decides stays the SDK's. The URL (its endpoint rules for this
// bucket and configuration: path or virtual-host style, FIPS, dual-stack,
// partitions, endpoints from the environment) and the signing region come
// from a GetObject and a PutObject request it builds and signs once each,
// never sent; the credentials come from its provider (refreshed as it
// refreshes them); the signer is @smithy/signature-v4, the SDK's own. What is
// done here per request is a path, a Range header (GET) or Content-Length and
// CRC32C headers (PUT), and that signer's signature.

import { createHash, createHmac } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { abortError, type DirectHttpClient, type DirectResponse, type SignedRequest } from './direct-http.js';

/** SHA-256 of no bytes: a GET's payload hash. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/**
 * A PUT's payload hash: its bytes are checked by S3 against the
 * x-amz-checksum-crc32c header instead, as the SDK's uploads are here (s3.ts).
 */
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** The key of the requests the routes are learnt from (never sent). */
const PROBE_KEY = 'floe-route-probe';
/** After a failed attempt to learn a route (no credentials yet, say), its requests go the SDK's way this long before the next. */
const RELEARN_MS = 60_000;
/** The longest the SDK may take to build the probe request. */
const PROBE_TIMEOUT_MS = 10_000;

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256, and HMAC-SHA256 when given a key, in the shape the signer takes (node:crypto underneath). */
class Sha256 {
  private readonly hash;

  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }

  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

/** A key as S3 paths carry it: each segment percent-encoded the SDK's way (RFC 3986, with !'()* too), slashes kept. */
export function escapeKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

interface Route {
  readonly protocol: string;
  readonly hostname: string;
  readonly port: number | undefined;
  readonly host: string;
  /** The path before the key's own '/<key>'. */
  readonly prefix: string;
  readonly signer: SignatureV4;
}

/** Thrown from inside the SDK's stack once the probe request is built and signed, so that it is never sent. */
class Built extends Error {}

/** Whatever the SDK sends that a probe is made of: GetObject or PutObject of one key. */
type Probe = GetObjectCommand | PutObjectCommand;

interface ProbeStack {
  add(middleware: () => (args: { request: unknown }) => Promise<never>, options: { step: 'deserialize'; priority: 'low'; name: string }): void;
}

/** Where one kind of request goes and how it is signed, learnt from the SDK once (again after a failure). */
class LearntRoute {
  private route: Promise<Route | null> | null = null;
  /** The route once `route` has settled (so a request need not wait a turn for it). */
  private learnt: Route | null | undefined = undefined;
  private relearnAt = 0;

  constructor(
    private readonly client: S3Client,
    private readonly probeKey: string,
    private readonly probe: (key: string) => Probe,
  ) {}

  /** The route, or null while requests should go the SDK's way. */
  async current(signal: AbortSignal): Promise<Route | null> {
    if (this.learnt !== undefined && this.relearnAt === 0) return this.learnt;
    return untilAborted(this.learning(), signal);
  }

  private learning(): Promise<Route | null> {
    if (this.route === null || (this.relearnAt > 0 && Date.now() >= this.relearnAt)) {
      this.relearnAt = 0;
      this.learnt = undefined;
      this.route = this.learn().then((route) => {
        if (route === null) this.relearnAt = Date.now() + RELEARN_MS;
        this.learnt = route;
        return route;
      });
    }
    return this.route;
  }

  /** The URL and signing scope of the SDK's own request for this bucket, or null where they cannot be taken apart. */
  private async learn(): Promise<Route | null> {
    const command = this.probe(this.probeKey);
    let built: (SignedRequest & { readonly query?: Record<string, unknown> }) | undefined;
    // Either command's stack; the union of their typings is not callable as such.
    const stack = command.middlewareStack as unknown as ProbeStack;
    stack.add(
      () => async (args) => {
        built = args.request as typeof built;
        throw new Built('built');
      },
      { step: 'deserialize', priority: 'low', name: 'floeRouteProbe' },
    );
    // Bounded: credentials from the default chain may come over the network.
    const sent = (this.client.send as (c: Probe) => Promise<unknown>)(command).catch(() => {});
    await Promise.race([sent, new Promise((r) => setTimeout(r, PROBE_TIMEOUT_MS).unref())]);
    if (built === undefined) return null;
    const suffix = `/${escapeKey(this.probeKey)}`;
    const headers: Record<string, string> = Object.fromEntries(Object.entries(built.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const scope = /Credential=[^/,]+\/\d{8}\/([^/,]+)\/s3\/aws4_request/.exec(headers.authorization ?? '');
    // Anything else the SDK would add to a request here (a query, another auth scheme) is not reproduced: its way, then.
    if (!built.path.endsWith(suffix) || scope === null || Object.keys(built.query ?? {}).some((k) => k !== 'x-id')) return null;
    return {
      protocol: built.protocol,
      hostname: built.hostname,
      port: built.port,
      host: headers.host ?? `${built.hostname}${built.port === undefined ? '' : `:${built.port}`}`,
      prefix: built.path.slice(0, built.path.length - suffix.length),
      signer: new SignatureV4({ service: 's3', region: scope[1], credentials: this.client.config.credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: true }),
    };
  }
}

export class SignedObjectRequests {
  private readonly getRoute: LearntRoute;
  private readonly putRoute: LearntRoute;

  constructor(
    /** The SDK's client for reads, and its client for uploads: each request's route is its own client's. */
    private readonly readClient: S3Client,
    private readonly uploadClient: S3Client,
    bucket: string,
    /** The store's key prefix, so the probes' key looks like the store's own. */
    keyPrefix: string,
    private readonly reads: DirectHttpClient,
    private readonly uploads: DirectHttpClient,
  ) {
    const probeKey = `${keyPrefix}${PROBE_KEY}`;
    this.getRoute = new LearntRoute(readClient, probeKey, (Key) => new GetObjectCommand({ Bucket: bucket, Key, Range: 'bytes=0-0' }));
    this.putRoute = new LearntRoute(
      uploadClient,
      probeKey,
      (Key) => new PutObjectCommand({ Bucket: bucket, Key, Body: Buffer.alloc(0), ContentLength: 0, ChecksumCRC32C: 'AAAAAA==' }),
    );
  }

  /**
   * Bytes [first, last] of `key` (the bucket's full key). Null when the
   * request should go the SDK's way: no route could be learnt, or the
   * response is one the direct client does not take.
   */
  async get(key: string, first: number, last: number, signal: AbortSignal): Promise<DirectResponse | null> {
    const route = await this.getRoute.current(signal);
    if (route === null) return null;
    const signed = await sign(this.readClient, route, 'GET', key, { range: `bytes=${first}-${last}`, 'x-amz-content-sha256': EMPTY_SHA256 });
    return this.reads.get(signed, last - first + 1, signal);
  }

  /**
   * Puts `body`'s parts (`size` bytes, their CRC32C `checksum` in base64) as
   * `key` (the bucket's full key). Null as for get(): the caller then puts
   * through the SDK (the same bytes again, if these arrived).
   */
  async put(key: string, body: readonly Buffer[], size: number, checksum: string, signal: AbortSignal): Promise<DirectResponse | null> {
    const route = await this.putRoute.current(signal);
    if (route === null) return null;
    const signed = await sign(this.uploadClient, route, 'PUT', key, {
      'content-length': String(size),
      'x-amz-checksum-crc32c': checksum,
      'x-amz-content-sha256': UNSIGNED_PAYLOAD,
    });
    return this.uploads.put(signed, body, signal);
  }
}

/** A request for `key` on `route`, signed by its signer. */
async function sign(client: S3Client, route: Route, method: SignedRequest['method'], key: string, headers: Record<string, string>): Promise<SignedRequest> {
  const request = {
    method,
    protocol: route.protocol,
    hostname: route.hostname,
    port: route.port,
    path: `${route.prefix}/${escapeKey(key)}`,
    query: {},
    headers: { host: route.host, ...headers },
  };
  // The SDK corrects its clock by what S3 said after a RequestTimeTooSkewed; so does this.
  const offset = (client.config as { systemClockOffset?: number }).systemClockOffset ?? 0;
  const signed = await route.signer.sign(request as unknown as Parameters<SignatureV4['sign']>[0], { signingDate: new Date(Date.now() + offset) });
  return signed as unknown as SignedRequest;
}

/** `p`, or an AbortError once `signal` aborts first. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
