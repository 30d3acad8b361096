// Produce: validate each partition's batch header (and, for uncompressed
// batches, its records' structure), assign offsets in place, queue the batch
// in the WAL, and answer once the WAL object is in object storage and
// committed in the metadata store. Record contents are decoded only for
// topics with broker-side schema validation (schema-validation.ts).

import { ErrorCode, errorName } from '../../protocol/errors.js';
import type { Produce } from '../../protocol/messages/index.js';
import { DecodeError } from '../../protocol/primitives.js';
import { isTransactional, setLogAppendTime, TimestampType, type BatchHeader } from '../../protocol/records/batch.js';
import { validateProducedRecords } from '../../protocol/records/validate.js';
import type { RequestOf, ResponseOf } from '../../protocol/spec.js';
import { NO_RESPONSE, type Handler, type HandlerContext } from '../context.js';
import { toWireError } from '../errors.js';
import { topicNameProblem } from '../topic-name.js';
import type { Partition, Topic, TopicSettings } from '../topics.js';

type PartitionResponse = NonNullable<NonNullable<ResponseOf<typeof Produce>['responses']>[number]['partitionResponses']>[number];

const VALID_ACKS = new Set([-1, 0, 1]);

async function resolveTopic(name: string, ctx: HandlerContext): Promise<Topic | number> {
  const { topics, config } = ctx.broker;
  const topic = topics.get(name);
  if (topic !== undefined) return topic;
  if (topicNameProblem(name) !== undefined) return ErrorCode.INVALID_TOPIC_EXCEPTION;
  if (!config.bool('auto.create.topics.enable')) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  try {
    return await topics.autoCreate(name);
  } catch (err) {
    return toWireError(err).code;
  }
}

function errorResponse(index: number, code: number, message: string | null = null): PartitionResponse {
  return { index, errorCode: code, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: message };
}

/** confluent.*.schema.validation: null when every record carries a schema id registered under the topic's subject. */
async function checkSchemaIds(ctx: HandlerContext, topic: string, index: number, batch: Buffer, header: BatchHeader, settings: TopicSettings): Promise<PartitionResponse | null> {
  let errors;
  try {
    errors = await ctx.broker.schemaValidator.check(topic, batch, header, { key: settings.keySchemaValidation, value: settings.valueSchemaValidation });
  } catch (err) {
    if (err instanceof DecodeError) return errorResponse(index, ErrorCode.CORRUPT_MESSAGE, `Record batch could not be decoded: ${err.message}`);
    // The registry's store failed: this partition gets the error, the rest of the request goes on.
    const e = toWireError(err);
    if (!e.expected) ctx.broker.log.error({ err, topic, partition: index }, 'schema validation failed');
    return errorResponse(index, e.code, e.message);
  }
  if (errors.length === 0) return null;
  ctx.broker.store.metrics.schemaValidationRejections.labels(topic).inc();
  return {
    ...errorResponse(index, ErrorCode.INVALID_RECORD, `${errors.length === 1 ? 'One record' : `${errors.length} records`} of the batch failed schema validation; first: ${errors[0].message}`),
    recordErrors: errors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.message })),
  };
}

