// Mutated request frames sent to a live broker: undecodable ones close their
// connection, decodable ones reach the real handlers. The broker must keep
// serving, log no handler failure, and lose nothing it acknowledged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/protocol/codec.js';
import { RequestHeader } from '../../src/protocol/messages/header.js';
import { ALL_APIS, ApiVersions, Fetch, Metadata, Produce } from '../../src/protocol/messages/index.js';
import { Writer } from '../../src/protocol/primitives.js';
import { buildBatch } from '../../src/protocol/records/builder.js';
import { inRange, parseVersions, type FieldSpec } from '../../src/protocol/spec.js';
import { capturingLogger, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { consumeRecords } from '../helpers/records.js';

let state = 12345;
const rand = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const int = (n: number) => Math.floor(rand() * n);

function sample(fields: readonly FieldSpec[], version: number, flexible: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inRange(parseVersions(f.versions), version) || (f.taggedVersions !== undefined && !flexible)) continue;
    const key = f.name[0].toLowerCase() + f.name.slice(1);
    const elem = f.type.replace('[]', '');
    const one = (): unknown =>
      f.fields ? sample(f.fields, version, flexible)
      : elem === 'bool' ? rand() < 0.5
      : elem === 'string' ? ['t', 'fuzz', '', 'a.b', '__consumer_offsets', 'x'.repeat(300)][int(6)]
      : elem === 'uuid' ? 'AAAAAAAAAAAAAAAAAAAAAA'
      : elem === 'bytes' || elem === 'records' ? Buffer.from(Array.from({ length: int(100) }, () => int(256)))
      : elem === 'int8' ? [0, 1, -1, 2, 4, 127, -128][int(7)]
      : elem === 'int16' ? [0, 1, -1, 2, 35, 32767, -32768][int(7)]
      : [0, 1, -1, 2, 7, 100, 2147483647, -2147483648][int(8)];
    out[key] = f.type.startsWith('[]') ? Array.from({ length: int(3) }, one) : one();
  }
  return out;
}

function frame(): Buffer {
  // Metadata auto-creation is left on: hostile names must be refused, not created.
  const apis = ALL_APIS;
  const api = apis[int(apis.length)];
  const version = api.minVersion + int(api.maxVersion - api.minVersion + 1);
  const flexible = inRange(parseVersions(api.request.flexibleVersions), version);
  const w = new Writer();
  w.int32(0);
  encodeMessage(RequestHeader, flexible ? 2 : 1, w, { requestApiKey: api.apiKey, requestApiVersion: version, correlationId: int(1000), clientId: 'fuzz' });
  encodeMessage(api.request, version, w, sample(api.request.fields, version, flexible) as never);
  w.patchInt32(0, w.length - 4);
  const b = w.toBuffer();
  if (rand() < 0.3) b[4 + int(b.length - 4)] ^= 1 << int(8); // corrupt a byte after the size
  return b;
}

let broker: TestBroker;
const captured = capturingLogger();
beforeAll(async () => {
  broker = await startTestBroker({}, undefined, captured.logger);
});
afterAll(async () => {
  await broker.cleanup();
});

describe('a live broker under hostile requests', () => {
  it('keeps serving and keeps acknowledged data after 3,000 random and corrupted requests', async () => {
    const c0 = await RawClient.connect(broker.port);
    const ack = await c0.request(Produce, 11, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'precious', partitionData: [{ index: 0, records: await buildBatch([{ value: 'keep me' }]) }] }] });
    expect(ack.responses[0].partitionResponses[0].errorCode).toBe(0);
    c0.close();

    // Frames go out 10 per connection; a connection the broker closed is replaced.
    let responses = 0;
    let sent = 0;
    while (sent < 3000) {
      const c = await RawClient.connect(broker.port);
      for (let i = 0; i < 10 && !c.closed; i++, sent++) {
        c.writeRaw(frame());
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 5));
      responses += c.framesReceived;
      c.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(responses).toBeGreaterThan(1000); // thousands of requests were handled, not just refused

    const c = await RawClient.connect(broker.port);
    const versions = await c.request(ApiVersions, 3, { clientSoftwareName: 'after', clientSoftwareVersion: '1' });
    expect(versions.errorCode).toBe(0);
    const md = await c.request(Metadata, 12, { topics: [{ name: 'precious' }] });
    const topicId = md.topics[0].topicId;
    const f = await c.request(Fetch, 16, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] });
    expect((await consumeRecords(f.responses[0].partitions[0].records)).map((r) => r.value)).toEqual(['keep me']);
    c.close();

    const failures = captured.lines.filter((l) => l.level >= 50);
    expect(failures).toEqual([]);
    // hostile topic names never became topics
    expect(broker.context.topics.all().every((t) => /^[a-zA-Z0-9._-]{1,249}$/.test(t.name))).toBe(true);
    // and the decoder refused plenty of frames, so this exercised both paths
    expect(captured.lines.filter((l) => l.msg === 'closing connection: request cannot be parsed or is not supported').length).toBeGreaterThan(10);
  });

  it('closes connections that send an empty frame, half of a 900 KB frame, or a frame past the maximum, and keeps serving', async () => {
    const before = captured.lines.length;
    const empty = await RawClient.connect(broker.port);
    // A size of 0 that ends the read: nothing follows it.
    empty.writeRaw(Buffer.from([0, 0, 0, 0]));
    const half = await RawClient.connect(broker.port);
    // Read in place once its size is known (frames up to 1 MiB): the peer then goes away halfway.
    half.writeRaw(Buffer.concat([Buffer.from([0, 0x0d, 0xbb, 0xa0]), Buffer.alloc(450_000, 7)]));
    const huge = await RawClient.connect(broker.port);
    huge.writeRaw(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
    await new Promise((r) => setTimeout(r, 300));
    expect(empty.closed).toBe(true);
    expect(huge.closed).toBe(true);
    expect(half.closed).toBe(false);
    half.close();

    const c = await RawClient.connect(broker.port);
    const versions = await c.request(ApiVersions, 3, { clientSoftwareName: 'after', clientSoftwareVersion: '1' });
    expect(versions.errorCode).toBe(0);
    c.close();
    const lines = captured.lines.slice(before);
    expect(lines.filter((l) => l.msg === 'closing connection: request cannot be parsed or is not supported').length).toBe(1);
    expect(lines.filter((l) => l.msg === 'closing connection: oversized frame').length).toBe(1);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
