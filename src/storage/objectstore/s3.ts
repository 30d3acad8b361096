// The S3 object store, on @aws-sdk/client-s3: AWS S3 and anything that speaks
// its API (MinIO, R2, GCS's XML API, Ceph). Objects are written once and never
// modified, so no conditional write is used: ordering and fencing come from
// the metadata store.
//
// Why these choices:
// - We retry, not the SDK (maxAttempts 1), so every attempt is counted by
//   operation and outcome, and backoff is full-jitter exponential with a
//   bounded number of attempts, so a WAL flush fails in bounded time during an
//   outage instead of holding produce requests forever.
// - Uploads carry x-amz-checksum-crc32c (native CRC32C, see crc32c.ts) and an
//   UNSIGNED-PAYLOAD signature: S3 still verifies every byte it stores, and
//   the broker is spared a SHA-256 of every byte it writes (about half a
//   CPU-second per GB). Reads are verified by the CRC32C of every block in the
//   object format (object-format.ts), which ranged GETs cannot get from S3.
// - Ranged GETs always name both ends (`bytes=a-b`), and the length that comes
//   back is checked: some S3 look-alikes answer suffix or open ranges wrongly.
// - No `Expect: 100-continue`: it costs a round trip per PUT.
// - Block reads (ranged GETs), the one request a catching-up consumer makes
//   hundreds of per GB, and the WAL's uploads (single PUTs), about a hundred
//   per GB written, skip the SDK's per-request pipeline and Node's HTTP
//   client: signed-requests.ts signs them (with the SDK's URL, signer and
//   credentials) and direct-http.ts sends them, reading blocks into pooled
//   memory and writing an upload's parts as they are. Multipart uploads,
//   whole-object GETs, HEAD, LIST and DELETE stay the SDK's.

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { bufferPool } from '../../memory/buffer-pool.js';
import type { BrokerMetrics, ObjectStoreOperation, RequestOutcome } from '../../observability/metrics.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import { DirectHttpClient, type DirectResponse } from './direct-http.js';
import { SignedObjectRequests } from './signed-requests.js';
import { ObjectNotFoundError, ObjectStoreError, type ByteRange, type ObjectInfo, type ObjectStore } from './types.js';

export interface S3ObjectStoreOptions {
  /** Custom endpoint (MinIO, R2, GCS, a test server); unset for AWS S3. */
  readonly endpoint: string | null;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix under which everything of this cluster lives ('' or ending in '/'). */
  readonly prefix: string;
  readonly pathStyle: boolean;
  /** Static credentials; when null, the SDK's default credential chain. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | null;
  readonly requestTimeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly multipartThresholdBytes: number;
  readonly multipartPartBytes: number;
  /** Per pool: uploads and reads each have one. */
  readonly maxConnections: number;
}

/** DeleteObjects takes at most 1,000 keys per request. */
const DELETE_BATCH = 1000;
/** Parts of one multipart upload sent at once. */
const PART_CONCURRENCY = 4;

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** Classifies a failed attempt; `retriable` says whether another attempt may succeed. */
export function classifyS3Error(err: unknown): { outcome: RequestOutcome; retriable: boolean } {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const code = e.Code ?? e.name ?? '';
  // The SDK's HTTP handler names some socket errors TimeoutError; the errno says what happened.
  if (e.code !== undefined && NETWORK_ERRNOS.has(e.code)) return { outcome: 'network_error', retriable: true };
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || code === 'RequestTimeout' || e.code === 'ETIMEDOUT') {
    return { outcome: 'timeout', retriable: true };
  }
  if (code === 'SlowDown' || code === 'Throttling' || code === 'ThrottlingException' || status === 429) return { outcome: 'throttled', retriable: true };
  if (status === 404 || code === 'NoSuchKey' || code === 'NotFound') return { outcome: 'not_found', retriable: false };
  if (status !== undefined && status >= 500) return { outcome: 'server_error', retriable: true };
  if (status !== undefined && status >= 400) return { outcome: 'client_error', retriable: false };
  // No HTTP status: the connection failed or was reset, or the body was cut short.
  return { outcome: 'network_error', retriable: true };
}

