// OffsetForLeaderEpoch: the end offset of a leader epoch, from the stream's
// epoch history (Kafka's LeaderEpochFileCache), so consumers can detect
// truncation after a leader change.
import { ErrorCode } from '../../protocol/errors.js';
import type { OffsetForLeaderEpoch } from '../../protocol/messages/index.js';
import type { Handler } from '../context.js';

export const handleOffsetForLeaderEpoch: Handler<typeof OffsetForLeaderEpoch> = (req, ctx) => {
  const { topics } = ctx.broker;
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      return {
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const fail = (errorCode: number) => ({ errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1 });
          const stream = topics.stream(t.topic, p.partition);
          if (stream === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < stream.epoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
          if (p.currentLeaderEpoch > stream.epoch) return fail(ErrorCode.UNKNOWN_LEADER_EPOCH);
          const end = stream.endOffsetForEpoch(p.leaderEpoch);
          return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: end.epoch, endOffset: end.endOffset };
        }),
      };
    }),
  };
};
