// Hostile bytes: random and mutated frames into the request decoder, mutated
// batches into produce validation and record decoding. Every input must end
// in a decoded value or a DecodeError (or a refusal to answer), never another
// exception, never a hang, and never more elements than the frame has bytes.
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../../src/protocol/codec.js';
import { decodeRequest, UnanswerableRequestError } from '../../../src/protocol/frame.js';
import { RequestHeader } from '../../../src/protocol/messages/header.js';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import { DecodeError, Writer } from '../../../src/protocol/primitives.js';
import { Compression } from '../../../src/protocol/records/batch.js';
import { buildBatch } from '../../../src/protocol/records/builder.js';
import { RecordCursor } from '../../../src/protocol/records/record.js';
import { validateProducedRecords } from '../../../src/protocol/records/validate.js';
import { inRange, parseVersions, type FieldSpec } from '../../../src/protocol/spec.js';
import { seededRandom } from '../../helpers/random.js';

// Seeded, so that a failure can be replayed.
const { rand, int } = seededRandom(0x9e3779b9);

function sample(fields: readonly FieldSpec[], version: number, flexible: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inRange(parseVersions(f.versions), version)) continue;
    if (f.taggedVersions !== undefined && !flexible) continue;
    const key = f.name[0].toLowerCase() + f.name.slice(1);
    const isArray = f.type.startsWith('[]');
    const elem = isArray ? f.type.slice(2) : f.type;
    const one = (): unknown => {
      if (f.fields) return sample(f.fields, version, flexible);
      switch (elem) {
        case 'bool':
          return rand() < 0.5;
        case 'string':
          return 'topic-' + int(100);
        case 'uuid':
          return Buffer.from(Array.from({ length: 16 }, () => int(256))).toString('base64url');
        case 'bytes':
        case 'records':
          return Buffer.from(Array.from({ length: int(80) }, () => int(256)));
        case 'int64':
          return int(1_000_000);
        default:
          return int(100);
      }
    };
    out[key] = isArray ? Array.from({ length: 1 + int(3) }, one) : one();
  }
  return out;
}

/** A valid request frame body (no size prefix) for a random API and version. */
function validFrame(): Buffer {
  const api = ALL_APIS[int(ALL_APIS.length)];
  const version = api.minVersion + int(api.maxVersion - api.minVersion + 1);
  const flexible = inRange(parseVersions(api.request.flexibleVersions), version);
  const w = new Writer();
  encodeMessage(RequestHeader, flexible ? 2 : 1, w, { requestApiKey: api.apiKey, requestApiVersion: version, correlationId: int(1000), clientId: 'fuzz' });
  encodeMessage(api.request, version, w, sample(api.request.fields, version, flexible) as never);
  return w.toBuffer();
}

const EXTREMES = [0, 1, 0x7f, 0x80, 0xff];
const INT32_EXTREMES = [-1, 0x7fffffff, -0x80000000, 0x10000, 0x7ffe];

function mutate(frame: Buffer): Buffer {
  const b = Buffer.from(frame);
  switch (int(7)) {
    case 0: // flip bits
      for (let i = 0; i < 1 + int(4); i++) b[int(b.length)] ^= 1 << int(8);
      return b;
    case 1: // extreme bytes
      for (let i = 0; i < 1 + int(3); i++) b[int(b.length)] = EXTREMES[int(EXTREMES.length)];
      return b;
    case 2: // truncate
      return b.subarray(0, int(b.length));
    case 3: // extreme int32 (lengths, counts)
      if (b.length >= 4) b.writeInt32BE(INT32_EXTREMES[int(INT32_EXTREMES.length)], int(b.length - 3));
      return b;
    case 4: // a runaway varint
      return Buffer.concat([b.subarray(0, int(b.length)), Buffer.alloc(1 + int(12), 0xff), b.subarray(int(b.length))]);
    case 5: // random insertion
      return Buffer.concat([b.subarray(0, int(b.length)), Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))), b.subarray(int(b.length))]);
    default: // keep a valid header, randomise the body
      return Buffer.concat([b.subarray(0, Math.min(b.length, 8 + int(12))), Buffer.from(Array.from({ length: int(64) }, () => int(256)))]);
  }
}