export const handleProduce: Handler<typeof Produce> = async (req: RequestOf<typeof Produce>, ctx) => {
  const { store, log, membership } = ctx.broker;
  const now = Date.now();
  const pending: Promise<PartitionResponse>[][] = [];
  // The batches the WAL takes, it retains itself, until the log cache has them: the frame can be reused after the response.
  ctx.recycleFrame();

  if (!VALID_ACKS.has(req.acks)) {
    ctx.releaseOrdering();
    return {
      responses: req.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => errorResponse(p.index, ErrorCode.INVALID_REQUIRED_ACKS)) })),
      throttleTimeMs: 0,
    };
  }

  for (const t of req.topicData) {
    const resolved = await resolveTopic(t.name, ctx);
    const results: Promise<PartitionResponse>[] = [];
    pending.push(results);
    for (const p of t.partitionData) {
      if (typeof resolved === 'number') {
        results.push(Promise.resolve(errorResponse(p.index, resolved)));
        continue;
      }
      const partition: Partition | undefined = resolved.partitions[p.index];
      if (partition === undefined) {
        results.push(Promise.resolve(errorResponse(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)));
        continue;
      }
      const settings = resolved.settings;
      const verdict = validateProducedRecords(p.records, {
        apiVersion: ctx.apiVersion,
        maxMessageBytes: settings.maxMessageBytes,
        timestampType: settings.timestampType,
        timestampBeforeMaxMs: settings.timestampBeforeMaxMs,
        timestampAfterMaxMs: settings.timestampAfterMaxMs,
        now,
        topicPartition: `${t.name}-${p.index}`,
      });
      if (!verdict.ok) {
        results.push(
          Promise.resolve({
            ...errorResponse(p.index, verdict.code, verdict.message),
            recordErrors: verdict.recordErrors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.message })),
          }),
        );
        continue;
      }
      if (settings.keySchemaValidation || settings.valueSchemaValidation) {
        const rejected = await checkSchemaIds(ctx, t.name, p.index, verdict.batch, verdict.header, settings);
        if (rejected !== null) {
          results.push(Promise.resolve(rejected));
          continue;
        }
      }
      if (isTransactional(verdict.header.attributes) || req.transactionalId !== null) {
        // Transactions (AddPartitionsToTxn/EndTxn) come with the transactions issue.
        results.push(Promise.resolve(errorResponse(p.index, ErrorCode.INVALID_TXN_STATE, 'Floe does not support transactional produce yet')));
        continue;
      }
      const stream = partition.stream;
      await store.waitForCapacity();
      let maxTimestamp = verdict.header.maxTimestamp;
      let logAppendTime = -1;
      if (settings.timestampType === TimestampType.LOG_APPEND_TIME) {
        setLogAppendTime(verdict.batch, now);
        maxTimestamp = now;
        logAppendTime = now;
      }
      store.metrics.produceBytes.inc(verdict.batch.length);
      const appended = store.append(stream, verdict.batch, verdict.header.recordCount, maxTimestamp);
      results.push(
        appended.then(
          (baseOffset) => ({ index: p.index, errorCode: ErrorCode.NONE, baseOffset, logAppendTimeMs: logAppendTime, logStartOffset: stream.startOffset, recordErrors: [], errorMessage: null }),
          (err: unknown) => {
            const e = toWireError(err);
            if (!e.expected) log.error({ err, topic: t.name, partition: p.index }, 'produce failed');
            const r = errorResponse(p.index, e.code, e.message);
            if (e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
              return { ...r, currentLeader: { leaderId: membership.leaderOf(stream.id), leaderEpoch: stream.epoch } };
            }
            return r;
          },
        ),
      );
    }
  }
  // Everything is queued in order: later requests on this connection may start.
  ctx.releaseOrdering();

  const settled = await Promise.all(pending.map((ps) => Promise.all(ps)));
  if (req.acks === 0) {
    // Kafka sends no response to acks=0, and closes the connection on an error so the client refreshes metadata.
    const failed = settled.flat().find((r) => r.errorCode !== ErrorCode.NONE);
    if (failed !== undefined) {
      log.info({ conn: ctx.connectionId, error: errorName(failed.errorCode ?? 0) }, 'closing connection after a failed acks=0 produce');
      ctx.closeAfterResponse();
    }
    return NO_RESPONSE;
  }
  const anyNotLeader = settled.flat().some((r) => r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER);
  const throttleTimeMs = store.throttleTimeMs();
  if (throttleTimeMs > 0) store.metrics.produceThrottleMs.inc(throttleTimeMs);
  return {
    responses: req.topicData.map((t, i) => ({ name: t.name, partitionResponses: settled[i] })),
    throttleTimeMs,
    nodeEndpoints: anyNotLeader ? membership.liveBrokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })) : [],
  };
};
