// Fetch and ListOffsets: reads from the LogCache and from object storage,
// long polls, offsets by time, and the error codes of each path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import { DeleteRecords, Fetch, ListOffsets, Produce } from '../../src/protocol/messages/index.js';
import { Compression, splitBatches } from '../../src/protocol/records/batch.js';
import { buildBatch } from '../../src/protocol/records/builder.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { consumeRecords } from '../helpers/records.js';

let broker: TestBroker;
let c: RawClient;
beforeAll(async () => {
  broker = await startTestBroker();
  c = await RawClient.connect(broker.port);
});
afterAll(async () => {
  c.close();
  await broker.cleanup();
});

async function produce(topic: string, values: string[], opts: { compression?: number; timestamps?: number[] } = {}) {
  const batch = await buildBatch(values.map((v, i) => ({ value: v, timestamp: opts.timestamps?.[i] })), { compression: opts.compression });
  const r = await c.request(Produce, 11, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
  expect(r.responses[0].partitionResponses[0].errorCode).toBe(0);
  return r.responses[0].partitionResponses[0].baseOffset;
}

const idOf = (b: TestBroker, name: string) => b.context.topics.get(name)!.id;

async function values(records: Buffer | null): Promise<[number, string | null][]> {
  return (await consumeRecords(records)).map((r) => [r.offset, r.value]);
}

function fetchById(client: RawClient, id: string, offset: number, extra: { maxWaitMs?: number; minBytes?: number; currentLeaderEpoch?: number; partitionMaxBytes?: number; isolationLevel?: number } = {}) {
  return client.request(Fetch, 16, {
    maxWaitMs: extra.maxWaitMs ?? 0,
    minBytes: extra.minBytes ?? 0,
    maxBytes: 1 << 20,
    isolationLevel: extra.isolationLevel ?? 0,
    topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: extra.partitionMaxBytes ?? 1 << 20, currentLeaderEpoch: extra.currentLeaderEpoch ?? -1 }] }],
  });
}

