// Every API Floe serves, keyed by API key. ApiVersions advertises exactly this table.
import type { ApiSpec } from '../spec.js';
import { AlterConfigs, IncrementalAlterConfigs } from './alter-configs.js';
import { DeleteGroups } from './delete-groups.js';
import { DescribeGroups } from './describe-groups.js';
import { FindCoordinator } from './find-coordinator.js';
import { Heartbeat } from './heartbeat.js';
import { JoinGroup } from './join-group.js';
import { LeaveGroup } from './leave-group.js';
import { ListGroups } from './list-groups.js';
import { OffsetCommit } from './offset-commit.js';
import { OffsetDelete } from './offset-delete.js';
import { OffsetFetch } from './offset-fetch.js';
import { SyncGroup } from './sync-group.js';
import { ApiVersions } from './api-versions.js';
import { CreatePartitions } from './create-partitions.js';
import { CreateTopics } from './create-topics.js';
import { DeleteRecords } from './delete-records.js';
import { DeleteTopics } from './delete-topics.js';
import { DescribeCluster } from './describe-cluster.js';
import { DescribeConfigs } from './describe-configs.js';
import { Fetch } from './fetch.js';
import { InitProducerId } from './init-producer-id.js';
import { ListOffsets } from './list-offsets.js';
import { Metadata } from './metadata.js';
import { OffsetForLeaderEpoch } from './offset-for-leader-epoch.js';
import { Produce } from './produce.js';

export {
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetDelete,
  OffsetFetch,
  SyncGroup,
  AlterConfigs,
  ApiVersions,
  CreatePartitions,
  CreateTopics,
  DeleteRecords,
  DeleteTopics,
  DescribeCluster,
  DescribeConfigs,
  Fetch,
  IncrementalAlterConfigs,
  InitProducerId,
  ListOffsets,
  Metadata,
  OffsetForLeaderEpoch,
  Produce,
};

export const ALL_APIS: readonly ApiSpec[] = [
  Produce,
  Fetch,
  ListOffsets,
  Metadata,
  ApiVersions,
  CreateTopics,
  DeleteTopics,
  DeleteRecords,
  InitProducerId,
  OffsetForLeaderEpoch,
  DescribeConfigs,
  AlterConfigs,
  CreatePartitions,
  IncrementalAlterConfigs,
  DescribeCluster,
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetDelete,
  OffsetFetch,
  SyncGroup,
].sort((a, b) => a.apiKey - b.apiKey);

export const API_BY_KEY: ReadonlyMap<number, ApiSpec> = new Map(ALL_APIS.map((a) => [a.apiKey, a]));