function randomFrame(): Buffer {
  if (rand() < 0.5) return Buffer.from(Array.from({ length: int(120) }, () => int(256)));
  // plausible header (a real api key and version), random body
  const api = ALL_APIS[int(ALL_APIS.length)];
  const head = Buffer.alloc(8);
  head.writeInt16BE(api.apiKey, 0);
  head.writeInt16BE(api.minVersion + int(api.maxVersion - api.minVersion + 1), 2);
  head.writeInt32BE(int(100), 4);
  return Buffer.concat([head, Buffer.from(Array.from({ length: int(200) }, () => int(256)))]);
}

/** Elements in a decoded value: a decoder that allocates per claimed count, not per byte, shows up here. */
function countElements(v: unknown): number {
  if (Array.isArray(v)) return v.length + v.reduce((n: number, e) => n + countElements(e), 0);
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) return Object.values(v).reduce((n: number, e) => n + countElements(e), 0);
  return 0;
}

describe('request decoder under hostile input', () => {
  it('survives 100,000 random and mutated frames', () => {
    const N = 100_000;
    let decoded = 0;
    let rejected = 0;
    let slowest = 0;
    const seeds = Array.from({ length: 300 }, validFrame);
    for (let i = 0; i < N; i++) {
      const frame = i % 5 === 0 ? randomFrame() : mutate(seeds[int(seeds.length)]);
      const started = performance.now();
      try {
        const d = decodeRequest(frame);
        decoded++;
        if (d.kind === 'request') expect(countElements(d.body)).toBeLessThanOrEqual(frame.length);
      } catch (err) {
        if (!(err instanceof DecodeError || err instanceof UnanswerableRequestError)) {
          throw new Error(`frame ${i} (${frame.toString('hex')}) threw ${(err as Error).name}: ${(err as Error).message}`);
        }
        rejected++;
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    expect(decoded + rejected).toBe(N);
    expect(decoded).toBeGreaterThan(1000); // mutations that stay valid reach the handlers
    expect(rejected).toBeGreaterThan(10000);
    expect(slowest).toBeLessThan(250); // no input makes the decoder spin
  });

  it('decodes every unmutated seed', () => {
    for (let i = 0; i < 500; i++) expect(decodeRequest(validFrame()).kind).toBe('request');
  });
});

describe('record batches under hostile input', () => {
  it('validation and record decoding never throw anything but DecodeError on 20,000 mutated batches', async () => {
    const seeds = await Promise.all(
      [Compression.NONE, Compression.NONE, Compression.GZIP, Compression.LZ4].map((compression) =>
        buildBatch(Array.from({ length: 1 + int(5) }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(int(50)), headers: [{ key: 'h', value: 'x' }] })), { compression }),
      ),
    );
    const policy = { apiVersion: 11, maxMessageBytes: 1 << 20, timestampType: 0, timestampBeforeMaxMs: Number.MAX_SAFE_INTEGER, timestampAfterMaxMs: 3600_000, now: Date.now(), topicPartition: 'fuzz-0' };
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const batch = mutate(seeds[int(seeds.length)]);
      const verdict = validateProducedRecords(batch, policy);
      if (verdict.ok) accepted++;
      else expect(verdict.code).toBeGreaterThan(0);
      // Only next() may refuse: once it has taken a record, reading its parts cannot fail.
      let inNext = true;
      try {
        const cursor = new RecordCursor(batch.subarray(Math.min(61, batch.length)), int(10));
        while (cursor.next()) {
          inNext = false;
          cursor.record();
          inNext = true;
        }
      } catch (err) {
        if (!(err instanceof DecodeError) || !inNext) throw err;
      }
    }
    // a mutation that keeps the CRC valid is vanishingly rare: what passes must be an untouched region
    expect(accepted).toBeLessThan(20_000);
  });
});
