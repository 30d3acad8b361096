// Metadata: brokers, the controller, and topics with their partitions' leaders
// and leader epochs. Unknown topics are auto-created when both the broker
// (auto.create.topics.enable) and the client (v4+: allow_auto_topic_creation) allow it.
import { ErrorCode } from '../../protocol/errors.js';
import type { Metadata } from '../../protocol/messages/index.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import type { ResponseOf } from '../../protocol/spec.js';
import {
  CLUSTER_AUTHORIZED_OPERATIONS,
  OPERATIONS_NOT_REQUESTED,
  TOPIC_AUTHORIZED_OPERATIONS,
  type Handler,
  type HandlerContext,
} from '../context.js';
import { toWireError } from '../errors.js';
import { topicNameProblem } from '../topic-name.js';
import type { Topic } from '../topics.js';

type TopicMetadata = NonNullable<ResponseOf<typeof Metadata>['topics']>[number];

export function topicMetadata(topic: Topic, ctx: HandlerContext, includeOps: boolean): TopicMetadata {
  const { membership } = ctx.broker;
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.id,
    isInternal: topic.isInternal,
    partitions: topic.partitions.map((p) => {
      const leader = membership.leaderOf(p.stream.id);
      return {
        errorCode: ErrorCode.NONE,
        partitionIndex: p.index,
        leaderId: leader,
        leaderEpoch: p.stream.epoch,
        replicaNodes: [leader],
        isrNodes: [leader],
        offlineReplicas: [],
      };
    }),
    topicAuthorizedOperations: includeOps ? TOPIC_AUTHORIZED_OPERATIONS : OPERATIONS_NOT_REQUESTED,
  };
}

export const handleMetadata: Handler<typeof Metadata> = async (req, ctx) => {
  const { topics, membership, config, clusterId } = ctx.broker;
  const v = ctx.apiVersion;
  const includeOps = req.includeTopicAuthorizedOperations;
  const out: TopicMetadata[] = [];
  const all = req.topics === null || (v === 0 && req.topics.length === 0);
  if (all) {
    for (const t of topics.all()) out.push(topicMetadata(t, ctx, includeOps));
  } else {
    const allowAuto = (v < 4 || req.allowAutoTopicCreation) && config.bool('auto.create.topics.enable');
    const seen = new Set<string>();
    for (const t of req.topics ?? []) {
      const byId = t.name === null || (t.name === '' && t.topicId !== ZERO_UUID);
      const key = byId ? `id:${t.topicId}` : `name:${t.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (byId) {
        const topic = topics.getById(t.topicId);
        out.push(
          topic !== undefined
            ? topicMetadata(topic, ctx, includeOps)
            : { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: v >= 12 ? null : '', topicId: t.topicId, partitions: [] },
        );
        continue;
      }
      const name = t.name as string;
      const existing = topics.get(name);
      if (existing !== undefined) {
        out.push(topicMetadata(existing, ctx, includeOps));
        continue;
      }
      const problem = topicNameProblem(name);
      if (problem !== undefined) {
        out.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] });
      } else if (!allowAuto) {
        out.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] });
      } else {
        try {
          out.push(topicMetadata(await topics.autoCreate(name), ctx, includeOps));
        } catch (err) {
          const e = toWireError(err);
          if (!e.expected) ctx.broker.log.error({ err, topic: name }, 'auto-creating a topic failed');
          out.push({ errorCode: e.code, name, partitions: [] });
        }
      }
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: membership.liveBrokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterId,
    controllerId: membership.controllerId(),
    topics: out,
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_AUTHORIZED_OPERATIONS : OPERATIONS_NOT_REQUESTED,
  };
};
