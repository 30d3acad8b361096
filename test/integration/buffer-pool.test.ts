// Produce frames are reused once the log cache evicts their batches, and
// blocks read from objects once the block cache evicts them
// (src/memory/buffer-pool.ts). These tests make the broker reuse them while
// a fetch response still waits to be sent from them, and check every byte
// consumers get back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fetch, Produce } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/builder.js';
import type { Decoded } from '../../src/protocol/spec.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { seededRandom } from '../helpers/random.js';
import { RawClient } from '../helpers/raw-client.js';
import { consumeRecords, readPartition } from '../helpers/records.js';

const RECORDS_PER_BATCH = 50;
const VALUE_CHARS = 4000; // 200 KB requests: read in place, so from the pool
const BATCHES = 40; // 8 MB, against a 12 MiB log cache

type FetchResponse = Decoded<(typeof Fetch)['response']>;

let broker: TestBroker;
let producer: RawClient;

async function startWith(overrides: Record<string, string>): Promise<void> {
  broker = await startTestBroker({ 'wal.flush.interval.ms': '5', ...overrides });
  producer = await RawClient.connect(broker.port);
}

async function stop(): Promise<void> {
  producer.close();
  await broker.cleanup();
}

function valuesFor(seed: number, batches = BATCHES): string[][] {
  const { int } = seededRandom(seed);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length: batches }, () =>
    Array.from({ length: RECORDS_PER_BATCH }, () => {
      let s = '';
      for (let i = 0; i < VALUE_CHARS; i++) s += alphabet[int(alphabet.length)];
      return s;
    }),
  );
}

async function produceAll(topic: string, batches: string[][]): Promise<void> {
  for (const values of batches) {
    const records = await buildBatch(values.map((value) => ({ value })));
    const r = await producer.request(Produce, 9, { acks: -1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    expect(r.responses[0].partitionResponses[0].errorCode).toBe(0);
  }
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrape(`http://127.0.0.1:${broker.metricsPort}`), name, labels);
}

/** Sends a Fetch of everything from offset 0 on a connection that then reads nothing, until the broker has answered it. */
async function stalledFetch(topic: string): Promise<{ consumer: RawClient; response: Promise<FetchResponse> }> {
  const consumer = await RawClient.connect(broker.port);
  const topicId = broker.context.topics.get(topic)!.id;
  const fetchesBefore = await metric('floe_requests_total', { api: 'Fetch' });
  consumer.socket.pause();
  const response = consumer.request(Fetch, 16, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 32 << 20,
    isolationLevel: 0,
    topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 32 << 20, currentLeaderEpoch: -1 }] }],
  });
  for (let i = 0; i < 200 && (await metric('floe_requests_total', { api: 'Fetch' })) === fetchesBefore; i++) await new Promise((r) => setTimeout(r, 10));
  expect(await metric('floe_requests_total', { api: 'Fetch' })).toBe(fetchesBefore + 1);
  return { consumer, response };
}

/** The stalled response, read at last: its records are exactly `expected` from offset 0 on (at least `atLeast` of them). */
async function checkStalled(stalled: Awaited<ReturnType<typeof stalledFetch>>, expected: string[], atLeast: number): Promise<void> {
  stalled.consumer.socket.resume();
  const body = await stalled.response;
  stalled.consumer.close();
  const p = body.responses[0].partitions[0];
  expect(p.errorCode).toBe(0);
  const got = await consumeRecords(p.records);
  expect(got.length).toBeGreaterThanOrEqual(atLeast);
  got.forEach((r, i) => {
    expect(r.offset).toBe(i);
    if (r.value !== expected[i]) throw new Error(`record ${i} of the stalled response differs from what was produced`);
  });
}

describe('produce frames reused from the pool', () => {
  beforeAll(() => startWith({ 'log.cache.bytes': String(12 * 1024 * 1024) }));
  afterAll(stop);

  it('a fetch response waiting on a slow consumer keeps its batches while new produce requests reuse evicted frames', async () => {
    const held = valuesFor(1);
    const churn = valuesFor(2, 3 * BATCHES);
    await produceAll('pool-held', held);
    // A consumer that asks for all of it and then does not read: most of the response stays queued in the broker.
    const stalled = await stalledFetch('pool-held');

    // 24 MB more evict every batch of the first topic from the cache, and the first of their own: frames no one
    // holds any more go back to the pool and are reused. Had the response not held its batches, theirs would be too.
    const reusedBefore = await metric('floe_buffer_pool_allocations_total', { outcome: 'reused' });
    await produceAll('pool-churn', churn);
    const reused = (await metric('floe_buffer_pool_allocations_total', { outcome: 'reused' })) - reusedBefore;
    expect(reused).toBeGreaterThanOrEqual(BATCHES);

    await checkStalled(stalled, held.flat(), BATCHES * RECORDS_PER_BATCH);
    // And the frames that were reused carry the second topic's records, read back from the cache and from objects.
    const back = await readPartition(broker.port, 'pool-churn', 0);
    expect(back.records.map((r) => r.value)).toEqual(churn.flat());
  }, 60_000);
});

describe('blocks read from objects reused from the pool', () => {
  // No log cache: every fetch reads blocks from the object store, through a block cache of 4 MiB.
  beforeAll(() => startWith({ 'log.cache.bytes': '0', 'block.cache.bytes': String(4 * 1024 * 1024), 'read.ahead.bytes': '0' }));
  afterAll(stop);

  it('a fetch response waiting on a slow consumer keeps its blocks while other cold reads reuse evicted ones', async () => {
    const held = valuesFor(3);
    const other = valuesFor(4);
    await produceAll('blocks-held', held);
    await produceAll('blocks-other', other);
    const stalled = await stalledFetch('blocks-held');

    // Reading the other topic from objects evicts the first topic's blocks; those no response holds are reused.
    const reusedBefore = await metric('floe_buffer_pool_allocations_total', { outcome: 'reused' });
    const back = await readPartition(broker.port, 'blocks-other', 0);
    expect(back.records.map((r) => r.value)).toEqual(other.flat());
    const reused = (await metric('floe_buffer_pool_allocations_total', { outcome: 'reused' })) - reusedBefore;
    expect(reused).toBeGreaterThanOrEqual(BATCHES / 2);

    await checkStalled(stalled, held.flat(), 10 * RECORDS_PER_BATCH);
  }, 60_000);
});
