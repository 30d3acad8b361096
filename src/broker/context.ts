// What every request handler can reach: the broker's shared state, plus the
// request's own context (version, client id, connection controls).

import type { Logger } from 'pino';
import type { Membership } from '../cluster/membership.js';
import type { BrokerConfig } from '../config/broker-config.js';
import type { GroupCoordinator } from '../coordinator/group-coordinator.js';
import type { ProducerIdManager } from '../coordinator/producer-ids.js';
import type { RequestContext } from '../network/connection.js';
import type { ApiSpec, RequestOf, ResponseOf } from '../protocol/spec.js';
import type { SchemaRegistry } from '../registry/schema-registry.js';
import type { StreamStore } from '../storage/s3stream.js';
import type { SchemaIdValidator } from './schema-validation.js';
import type { TopicManager } from './topics.js';

export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly clusterId: string;
  readonly membership: Membership;
  readonly topics: TopicManager;
  readonly store: StreamStore;
  readonly producerIds: ProducerIdManager;
  readonly groups: GroupCoordinator;
  readonly schemaRegistry: SchemaRegistry;
  readonly schemaValidator: SchemaIdValidator;
}

export interface HandlerContext extends RequestContext {
  readonly apiVersion: number;
  readonly clientId: string | null;
  readonly broker: BrokerContext;
}

/** Returned by a handler when Kafka sends no response (Produce with acks=0). */
export const NO_RESPONSE = Symbol('no response');

export type Handler<A extends ApiSpec> = (
  request: RequestOf<A>,
  ctx: HandlerContext,
) => Promise<ResponseOf<A> | typeof NO_RESPONSE> | ResponseOf<A>;

/** AclOperation bits (KIP-430) reported as "authorized operations" while Floe has no authorizer. */
const op = (...codes: number[]) => codes.reduce((m, c) => m | (1 << c), 0);
export const TOPIC_AUTHORIZED_OPERATIONS = op(3, 4, 5, 6, 7, 8, 10, 11); // READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
export const CLUSTER_AUTHORIZED_OPERATIONS = op(4, 7, 8, 9, 10, 11, 12); // CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE
export const GROUP_AUTHORIZED_OPERATIONS = op(3, 6, 8); // READ DELETE DESCRIBE
export const OPERATIONS_NOT_REQUESTED = -2147483648;
