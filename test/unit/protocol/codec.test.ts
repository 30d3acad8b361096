import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, structCodec } from '../../../src/protocol/codec.js';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import { DecodeError, Reader, Writer } from '../../../src/protocol/primitives.js';
import { inRange, parseVersions, type FieldSpec, type MessageSpec } from '../../../src/protocol/spec.js';
import { seededRandom } from '../../helpers/random.js';

// A deterministic generator of a value for every field present at a version,
// with non-default contents so that a field dropped or misplaced by the codec
// shows up as a mismatch.
let seed = 1;
const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);

function sampleFields(fields: readonly FieldSpec[], version: number, flexible: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inRange(parseVersions(f.versions), version)) continue;
    if (f.taggedVersions !== undefined && (!flexible || !inRange(parseVersions(f.taggedVersions), version))) continue;
    const key = f.name[0].toLowerCase() + f.name.slice(1);
    const nullable = inRange(parseVersions(f.nullableVersions), version);
    if (nullable && next() % 4 === 0) {
      out[key] = null;
      continue;
    }
    const isArray = f.type.startsWith('[]');
    const elem = isArray ? f.type.slice(2) : f.type;
    const one = () => (f.fields ? sampleFields(f.fields, version, flexible) : samplePrimitive(elem));
    out[key] = isArray ? [one(), one()] : one();
  }
  return out;
}

function samplePrimitive(type: string): unknown {
  const n = next();
  switch (type) {
    case 'bool':
      return n % 2 === 0;
    case 'int8':
      return (n % 200) - 100;
    case 'int16':
      return (n % 60000) - 30000;
    case 'int32':
      return n - 0x3fffffff;
    case 'int64':
      return n * 1000 - 7;
    case 'string':
      return `s${n}-é`;
    case 'uuid':
      return Buffer.from(Array.from({ length: 16 }, (_, i) => (n + i * 7) & 0xff)).toString('base64url');
    case 'bytes':
    case 'records':
      return Buffer.from(`bytes-${n}`);
    default:
      throw new Error(type);
  }
}

