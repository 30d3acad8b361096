// InitProducerId: producer ids for idempotent producers (a new id every time,
// as Kafka does without a transactional id), and for transactional ids the
// same id with a bumped epoch. Sequence checks come with the idempotence work.
import { ErrorCode } from '../../protocol/errors.js';
import type { InitProducerId } from '../../protocol/messages/index.js';
import type { Handler } from '../context.js';
import { toWireError } from '../errors.js';

export const handleInitProducerId: Handler<typeof InitProducerId> = async (req, ctx) => {
  const { producerIds, config, log } = ctx.broker;
  const fail = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 });
  try {
    if (req.transactionalId === null) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: await producerIds.nextId(), producerEpoch: 0 };
    }
    if (req.transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
    if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > config.int('transaction.max.timeout.ms')) {
      return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    if (req.producerId >= 0) {
      // KIP-360: a producer re-initialising must present the id and epoch it last had.
      const current = await producerIds.getTransactional(req.transactionalId);
      if (current === null || current.producerId !== req.producerId || current.producerEpoch !== req.producerEpoch) {
        return fail(ctx.apiVersion >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
      }
    }
    const { producerId, producerEpoch } = await producerIds.initTransactional(req.transactionalId, req.transactionTimeoutMs);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch };
  } catch (err) {
    const e = toWireError(err);
    if (!e.expected) log.error({ err }, 'InitProducerId failed');
    return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }
};
