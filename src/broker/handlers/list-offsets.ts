// ListOffsets: latest (-1), earliest (-2), max timestamp (-3), earliest local
// (-4), or the first offset whose record timestamp is at or after a time.
import { ErrorCode } from '../../protocol/errors.js';
import type { ListOffsets } from '../../protocol/messages/index.js';
import type { ResponseOf } from '../../protocol/spec.js';
import type { Handler } from '../context.js';
import { toWireError } from '../errors.js';

type PartitionResult = NonNullable<NonNullable<ResponseOf<typeof ListOffsets>['topics']>[number]['partitions']>[number];

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL_TIMESTAMP = -4;

export const handleListOffsets: Handler<typeof ListOffsets> = async (req, ctx) => {
  const { topics, store, log } = ctx.broker;
  return {
    throttleTimeMs: 0,
    topics: await Promise.all(
      req.topics.map(async (t) => {
        const counts = new Map<number, number>();
        for (const p of t.partitions) counts.set(p.partitionIndex, (counts.get(p.partitionIndex) ?? 0) + 1);
        const partitions = await Promise.all(
          t.partitions.map(async (p): Promise<PartitionResult> => {
            const fail = (errorCode: number): PartitionResult => ({ partitionIndex: p.partitionIndex, errorCode, timestamp: -1, offset: -1, leaderEpoch: -1 });
            if ((counts.get(p.partitionIndex) ?? 0) > 1) return fail(ErrorCode.INVALID_REQUEST);
            const stream = topics.stream(t.name, p.partitionIndex);
            if (stream === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < stream.epoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
            if (p.currentLeaderEpoch > stream.epoch) return fail(ErrorCode.UNKNOWN_LEADER_EPOCH);
            const ok = (offset: number, timestamp: number, leaderEpoch: number): PartitionResult => ({
              partitionIndex: p.partitionIndex,
              errorCode: ErrorCode.NONE,
              timestamp,
              offset,
              leaderEpoch,
            });
            try {
              switch (p.timestamp) {
                case LATEST_TIMESTAMP:
                  return ok(stream.committedEnd, -1, stream.epochs.length > 0 ? stream.epochs[stream.epochs.length - 1].epoch : -1);
                case EARLIEST_TIMESTAMP:
                case EARLIEST_LOCAL_TIMESTAMP:
                  return ok(stream.startOffset, -1, stream.epochAt(stream.startOffset));
                case MAX_TIMESTAMP: {
                  const found = await store.maxTimestampOffset(stream);
                  return found === null ? ok(-1, -1, -1) : ok(found.offset, found.timestamp, found.leaderEpoch);
                }
                default: {
                  if (p.timestamp < 0) return ok(-1, -1, -1);
                  const found = await store.offsetForTimestamp(stream, p.timestamp);
                  return found === null ? ok(-1, -1, -1) : ok(found.offset, found.timestamp, found.leaderEpoch);
                }
              }
            } catch (err) {
              const e = toWireError(err);
              if (!e.expected) log.error({ err, topic: t.name, partition: p.partitionIndex }, 'ListOffsets failed');
              return fail(e.code);
            }
          }),
        );
        return { name: t.name, partitions };
      }),
    ),
  };
};
