// DescribeCluster (KIP-700): the admin client's list of brokers.
import { ErrorCode } from '../../protocol/errors.js';
import type { DescribeCluster } from '../../protocol/messages/index.js';
import { CLUSTER_AUTHORIZED_OPERATIONS, OPERATIONS_NOT_REQUESTED, type Handler } from '../context.js';

const BROKERS = 1;
const CONTROLLERS = 2;

export const handleDescribeCluster: Handler<typeof DescribeCluster> = (req, ctx) => {
  const { membership, clusterId } = ctx.broker;
  const base = { throttleTimeMs: 0, endpointType: req.endpointType, clusterId, controllerId: membership.controllerId() };
  if (req.endpointType === CONTROLLERS) {
    return {
      ...base,
      errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
      errorMessage: 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
    };
  }
  if (req.endpointType !== BROKERS) {
    return { ...base, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `Unsupported endpoint type ${req.endpointType}` };
  }
  return {
    ...base,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    brokers: membership.liveBrokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_AUTHORIZED_OPERATIONS : OPERATIONS_NOT_REQUESTED,
  };
};