export class S3ObjectStore implements ObjectStore {
  /** Uploads and deletes. */
  private readonly client: S3Client;
  /**
   * Reads (GET, HEAD, LIST) on their own connection pool, so a consumer
   * catching up with many parallel GETs never queues the WAL's uploads, which
   * every produce acknowledgement waits for.
   */
  private readonly readClient: S3Client;
  /**
   * Block reads (ranged GETs) and single PUTs: signed here and sent on
   * connections of their own, reads and uploads apart as the SDK's clients
   * are (signed-requests.ts, direct-http.ts); the SDK's way when that is not
   * possible.
   */
  private readonly directReads: DirectHttpClient;
  private readonly directUploads: DirectHttpClient;
  private readonly signed: SignedObjectRequests;
  private closed = false;

  constructor(
    private readonly opts: S3ObjectStoreOptions,
    private readonly metrics: BrokerMetrics,
  ) {
    if (opts.prefix !== '' && !opts.prefix.endsWith('/')) throw new ObjectStoreError(`s3.prefix must be empty or end with '/': ${opts.prefix}`);
    // A single PUT's body is at most the multipart threshold (see put).
    this.client = this.newClient(opts.multipartThresholdBytes);
    this.readClient = this.newClient();
    const onFallback = (method: 'GET' | 'PUT', reason: string) => this.metrics.objectStoreSdkFallbacks.labels(method.toLowerCase(), reason).inc();
    this.directReads = new DirectHttpClient({ maxSockets: opts.maxConnections, onFallback });
    this.directUploads = new DirectHttpClient({ maxSockets: opts.maxConnections, onFallback });
    this.signed = new SignedObjectRequests(this.readClient, this.client, opts.bucket, opts.prefix, this.directReads, this.directUploads);
  }