describe('Fetch', () => {
  it('reads by topic name (v4) and by topic id (v16), with high watermark and log start offset', async () => {
    await produce('reads', ['a', 'b']);
    await produce('reads', ['c']);
    const v4 = await c.request(Fetch, 4, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: 'reads', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] });
    expect(v4.responses[0].topic).toBe('reads');
    expect(v4.responses[0].partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 3, lastStableOffset: 3, abortedTransactions: null });
    expect(await values(v4.responses[0].partitions[0].records)).toEqual([[0, 'a'], [1, 'b'], [2, 'c']]);
    const v16 = await fetchById(c, idOf(broker, 'reads'), 2);
    expect(v16.sessionId).toBe(0);
    expect(v16.responses[0].topicId).toBe(idOf(broker, 'reads'));
    expect(v16.responses[0].partitions[0]).toMatchObject({ highWatermark: 3, logStartOffset: 0, preferredReadReplica: -1 });
    expect(await values(v16.responses[0].partitions[0].records)).toEqual([[2, 'c']]);
  });

  it('serves the same bytes from object storage after a restart (cold read)', async () => {
    const b = await startTestBroker();
    const bc = await RawClient.connect(b.port);
    for (let i = 0; i < 10; i++) {
      const batch = await buildBatch([{ value: `cold-${i}` }], { compression: i % 2 ? Compression.SNAPPY : Compression.NONE });
      await bc.request(Produce, 11, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'cold', partitionData: [{ index: 0, records: batch }] }] });
    }
    const warm = await fetchById(bc, idOf(b, 'cold'), 0);
    bc.close();
    await b.stop();
    const again = await startTestBroker({}, b.dataDir);
    const ac = await RawClient.connect(again.port);
    const cold = await fetchById(ac, idOf(again, 'cold'), 0);
    expect(again.context.store.objectReads).toBeGreaterThan(0);
    const strip = (r: Buffer) => splitBatches(r).spans.map(({ position, size }) => r.subarray(position + 16, position + size).toString('hex'));
    // identical but for the leader epoch, which the restart bumped
    expect(strip(cold.responses[0].partitions[0].records as Buffer)).toEqual(strip(warm.responses[0].partitions[0].records as Buffer));
    expect((await values(cold.responses[0].partitions[0].records)).map((v) => v[1])).toEqual(Array.from({ length: 10 }, (_, i) => `cold-${i}`));
    ac.close();
    await again.cleanup();
  });

  it('long-polls: a fetch at the high watermark returns as soon as a produce commits', async () => {
    await produce('poll', ['first']);
    const waiter = await RawClient.connect(broker.port);
    const started = Date.now();
    const pending = fetchById(waiter, idOf(broker, 'poll'), 1, { maxWaitMs: 10000, minBytes: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await produce('poll', ['second']);
    const res = await pending;
    const elapsed = Date.now() - started;
    expect(await values(res.responses[0].partitions[0].records)).toEqual([[1, 'second']]);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(5000);
    waiter.close();
  });

  it('long-polls until max_wait_ms when nothing arrives', async () => {
    await produce('idle', ['x']);
    const started = Date.now();
    const res = await fetchById(c, idOf(broker, 'idle'), 1, { maxWaitMs: 400, minBytes: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(res.responses[0].partitions[0].errorCode).toBe(0);
    expect(await values(res.responses[0].partitions[0].records)).toEqual([]);
  });

  it('returns OFFSET_OUT_OF_RANGE above the high watermark and below the log start offset', async () => {
    await produce('range', ['a', 'b', 'c']);
    const above = await fetchById(c, idOf(broker, 'range'), 4);
    expect(above.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: 3 });
    const del = await c.request(DeleteRecords, 2, { topics: [{ name: 'range', partitions: [{ partitionIndex: 0, offset: 2 }] }], timeoutMs: 1000 });
    expect(del.topics[0].partitions[0]).toEqual({ partitionIndex: 0, lowWatermark: 2, errorCode: 0 });
    const below = await fetchById(c, idOf(broker, 'range'), 1);
    expect(below.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: 2 });
    const earliest = await c.request(ListOffsets, 8, { replicaId: -1, topics: [{ name: 'range', partitions: [{ partitionIndex: 0, timestamp: -2 }] }] });
    expect(earliest.topics[0].partitions[0].offset).toBe(2);
    const beyond = await c.request(DeleteRecords, 2, { topics: [{ name: 'range', partitions: [{ partitionIndex: 0, offset: 99 }] }], timeoutMs: 1000 });
    expect(beyond.topics[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('returns UNKNOWN_TOPIC_OR_PARTITION by name and UNKNOWN_TOPIC_ID by id', async () => {
    const byName = await c.request(Fetch, 12, { maxWaitMs: 0, minBytes: 0, maxBytes: 1000, topics: [{ topic: 'missing', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1000 }] }] });
    expect(byName.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const byId = await fetchById(c, 'AAAAAAAAAAAAAAAAAAAAAw', 0);
    expect(byId.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('fences stale leader epochs and flags unknown ones', async () => {
    await produce('epochs', ['x']);
    const epoch = broker.context.topics.get('epochs')!.partitions[0].stream.epoch;
    expect((await fetchById(c, idOf(broker, 'epochs'), 0, { currentLeaderEpoch: epoch - 1 })).responses[0].partitions[0].errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect((await fetchById(c, idOf(broker, 'epochs'), 0, { currentLeaderEpoch: epoch + 1 })).responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect((await fetchById(c, idOf(broker, 'epochs'), 0, { currentLeaderEpoch: epoch })).responses[0].partitions[0].errorCode).toBe(0);
  });

  it('returns at least one batch even when it exceeds partition_max_bytes (KIP-74)', async () => {
    await produce('big', ['x'.repeat(5000)]);
    await produce('big', ['y'.repeat(5000)]);
    const res = await fetchById(c, idOf(broker, 'big'), 0, { partitionMaxBytes: 100 });
    expect((await values(res.responses[0].partitions[0].records)).map((v) => v[0])).toEqual([0]);
  });

  it('refuses zstd batches to fetch versions below 10', async () => {
    await produce('zstd', ['z'], { compression: Compression.ZSTD });
    const res = await c.request(Fetch, 9, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: 'zstd', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] });
    expect(res.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });

  it('answers an incremental fetch session with FETCH_SESSION_ID_NOT_FOUND', async () => {
    const res = await c.request(Fetch, 16, { sessionId: 5, sessionEpoch: 1, maxWaitMs: 0, minBytes: 0, maxBytes: 100, topics: [] });
    expect(res.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('returns an empty aborted transaction list to read_committed fetches', async () => {
    await produce('rc', ['x']);
    const res = await fetchById(c, idOf(broker, 'rc'), 0, { isolationLevel: 1 });
    expect(res.responses[0].partitions[0].abortedTransactions).toEqual([]);
  });
});

describe('ListOffsets', () => {
  it('answers latest, earliest, max timestamp and by timestamp, into compressed batches', async () => {
    const t = 1_700_000_000_000;
    // the broker accepts old timestamps (before.max.ms defaults to Long.MAX)
    await produce('times', ['a', 'b', 'c'], { compression: Compression.LZ4, timestamps: [t, t + 100, t + 50] });
    await produce('times', ['d'], { timestamps: [t + 200] });
    const ask = async (timestamp: number, version = 8) => {
      const r = await c.request(ListOffsets, version, { replicaId: -1, topics: [{ name: 'times', partitions: [{ partitionIndex: 0, timestamp }] }] });
      return r.topics[0].partitions[0];
    };
    const epoch = broker.context.topics.get('times')!.partitions[0].stream.epoch;
    expect(await ask(-1)).toMatchObject({ errorCode: 0, offset: 4, timestamp: -1, leaderEpoch: epoch });
    expect(await ask(-2)).toMatchObject({ offset: 0, timestamp: -1 });
    expect(await ask(-3)).toMatchObject({ offset: 3, timestamp: t + 200 });
    expect(await ask(t + 60)).toMatchObject({ offset: 1, timestamp: t + 100 });
    expect(await ask(t + 150)).toMatchObject({ offset: 3, timestamp: t + 200 });
    expect(await ask(t + 201)).toMatchObject({ offset: -1, timestamp: -1 });
    expect(await ask(t, 1)).toMatchObject({ offset: 0, timestamp: t });
  });

  it('returns UNKNOWN_TOPIC_OR_PARTITION and INVALID_REQUEST for duplicates', async () => {
    const r = await c.request(ListOffsets, 8, {
      replicaId: -1,
      topics: [
        { name: 'nothing-here', partitions: [{ partitionIndex: 0, timestamp: -1 }] },
        { name: 'times', partitions: [{ partitionIndex: 0, timestamp: -1 }, { partitionIndex: 0, timestamp: -2 }] },
      ],
    });
    expect(r.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(r.topics[1].partitions.map((p) => p.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
  });
});
