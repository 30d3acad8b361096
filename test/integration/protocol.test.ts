// Wire-level behaviour a Kafka client can observe: advertised versions,
// unsupported versions, unknown APIs, oversized frames, request ordering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/frame.js';
import { ApiVersions, Fetch, Metadata, Produce } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/builder.js';
import { capturingLogger, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { consumeRecords } from '../helpers/records.js';

let broker: TestBroker;
const captured = capturingLogger();
beforeAll(async () => {
  broker = await startTestBroker({}, undefined, captured.logger);
});
const logged = (msg: string, reason: RegExp) => captured.lines.some((l) => l.msg === msg && reason.test(String(l.reason)));
afterAll(async () => {
  await broker.cleanup();
});

// Kafka 4.x's advertised ranges for the APIs of the core broker (Produce from 0, KAFKA-18659).
const EXPECTED = new Map([
  [0, [0, 11]],
  [1, [4, 16]],
  [2, [1, 8]],
  [3, [0, 12]],
  [8, [2, 9]],
  [9, [1, 9]],
  [10, [0, 6]],
  [11, [0, 9]],
  [12, [0, 4]],
  [13, [0, 5]],
  [14, [0, 5]],
  [15, [0, 5]],
  [16, [0, 5]],
  [18, [0, 4]],
  [19, [2, 7]],
  [20, [1, 6]],
  [21, [0, 2]],
  [22, [0, 5]],
  [23, [2, 4]],
  [32, [1, 4]],
  [33, [0, 2]],
  [37, [0, 3]],
  [42, [0, 2]],
  [44, [0, 1]],
  [47, [0, 0]],
  [60, [0, 1]],
]);

describe('ApiVersions', () => {
  for (const v of [0, 1, 2, 3, 4]) {
    it(`v${v} advertises Kafka 4's ranges`, async () => {
      const c = await RawClient.connect(broker.port);
      const res = await c.request(ApiVersions, v, { clientSoftwareName: 'floe-test', clientSoftwareVersion: '1.0' });
      c.close();
      expect(res.errorCode).toBe(ErrorCode.NONE);
      const got = new Map(res.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
      expect(got).toEqual(EXPECTED);
    });
  }

  it('answers a too-new ApiVersions with a v0 UNSUPPORTED_VERSION response that lists the supported ranges', async () => {
    const c = await RawClient.connect(broker.port);
    const frame = c.nextFrame();
    // ApiVersions v9 with a header v2 and a body we cannot know
    c.writeRaw(Buffer.from('0000000f' + '0012' + '0009' + '0000002a' + '0001' + '78' + '00' + '01020304', 'hex'));
    const res = decodeResponse(ApiVersions, ApiVersions.response, 0, await frame);
    c.close();
    expect(res.correlationId).toBe(42);
    expect(res.body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(res.body.apiKeys.find((k) => k.apiKey === 18)).toEqual({ apiKey: 18, minVersion: 0, maxVersion: 4 });
  });

  it('rejects an invalid client software name (KIP-511) with INVALID_REQUEST', async () => {
    const c = await RawClient.connect(broker.port);
    const res = await c.request(ApiVersions, 3, { clientSoftwareName: '-bad name-', clientSoftwareVersion: '1' });
    c.close();
    expect(res.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('requests Kafka answers by closing the connection', () => {
  it('closes on an unknown api key', async () => {
    const c = await RawClient.connect(broker.port);
    c.writeRaw(Buffer.from('0000000a' + '03e7' + '0000' + '00000001' + '0000', 'hex'));
    expect(await c.waitClosed()).toBe(true);
    expect(logged('closing connection: request cannot be parsed or is not supported', /unknown api key 999/)).toBe(true);
  });

  it('closes on a Produce request below v3 (advertised from v0 for librdkafka, refused as Kafka 4 refuses it)', async () => {
    const c = await RawClient.connect(broker.port);
    c.writeRaw(Buffer.from('0000000a' + '0000' + '0002' + '00000001' + '0000', 'hex'));
    expect(await c.waitClosed()).toBe(true);
    expect(logged('closing connection: request cannot be parsed or is not supported', /\(Produce\) and unsupported version 2/)).toBe(true);
  });

  it('closes on a frame larger than socket.request.max.bytes, without reading it', async () => {
    const c = await RawClient.connect(broker.port);
    const size = Buffer.alloc(4);
    size.writeInt32BE(104857600 + 1);
    c.writeRaw(size);
    expect(await c.waitClosed()).toBe(true);
    expect(logged('closing connection: oversized frame', /size = 104857601 larger than 104857600/)).toBe(true);
  });

  it('closes on a negative frame size', async () => {
    const c = await RawClient.connect(broker.port);
    c.writeRaw(Buffer.from('ffffffff', 'hex'));
    expect(await c.waitClosed()).toBe(true);
  });

  it('closes on a truncated request body', async () => {
    const c = await RawClient.connect(broker.port);
    // Metadata v1 whose topics array claims 5 entries but has none
    c.writeRaw(Buffer.from('0000000e' + '0003' + '0001' + '00000001' + '0000' + '00000005', 'hex'));
    expect(await c.waitClosed()).toBe(true);
  });

  it('keeps serving other connections afterwards', async () => {
    const c = await RawClient.connect(broker.port);
    const res = await c.request(Metadata, 12, { topics: [], allowAutoTopicCreation: false });
    c.close();
    expect(res.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: broker.port, rack: null }]);
  });
});

describe('request pipelining', () => {
  it('answers pipelined requests in order, acks=0 produce without a response', async () => {
    const c = await RawClient.connect(broker.port);
    const frames: Promise<Buffer>[] = [];
    const batches = await Promise.all([0, 1, 2, 3].map((i) => buildBatch([{ value: `p${i}` }])));
    const send = (corr: number, acks: number, batch: Buffer) => {
      c.socket.write(encodeRequest(Produce, 9, corr, 'pipe', { acks, timeoutMs: 5000, topicData: [{ name: 'pipelined', partitionData: [{ index: 0, records: batch }] }] }));
    };
    frames.push(c.nextFrame());
    send(1, -1, batches[0]);
    send(2, 0, batches[1]); // no response
    frames.push(c.nextFrame());
    send(3, 1, batches[2]);
    frames.push(c.nextFrame());
    c.socket.write(encodeRequest(Metadata, 12, 4, 'pipe', { topics: [{ name: 'pipelined' }] }));
    const [r1, r3, r4] = await Promise.all(frames);
    const p1 = decodeResponse(Produce, Produce.response, 9, r1);
    const p3 = decodeResponse(Produce, Produce.response, 9, r3);
    const m4 = decodeResponse(Metadata, Metadata.response, 12, r4);
    expect([p1.correlationId, p3.correlationId, m4.correlationId]).toEqual([1, 3, 4]);
    expect(p1.body.responses[0].partitionResponses[0].baseOffset).toBe(0);
    // the acks=0 batch took offset 1
    expect(p3.body.responses[0].partitionResponses[0].baseOffset).toBe(2);
    c.close();
  });

  // Responses leave in slices of 256 KiB, one per event-loop turn (Connection.sendSlice): a fetch of megabytes
  // goes out over many turns, and what was queued before a close still reaches the client.
  it('sends a large fetch response whole and in order with the responses after it, also when the connection then closes', async () => {
    const p = await RawClient.connect(broker.port);
    const value = (i: number) => `${String(i).padStart(8, '0')}${'v'.repeat(1016)}`;
    for (let b = 0; b < 60; b++) {
      const batch = await buildBatch(Array.from({ length: 100 }, (_, i) => ({ value: value(b * 100 + i) })));
      const r = await p.request(Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'sliced', partitionData: [{ index: 0, records: batch }] }] });
      expect(r.responses[0].partitionResponses[0].errorCode).toBe(0);
    }
    p.close();
    const c = await RawClient.connect(broker.port);
    const frames = [c.nextFrame(), c.nextFrame(), c.nextFrame()];
    const fetch = (corr: number) =>
      encodeRequest(Fetch, 4, corr, 'sliced', { maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0, topics: [{ topic: 'sliced', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 32 << 20 }] }] });
    c.socket.write(fetch(1));
    c.socket.write(encodeRequest(Metadata, 12, 2, 'sliced', { topics: [{ name: 'sliced' }] }));
    c.socket.write(fetch(3));
    const bad = await buildBatch([{ value: 'x' }]);
    bad[20] ^= 0xff; // a failed acks=0 produce: Kafka closes the connection
    c.socket.write(encodeRequest(Produce, 9, 4, 'sliced', { acks: 0, timeoutMs: 5000, topicData: [{ name: 'sliced', partitionData: [{ index: 0, records: bad }] }] }));
    const [f1, m2, f3] = await Promise.all(frames);
    expect(await c.waitClosed()).toBe(true);
    const expected = Array.from({ length: 6000 }, (_, i) => [i, value(i)]);
    for (const [frame, corr] of [[f1, 1], [f3, 3]] as const) {
      expect(frame.length).toBeGreaterThan(6_000_000);
      const res = decodeResponse(Fetch, Fetch.response, 4, frame);
      expect(res.correlationId).toBe(corr);
      const records = await consumeRecords(res.body.responses[0].partitions[0].records);
      expect(records.map((r) => [r.offset, r.value])).toEqual(expected);
    }
    expect(decodeResponse(Metadata, Metadata.response, 12, m2).correlationId).toBe(2);
    expect(c.framesReceived).toBe(3);
  });

  it('keeps reading a connection whose requests in flight were all acks=0 produces, past queued.max.requests', async () => {
    // Reading pauses at queued.max.requests; responses written resume it, and so must requests that have none.
    const small = await startTestBroker({ 'queued.max.requests': '2' });
    try {
      const c = await RawClient.connect(small.port);
      for (let i = 0; i < 10; i++) {
        const batch = await buildBatch([{ value: `a${i}` }]);
        c.socket.write(encodeRequest(Produce, 9, i, 'acks0', { acks: 0, timeoutMs: 5000, topicData: [{ name: 'acks0-many', partitionData: [{ index: 0, records: batch }] }] }));
      }
      await new Promise((r) => setTimeout(r, 300)); // the ten are handled, and reading paused, before the next arrives
      const last = await c.request(Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'acks0-many', partitionData: [{ index: 0, records: await buildBatch([{ value: 'last' }]) }] }] });
      expect(last.responses[0].partitionResponses[0].baseOffset).toBe(10);
      c.close();
    } finally {
      await small.cleanup();
    }
  });

  it('closes the connection after a failed acks=0 produce, as Kafka does', async () => {
    const c = await RawClient.connect(broker.port, '127.0.0.1');
    const bad = await buildBatch([{ value: 'x' }]);
    bad[20] ^= 0xff; // break the CRC
    c.socket.write(encodeRequest(Produce, 9, 1, 'acks0', { acks: 0, timeoutMs: 5000, topicData: [{ name: 'acks0', partitionData: [{ index: 0, records: bad }] }] }));
    expect(await c.waitClosed()).toBe(true);
  });
});
