// Fetch: whole batches from the LogCache or object storage, up to the high
// watermark, answered once min_bytes are there or max_wait_ms has passed
// (long poll: a commit on any requested partition wakes the request).
//
// Fetch sessions (KIP-227) are not kept: every response carries session id 0,
// which tells clients to send full fetch requests, as Kafka does when its
// session cache is full.

import { bufferPool } from '../../memory/buffer-pool.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Fetch } from '../../protocol/messages/index.js';
import { BatchOffset, Compression, compressionOf, lastOffsetOf } from '../../protocol/records/batch.js';
import type { RequestOf, ResponseOf } from '../../protocol/spec.js';
import type { Stream } from '../../storage/stream.js';
import type { Handler, HandlerContext } from '../context.js';
import { toWireError } from '../errors.js';
import type { Topic } from '../topics.js';

type FetchRequest = RequestOf<typeof Fetch>;
type PartitionData = NonNullable<NonNullable<ResponseOf<typeof Fetch>['responses']>[number]['partitions']>[number];

const READ_COMMITTED = 1;

interface Slot {
  readonly partition: number;
  readonly stream: Stream | null;
  fetchOffset: number;
  readonly maxBytes: number;
  bytes: number;
  result: PartitionData | null;
  records: Buffer[];
}

/** Resolves at the first commit on any of `streams`, or after `timeoutMs`. */
function firstCommit(streams: readonly Stream[], timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribe: (() => void)[] = [];
    const done = () => {
      clearTimeout(timer);
      for (const u of unsubscribe) u();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    for (const s of streams) unsubscribe.push(s.onCommit(done));
  });
}

function errorData(partition: number, code: number, extra: Partial<PartitionData> = {}): PartitionData {
  return { partitionIndex: partition, errorCode: code, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: null, records: [], ...extra };
}

function checkPartition(stream: Stream, p: FetchRequest['topics'][number]['partitions'][number], ctx: HandlerContext): PartitionData | null {
  const leader = { leaderId: ctx.broker.membership.leaderOf(stream.id), leaderEpoch: stream.epoch };
  if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < stream.epoch) {
    return errorData(p.partition, ErrorCode.FENCED_LEADER_EPOCH, { currentLeader: leader });
  }
  if (p.currentLeaderEpoch > stream.epoch) return errorData(p.partition, ErrorCode.UNKNOWN_LEADER_EPOCH, { currentLeader: leader });
  if (p.lastFetchedEpoch >= 0) {
    // KIP-595/KIP-320: the fetcher's last epoch diverges from our log; tell it where.
    const end = stream.endOffsetForEpoch(p.lastFetchedEpoch);
    if (end.epoch < 0 || end.endOffset < p.fetchOffset || end.epoch < p.lastFetchedEpoch) {
      return {
        partitionIndex: p.partition,
        errorCode: ErrorCode.NONE,
        highWatermark: stream.committedEnd,
        lastStableOffset: stream.committedEnd,
        logStartOffset: stream.startOffset,
        divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset },
        abortedTransactions: null,
        records: [],
      };
    }
  }
  if (p.fetchOffset < stream.startOffset || p.fetchOffset > stream.committedEnd) {
    return errorData(p.partition, ErrorCode.OFFSET_OUT_OF_RANGE, { highWatermark: stream.committedEnd, lastStableOffset: stream.committedEnd, logStartOffset: stream.startOffset });
  }
  return null;
}

export const handleFetch: Handler<typeof Fetch> = async (req, ctx) => {
  const { topics, store, log } = ctx.broker;
  const v = ctx.apiVersion;
  if (req.sessionEpoch > 0) {
    // An incremental fetch for a session we never created.
    return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
  }
  const readCommitted = req.isolationLevel === READ_COMMITTED;
  const groups: { topic: Topic | undefined; request: FetchRequest['topics'][number]; slots: Slot[] }[] = [];
  for (const t of req.topics) {
    const topic = v >= 13 ? topics.getById(t.topicId) : topics.get(t.topic);
    const slots: Slot[] = t.partitions.map((p) => {
      const partition = topic?.partitions[p.partition];
      const slot: Slot = { partition: p.partition, stream: partition?.stream ?? null, fetchOffset: p.fetchOffset, maxBytes: p.partitionMaxBytes, bytes: 0, result: null, records: [] };
      if (topic === undefined) slot.result = errorData(p.partition, v >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else if (partition === undefined) slot.result = errorData(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else slot.result = checkPartition(partition.stream, p, ctx);
      return slot;
    });
    groups.push({ topic, request: t, slots });
  }
  const all = groups.flatMap((g) => g.slots);
  const live = all.filter((s) => s.result === null && s.stream !== null);

  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  let total = 0;
  for (;;) {
    let anyError = false;
    for (const s of live) {
      if (s.result !== null) continue;
      const stream = s.stream as Stream;
      if (s.fetchOffset >= stream.committedEnd || total >= req.maxBytes || s.bytes >= s.maxBytes) continue;
      try {
        const budget = Math.min(s.maxBytes - s.bytes, req.maxBytes - total);
        // KIP-74: the first batch of the first non-empty partition is returned even if it is larger than the limits.
        const batches = await store.read(stream, s.fetchOffset, budget, total === 0);
        // Held (buffer pool) until the response is on the socket, also those an error below leaves out of it.
        ctx.afterResponse(() => bufferPool.releaseAll(batches));
        for (const b of batches) {
          if (v < 10 && compressionOf(b.readInt16BE(BatchOffset.attributes)) === Compression.ZSTD) {
            s.result = errorData(s.partition, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
            anyError = true;
            break;
          }
          s.records.push(b);
          s.bytes += b.length;
          total += b.length;
          s.fetchOffset = lastOffsetOf(b) + 1; // a wake-up continues after what was taken
        }
      } catch (err) {
        const e = toWireError(err);
        if (!e.expected) log.error({ err, stream: stream.id, offset: s.fetchOffset }, 'fetch read failed');
        s.result = errorData(s.partition, e.code);
        anyError = true;
      }
    }
    const remaining = deadline - Date.now();
    if (total >= req.minBytes || anyError || remaining <= 0 || live.length === 0) break;
    // Long poll: wait for a commit on any requested stream, or the deadline.
    const waiting = live.filter((s) => s.result === null).map((s) => s.stream as Stream);
    if (waiting.length === 0) break;
    await firstCommit(waiting, remaining);
  }
  store.metrics.fetchBytes.inc(total);

  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: 0,
    responses: groups.map((g) => ({
      topic: g.request.topic,
      topicId: g.request.topicId,
      partitions: g.slots.map((s): PartitionData => {
        if (s.result !== null) return s.result;
        const stream = s.stream as Stream;
        return {
          partitionIndex: s.partition,
          errorCode: ErrorCode.NONE,
          highWatermark: stream.committedEnd,
          lastStableOffset: stream.committedEnd,
          logStartOffset: stream.startOffset,
          abortedTransactions: readCommitted ? [] : null,
          preferredReadReplica: -1,
          records: s.records,
        };
      }),
    })),
  };
};
