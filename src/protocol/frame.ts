// Request/response framing on top of the codec: size-prefixed frames, request
// header v1/v2 and response header v0/v1. Still sans-IO: a frame body in, a
// decoded request out; a response object in, a list of buffers out.

import { decodeMessage, encodeMessage, isFlexible } from './codec.js';
import { ApiVersions } from './messages/api-versions.js';
import { RequestHeader, ResponseHeader } from './messages/header.js';
import { API_BY_KEY } from './messages/index.js';
import { Reader, Writer } from './primitives.js';
import type { ApiSpec, Encodable, MessageSpec } from './spec.js';

export interface RequestHeaderData {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** Why a frame cannot be answered; the network layer logs it and closes the connection. */
export class UnanswerableRequestError extends Error {
  override readonly name = 'UnanswerableRequestError';
  constructor(
    message: string,
    readonly header?: RequestHeaderData,
  ) {
    super(message);
  }
}

export type DecodedRequest =
  | { readonly kind: 'request'; readonly header: RequestHeaderData; readonly api: ApiSpec; readonly body: unknown }
  /** An ApiVersions request newer than we know: answered at v0 with UNSUPPORTED_VERSION (KIP-511). */
  | { readonly kind: 'unsupported-api-versions'; readonly header: RequestHeaderData };

function requestHeaderVersion(api: ApiSpec, version: number): number {
  return isFlexible(api.request, version) ? 2 : 1;
}

/** Decodes a frame body (without its 4-byte size). Throws DecodeError or UnanswerableRequestError. */
export function decodeRequest(frame: Buffer): DecodedRequest {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const api = API_BY_KEY.get(apiKey);
  const partial: RequestHeaderData = { apiKey, apiVersion, correlationId, clientId: null };
  if (api === undefined) {
    throw new UnanswerableRequestError(`unknown api key ${apiKey} (version ${apiVersion})`, partial);
  }
  const tooNew = apiVersion > api.maxVersion;
  if (apiKey === ApiVersions.apiKey && tooNew) {
    return { kind: 'unsupported-api-versions', header: partial };
  }
  if (apiVersion < api.minVersion || tooNew) {
    throw new UnanswerableRequestError(
      `received request for api with key ${apiKey} (${api.name}) and unsupported version ${apiVersion}`,
      partial,
    );
  }
  const headerVersion = requestHeaderVersion(api, apiVersion);
  r.pos = 0;
  const h = decodeMessage(RequestHeader, headerVersion, r);
  const header: RequestHeaderData = { apiKey, apiVersion, correlationId, clientId: h.clientId };
  // Trailing bytes after the body are tolerated, as Kafka tolerates them.
  const body = decodeMessage(api.request, apiVersion, r);
  return { kind: 'request', header, api, body };
}

function responseHeaderVersion(api: ApiSpec, version: number): number {
  // ApiVersions responses always carry header v0 (the client may not know the broker's versions yet).
  if (api.apiKey === ApiVersions.apiKey) return 0;
  return isFlexible(api.response, version) ? 1 : 0;
}

/** Encodes a size-prefixed response frame as a list of buffers (records by reference). */
export function encodeResponse<M extends MessageSpec>(
  api: ApiSpec,
  spec: M,
  version: number,
  correlationId: number,
  body: Encodable<M>,
): Buffer[] {
  const w = new Writer(256);
  w.int32(0); // size, patched below
  encodeMessage(ResponseHeader, responseHeaderVersion(api, version), w, { correlationId });
  encodeMessage(spec, version, w, body);
  w.patchInt32(0, w.length - 4);
  return w.toBuffers();
}

/** Encodes a size-prefixed request frame (used by tests and the benchmark client). */
export function encodeRequest<A extends ApiSpec>(
  api: A,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Encodable<A['request']>,
): Buffer {
  const w = new Writer(256);
  w.int32(0);
  encodeMessage(RequestHeader, requestHeaderVersion(api, version), w, {
    requestApiKey: api.apiKey,
    requestApiVersion: version,
    correlationId,
    clientId,
  });
  // A['request'] is generic here; the body was checked against it at the call site.
  encodeMessage(api.request as MessageSpec, version, w, body as Encodable<MessageSpec>);
  w.patchInt32(0, w.length - 4);
  return w.toBuffer();
}

/** Decodes a response frame body (without size) — the client side, for tests and tools. */
export function decodeResponse<M extends MessageSpec>(api: ApiSpec, spec: M, version: number, frame: Buffer) {
  const r = new Reader(frame);
  const header = decodeMessage(ResponseHeader, responseHeaderVersion(api, version), r);
  const body = decodeMessage(spec, version, r);
  return { correlationId: header.correlationId, body };
}