  /**
   * `socketHighWaterMark`: the bytes an upload socket queues before write()
   * asks the body to wait. A WAL object's body is its batches, piped part by
   * part; at Node's 16 KiB every part waited for the one before to leave, one
   * system call each (about a hundred per object). With room for the whole
   * body, it is queued in one tick and leaves in one writev. That holds no
   * extra memory: the parts are the WAL's own buffers, kept until the PUT
   * ends either way. The agent hands its options on to every socket it
   * creates, net and tls (which takes `highWaterMark` only).
   */
  private newClient(socketHighWaterMark?: number): S3Client {
    const opts = this.opts;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxConnections, highWaterMark: socketHighWaterMark };
    const client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint ?? undefined,
      forcePathStyle: opts.pathStyle,
      credentials: opts.credentials ?? undefined,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      expectContinueHeader: false,
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent(agentOpts),
        httpsAgent: new HttpsAgent(agentOpts),
        connectionTimeout: Math.min(opts.requestTimeoutMs, 5000),
        requestTimeout: opts.requestTimeoutMs,
      }),
    });
    // Bodies are checksummed with CRC32C instead of signed with SHA-256 (see above).
    client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers?: Record<string, string> };
        if (req.headers !== undefined && req.headers['x-amz-checksum-crc32c'] !== undefined) req.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'floeUnsignedPayload' },
    );
    return client;
  }

  private fullKey(key: string): string {
    return this.opts.prefix + key;
  }

  /**
   * Runs one request with retries: a per-attempt deadline, full-jitter
   * exponential backoff, and every attempt counted.
   */
  private async attempt<T>(operation: ObjectStoreOperation, what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new ObjectStoreError(`object store closed during ${operation}`);
      const started = performance.now();
      const signal = AbortSignal.timeout(this.opts.requestTimeoutMs);
      try {
        const result = await run(signal);
        this.metrics.objectStoreRequest(operation, 'success', (performance.now() - started) / 1000);
        return result;
      } catch (err) {
        const { outcome, retriable } = signal.aborted ? { outcome: 'timeout' as const, retriable: true } : classifyS3Error(err);
        this.metrics.objectStoreRequest(operation, outcome, (performance.now() - started) / 1000);
        if (outcome === 'not_found') throw new ObjectNotFoundError(`no object ${what}`);
        if (!retriable || attempt >= this.opts.maxAttempts) {
          throw new ObjectStoreError(`S3 ${operation} of ${what} failed after ${attempt} attempt(s) (${outcome}): ${describe(err)}`);
        }
        this.metrics.objectStoreRetries.labels(operation).inc();
        const ceiling = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, Math.random() * ceiling));
      }
    }
  }

  async put(key: string, data: Buffer | readonly Buffer[], knownCrc?: number): Promise<void> {
    const parts = Buffer.isBuffer(data) ? [data] : data;
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (size > this.opts.multipartThresholdBytes) return this.putMultipart(key, Buffer.concat(parts, size));
    // S3 checks the bytes it receives against this; a WAL object's CRC comes from its batches' own CRCs.
    const checksum = crc32cBase64(knownCrc ?? parts.reduce<number | undefined>((crc, p) => crc32c(p, crc), undefined) ?? 0);
    // Several parts (a WAL object is the batches as they arrived) are written
    // to the socket as they are: never copied into one buffer.
    const body = () => (parts.length === 1 ? parts[0] : Readable.from(parts, { objectMode: false }));
    await this.attempt('put', key, async (signal) => {
      const sent = await this.signed.put(this.fullKey(key), parts, size, checksum, signal);
      if (sent !== null) {
        if (sent.statusCode >= 300) throw s3ErrorOf(sent);
        return;
      }
      await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: this.fullKey(key), Body: body(), ContentLength: size, ChecksumCRC32C: checksum }), {
        abortSignal: signal,
      });
    });
    this.metrics.objectStoreBytes.labels('upload').inc(size);
  }

  private async putMultipart(key: string, body: Buffer): Promise<void> {
    const Key = this.fullKey(key);
    const created = await this.attempt('multipart_create', key, (signal) =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.opts.bucket, Key, ChecksumAlgorithm: 'CRC32C' }), { abortSignal: signal }),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new ObjectStoreError(`S3 returned no UploadId for ${key}`);
    try {
      const partSize = this.opts.multipartPartBytes;
      const count = Math.ceil(body.length / partSize);
      const parts: { ETag: string; PartNumber: number; ChecksumCRC32C: string }[] = new Array(count);
      let nextPart = 0;
      const worker = async () => {
        while (nextPart < count) {
          const i = nextPart++;
          const part = body.subarray(i * partSize, Math.min(body.length, (i + 1) * partSize));
          const checksum = crc32cBase64(crc32c(part));
          const out = await this.attempt('multipart_upload_part', key, (signal) =>
            this.client.send(
              new UploadPartCommand({ Bucket: this.opts.bucket, Key, UploadId: uploadId, PartNumber: i + 1, Body: part, ContentLength: part.length, ChecksumCRC32C: checksum }),
              { abortSignal: signal },
            ),
          );
          if (out.ETag === undefined) throw new ObjectStoreError(`S3 returned no ETag for part ${i + 1} of ${key}`);
          parts[i] = { ETag: out.ETag, PartNumber: i + 1, ChecksumCRC32C: checksum };
          this.metrics.objectStoreBytes.labels('upload').inc(part.length);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, worker));
      await this.attempt('multipart_complete', key, (signal) =>
        this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.opts.bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), {
          abortSignal: signal,
        }),
      );
    } catch (err) {
      // Parts of an abandoned upload are billed until aborted.
      await this.attempt('multipart_abort', key, (signal) =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key, UploadId: uploadId }), { abortSignal: signal }),
      ).catch(() => {});
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    if (range !== undefined) {
      if (range.start < 0 || range.end < range.start) throw new ObjectStoreError(`invalid range ${range.start}-${range.end} of ${key}`);
      if (range.end === range.start) return Buffer.alloc(0);
    }
    const data = await this.attempt('get', key, async (signal) => {
      const read = range === undefined ? null : await this.signed.get(this.fullKey(key), range.start, range.end - 1, signal);
      if (read !== null && read.statusCode >= 300) throw s3ErrorOf(read);
      const sent = read !== null ? { body: read.body, contentRange: read.headers['content-range'] } : await this.sdkGet(key, range, signal);
      let buf = sent.body;
      // A server may send more than the range asked for: the whole object
      // with 200 (HTTP lets it ignore Range), or a wider 206 (s3rver answers
      // bytes=0-0 with all of it). Take the range out of what came.
      if (range !== undefined && buf.length > range.end - range.start) {
        const came = parseContentRange(sent.contentRange) ?? { start: 0, end: buf.length };
        if (came.end - came.start === buf.length && came.start <= range.start && came.end >= range.end) {
          buf = buf.subarray(range.start - came.start, range.end - came.start);
        }
      }
      // A short body is a cut connection (retried); a wrong range is the server's fault.
      const expected = range === undefined ? sent.contentLength : range.end - range.start;
      if (expected !== undefined && buf.length !== expected) {
        throw Object.assign(new Error(`got ${buf.length} bytes of ${key}, expected ${expected}${range ? ` for bytes=${range.start}-${range.end - 1}` : ''}`), {
          $metadata: { httpStatusCode: buf.length < expected ? undefined : 500 },
        });
      }
      return buf;
    });
    this.metrics.objectStoreBytes.labels('download').inc(data.length);
    return data;
  }

  /** A GET through the SDK: whole objects, and block reads the direct client could not make or take. */
  private async sdkGet(key: string, range: ByteRange | undefined, signal: AbortSignal): Promise<{ body: Buffer; contentRange?: string; contentLength?: number }> {
    const out = await this.readClient.send(
      new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.fullKey(key), Range: range === undefined ? undefined : `bytes=${range.start}-${range.end - 1}` }),
      { abortSignal: signal },
    );
    if (out.Body === undefined) throw new ObjectStoreError(`S3 returned no body for ${key}`);
    const body = await readBody(out.Body as unknown as AsyncIterable<Buffer>, out.ContentLength);
    return { body, contentRange: out.ContentRange, contentLength: out.ContentLength };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      return await this.attempt('head', key, async (signal) => {
        const out = await this.readClient.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.fullKey(key) }), { abortSignal: signal });
        return { key, size: out.ContentLength ?? 0 };
      });
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      await this.attempt('delete', `${batch.length} keys`, async (signal) => {
        const out = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.fullKey(k) })), Quiet: true } }),
          { abortSignal: signal },
        );
        // Per-key failures come back in a 200 response; a missing key is not one.
        const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length > 0) {
          const retriable = failed.some((e) => e.Code === 'InternalError' || e.Code === 'SlowDown' || e.Code === 'ServiceUnavailable');
          throw Object.assign(new Error(`${failed.length} of ${batch.length} deletes failed: ${failed[0].Code} ${failed[0].Message ?? ''}`), {
            $metadata: { httpStatusCode: retriable ? 503 : 400 },
          });
        }
      });
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.attempt('list', `prefix ${prefix}`, (signal) =>
        this.readClient.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: this.fullKey(prefix), ContinuationToken: token }), { abortSignal: signal }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key.slice(this.opts.prefix.length), size: o.Size ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.destroy();
    this.readClient.destroy();
    this.directReads.destroy();
    this.directUploads.destroy();
  }
}

