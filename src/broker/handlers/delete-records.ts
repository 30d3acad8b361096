// DeleteRecords: moves partitions' log start offsets forward (-1 means the
// high watermark). The storage issue deletes objects that fall below it.
import { ErrorCode } from '../../protocol/errors.js';
import type { DeleteRecords } from '../../protocol/messages/index.js';
import type { Handler } from '../context.js';
import { toWireError } from '../errors.js';

export const handleDeleteRecords: Handler<typeof DeleteRecords> = async (req, ctx) => {
  const { topics, store, log } = ctx.broker;
  return {
    throttleTimeMs: 0,
    topics: await Promise.all(
      req.topics.map(async (t) => {
        return {
          name: t.name,
          partitions: await Promise.all(
            t.partitions.map(async (p) => {
              const stream = topics.stream(t.name, p.partitionIndex);
              if (stream === undefined) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
              const target = p.offset === -1 ? stream.committedEnd : p.offset;
              if (target < 0 || target > stream.committedEnd) {
                return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
              }
              try {
                await store.trim(stream, target);
                return { partitionIndex: p.partitionIndex, lowWatermark: stream.startOffset, errorCode: ErrorCode.NONE };
              } catch (err) {
                const e = toWireError(err);
                if (!e.expected) log.error({ err }, 'DeleteRecords failed');
                return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: e.code };
              }
            }),
          ),
        };
      }),
    ),
  };
};