function expectSubset(actual: unknown, expected: unknown, path: string): void {
  if (expected !== null && typeof expected === 'object' && !Buffer.isBuffer(expected)) {
    expect(actual, path).toBeTypeOf('object');
    if (Array.isArray(expected)) {
      expect((actual as unknown[]).length, path).toBe(expected.length);
      expected.forEach((e, i) => expectSubset((actual as unknown[])[i], e, `${path}[${i}]`));
      return;
    }
    for (const [k, v] of Object.entries(expected)) expectSubset((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    return;
  }
  if (Buffer.isBuffer(expected)) {
    expect(Buffer.isBuffer(actual), path).toBe(true);
    expect((actual as Buffer).equals(expected), path).toBe(true);
    return;
  }
  expect(actual, path).toEqual(expected);
}

function roundTrip(spec: MessageSpec, version: number): void {
  const flexible = inRange(parseVersions(spec.flexibleVersions), version);
  const value = sampleFields(spec.fields, version, flexible);
  const w = new Writer();
  encodeMessage(spec, version, w, value as never);
  const bytes = w.toBuffer();
  const r = new Reader(bytes);
  const decoded = decodeMessage(spec, version, r);
  expect(r.remaining).toBe(0);
  expectSubset(decoded, value, `${spec.name}v${version}`);
  // re-encoding the decoded form gives the same bytes
  const w2 = new Writer();
  encodeMessage(spec, version, w2, decoded as never);
  expect(w2.toBuffer().equals(bytes)).toBe(true);
}

describe('codec round trips', () => {
  for (const api of ALL_APIS) {
    const flex = parseVersions(api.request.flexibleVersions);
    const versions = new Set([api.minVersion, api.maxVersion]);
    if (flex.min <= api.maxVersion) versions.add(Math.max(flex.min, api.minVersion));
    for (const v of versions) {
      it(`${api.name} v${v} request and response`, () => {
        roundTrip(api.request, v);
        roundTrip(api.response, v);
      });
    }
  }

  it('fills fields absent from a version with their defaults', () => {
    const api = ALL_APIS.find((a) => a.name === 'Metadata')!;
    const w = new Writer();
    encodeMessage(api.request, 0, w, { topics: [{ name: 'a' }] } as never);
    const d = decodeMessage(api.request, 0, new Reader(w.toBuffer())) as Record<string, unknown>;
    expect(d.allowAutoTopicCreation).toBe(true);
    expect(d.includeTopicAuthorizedOperations).toBe(false);
    expect(d.topics).toEqual([{ name: 'a', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }]);
  });

  it('skips unknown tagged fields and reads known ones', () => {
    const api = ALL_APIS.find((a) => a.name === 'ApiVersions')!;
    // v3 response: errorCode 0, apiKeys [] (compact 1), throttle 0, tags: {9: 2 bytes unknown, 1: epoch 5}
    const bytes = Buffer.from([
      0x00, 0x00, // error
      0x01, // no api keys
      0x00, 0x00, 0x00, 0x00, // throttle
      0x02, // two tags
      0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 5, // tag 1 FinalizedFeaturesEpoch = 5
      0x09, 0x02, 0xaa, 0xbb, // tag 9, unknown
    ]);
    const r = new Reader(bytes);
    const d = decodeMessage(api.response, 3, r) as Record<string, unknown>;
    expect(d.finalizedFeaturesEpoch).toBe(5);
    expect(r.remaining).toBe(0);
  });

  it('caches one compiled codec per version', () => {
    const api = ALL_APIS[0];
    expect(structCodec(api.request, api.maxVersion)).toBe(structCodec(api.request, api.maxVersion));
  });
});

describe('varints', () => {
  // Kafka's ByteUtils in plain arithmetic: the reference the fast paths must agree with, byte for byte and error for error.
  function referenceUvarint(bytes: Buffer): { value: number; length: number } | 'error' {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (i >= bytes.length) return 'error';
      const b = bytes[i];
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return value > 0xffffffff ? 'error' : { value, length: i + 1 };
    }
    return 'error';
  }

  it('round-trips the boundaries of every varint length, signed and unsigned', () => {
    const unsigned = [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0x1fffff, 0x200000, 0xfffffff, 0x10000000, 0x7fffffff, 0x80000000, 0xffffffff];
    const signed = [0, -1, 1, -64, 64, -65, 8191, -8192, 2 ** 30, -(2 ** 31), 2 ** 31 - 1];
    const longs = [0, -1, 63, -64, 64, 2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 3, -(2 ** 50), 2 ** 52 - 1, -(2 ** 52)]; // beyond 2^53 the zig-zag of a number is inexact;
    const w = new Writer();
    for (const v of unsigned) w.uvarint(v);
    for (const v of signed) w.varint(v);
    for (const v of longs) w.varlong(v);
    const r = new Reader(w.toBuffer());
    expect(unsigned.map(() => r.uvarint())).toEqual(unsigned);
    expect(signed.map(() => r.varint())).toEqual(signed);
    expect(longs.map(() => r.varlong())).toEqual(longs);
    expect(r.remaining).toBe(0);
  });

  it('reads hostile bytes as the reference does: the same value and length, or an error', () => {
    const { int } = seededRandom(7);
    const random = () => int(256);
    for (let n = 0; n < 20_000; n++) {
      // Continuation bits more often than chance, so long and runaway varints come up.
      const bytes = Buffer.from(Array.from({ length: 1 + (n % 7) }, () => (random() < 200 ? random() | 0x80 : random() & 0x7f)));
      const expected = referenceUvarint(bytes);
      const r = new Reader(bytes);
      if (expected === 'error') expect(() => r.uvarint(), bytes.toString('hex')).toThrow(DecodeError);
      else {
        expect(r.uvarint(), bytes.toString('hex')).toBe(expected.value);
        expect(r.pos).toBe(expected.length);
      }
    }
  });

  it('stops at the end of its window, not at the end of the buffer', () => {
    const r = new Reader(Buffer.from([0x80, 0x01]), 0, 1);
    expect(() => r.uvarint()).toThrow('truncated varint');
    expect(() => new Reader(Buffer.from([0x80, 0x01]), 0, 1).varlong()).toThrow('truncated varlong');
  });
});