/**
 * The SDK's response body in one buffer: one from the buffer pool when its
 * length is announced (a block the block cache keeps goes back to the pool
 * once evicted and released), else assembled from what came. In Node the
 * SDK's body is the HTTP response stream; reading it here skips the SDK's
 * collector, which copies every chunk into a zero-filled array (two passes
 * over every byte read).
 */
async function readBody(body: AsyncIterable<Buffer>, announced: number | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  let into = announced !== undefined && announced > 0 ? bufferPool.allocate(announced) : null;
  for await (const chunk of body) {
    chunks.push(chunk);
    if (into !== null && length + chunk.length <= into.length) chunk.copy(into, length);
    else into = null; // more than announced: the length check after this sees it
    length += chunk.length;
  }
  if (into !== null && length === into.length) return into;
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
}

/** An S3 error response read by the direct client, shaped as the SDK's errors are for classifyS3Error: the status, and the Code of S3's XML. */
function s3ErrorOf(response: DirectResponse): Error {
  const xml = response.body.toString('utf8', 0, Math.min(response.body.length, 64 * 1024));
  const code = /<Code>([^<]{1,200})<\/Code>/.exec(xml)?.[1];
  const message = /<Message>([^<]{0,1000})<\/Message>/.exec(xml)?.[1];
  return Object.assign(new Error(message ?? `HTTP ${response.statusCode} ${response.reason}`), {
    name: code ?? `HTTP${response.statusCode}`,
    Code: code,
    $metadata: { httpStatusCode: response.statusCode },
  });
}

/** `bytes a-b/total` as the half-open [a, b + 1). */
function parseContentRange(header: string | undefined): ByteRange | null {
  const m = header === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  return m === null ? null : { start: Number(m[1]), end: Number(m[2]) + 1 };
}

function crc32cBase64(crc: number): string {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
}

function describe(err: unknown): string {
  const e = err as SdkError;
  const status = e.$metadata?.httpStatusCode;
  return `${e.Code ?? e.name ?? 'Error'}${status !== undefined ? ` (HTTP ${status})` : ''}${e.message ? `: ${e.message}` : ''}`;
}
