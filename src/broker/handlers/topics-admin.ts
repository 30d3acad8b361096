// CreateTopics, DeleteTopics, CreatePartitions: Kafka's controller rules and
// error codes, applied against the metadata store.
import { formatValue } from '../../config/registry.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { CreatePartitions, CreateTopics, DeleteTopics } from '../../protocol/messages/index.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import type { Handler, HandlerContext } from '../context.js';
import { toWireError } from '../errors.js';
import { MAX_PARTITIONS_PER_TOPIC, type Topic } from '../topics.js';

function duplicates(names: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) (seen.has(n) ? dup : seen).add(n);
  return dup;
}

function fail(ctx: HandlerContext, err: unknown, what: string): { code: number; message: string } {
  const e = toWireError(err);
  if (!e.expected) ctx.broker.log.error({ err }, what);
  return { code: e.code, message: e.message };
}

function configsOf(topic: Topic, ctx: HandlerContext) {
  return ctx.broker.topics.describeConfigs(topic).map((c) => ({
    name: c.def.name,
    value: formatValue(c.value),
    readOnly: false,
    configSource: c.source,
    isSensitive: false,
  }));
}

export const handleCreateTopics: Handler<typeof CreateTopics> = async (req, ctx) => {
  const { topics } = ctx.broker;
  const dup = duplicates(req.topics.map((t) => t.name));
  const results = [];
  for (const t of req.topics) {
    const base = { name: t.name, topicId: ZERO_UUID, numPartitions: -1, replicationFactor: -1, configs: null };
    if (dup.has(t.name)) {
      results.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Create topics request from client \`${ctx.clientId ?? ''}\` contains multiple entries for the following topics: ${[...dup].join(', ')}` });
      continue;
    }
    try {
      let numPartitions = t.numPartitions;
      if (t.assignments.length > 0) {
        if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
        }
        const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
        if (indexes.some((p, i) => p !== i)) {
          throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
        }
        numPartitions = t.assignments.length;
      }
      const spec = { name: t.name, numPartitions, replicationFactor: t.replicationFactor, configs: t.configs };
      const v = topics.validateCreate(spec);
      if (req.validateOnly) {
        results.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: v.partitions, replicationFactor: v.replicationFactor });
        continue;
      }
      const topic = await topics.create(spec);
      results.push({
        name: topic.name,
        topicId: topic.id,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        numPartitions: topic.partitions.length,
        replicationFactor: topic.replicationFactor,
        configs: configsOf(topic, ctx),
      });
    } catch (err) {
      const e = fail(ctx, err, 'CreateTopics failed');
      results.push({ ...base, errorCode: e.code, errorMessage: e.message });
    }
  }
  return { throttleTimeMs: 0, topics: results };
};

export const handleDeleteTopics: Handler<typeof DeleteTopics> = async (req, ctx) => {
  const { topics, config } = ctx.broker;
  const targets = ctx.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
  const responses = [];
  for (const t of targets) {
    const byId = t.name === null;
    const base = { name: byId ? null : t.name, topicId: t.topicId, errorMessage: null as string | null };
    if (t.name !== null && t.topicId !== ZERO_UUID) {
      responses.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Only one of topic name or topic id may be set' });
      continue;
    }
    if (!config.bool('delete.topic.enable')) {
      responses.push({ ...base, errorCode: ctx.apiVersion >= 3 ? ErrorCode.TOPIC_DELETION_DISABLED : ErrorCode.INVALID_REQUEST });
      continue;
    }
    const topic = byId ? topics.getById(t.topicId) : topics.get(t.name as string);
    if (topic === undefined) {
      responses.push({ ...base, errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      continue;
    }
    try {
      await topics.delete(topic);
      responses.push({ name: topic.name, topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (err) {
      const e = fail(ctx, err, 'DeleteTopics failed');
      responses.push({ ...base, errorCode: e.code, errorMessage: e.message });
    }
  }
  return { throttleTimeMs: 0, responses };
};

export const handleCreatePartitions: Handler<typeof CreatePartitions> = async (req, ctx) => {
  const { topics } = ctx.broker;
  const dup = duplicates(req.topics.map((t) => t.name));
  const results = [];
  for (const t of req.topics) {
    const result = (errorCode: number, errorMessage: string | null = null) => ({ name: t.name, errorCode, errorMessage });
    if (dup.has(t.name)) {
      results.push(result(ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.'));
      continue;
    }
    const topic = topics.get(t.name);
    if (topic === undefined) {
      results.push(result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`));
      continue;
    }
    const current = topic.partitions.length;
    if (t.count < current) {
      results.push(result(ErrorCode.INVALID_PARTITIONS, `The topic ${t.name} currently has ${current} partition(s); ${t.count} would not be an increase.`));
      continue;
    }
    if (t.count === current) {
      results.push(result(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`));
      continue;
    }
    if (t.count > MAX_PARTITIONS_PER_TOPIC) {
      results.push(result(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${t.count} exceeds the maximum of ${MAX_PARTITIONS_PER_TOPIC}.`));
      continue;
    }
    if (t.assignments !== null && t.assignments.length !== t.count - current) {
      results.push(result(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Attempted to add ${t.count - current} additional partition(s), but only ${t.assignments.length} assignment(s) were specified.`));
      continue;
    }
    if (req.validateOnly) {
      results.push(result(ErrorCode.NONE));
      continue;
    }
    try {
      await topics.addPartitions(topic, t.count);
      results.push(result(ErrorCode.NONE));
    } catch (err) {
      const e = fail(ctx, err, 'CreatePartitions failed');
      results.push(result(e.code, e.message));
    }
  }
  return { throttleTimeMs: 0, results };
};
