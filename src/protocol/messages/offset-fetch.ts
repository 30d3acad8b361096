// OffsetFetch (key 9). Null topics (v2+) asks for every committed partition;
// v8 asks for several groups at once (KIP-709).
import { defineApi, type MessageSpec } from '../spec.js';

export const OffsetFetchRequest = {
  apiKey: 9,
  type: 'request',
  name: 'OffsetFetchRequest',
  validVersions: '1-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'GroupId', type: 'string', versions: '0-7' },
    {
      name: 'Topics',
      type: '[]OffsetFetchRequestTopic',
      versions: '0-7',
      nullableVersions: '2-7',
      fields: [
        { name: 'Name', type: 'string', versions: '0-7' },
        { name: 'PartitionIndexes', type: '[]int32', versions: '0-7' },
      ],
    },
    {
      name: 'Groups',
      type: '[]OffsetFetchRequestGroup',
      versions: '8+',
      fields: [
        { name: 'GroupId', type: 'string', versions: '8+' },
        { name: 'MemberId', type: 'string', versions: '9+', nullableVersions: '9+', default: 'null' },
        { name: 'MemberEpoch', type: 'int32', versions: '9+', default: -1 },
        {
          name: 'Topics',
          type: '[]OffsetFetchRequestTopics',
          versions: '8+',
          nullableVersions: '8+',
          fields: [
            { name: 'Name', type: 'string', versions: '8+' },
            { name: 'PartitionIndexes', type: '[]int32', versions: '8+' },
          ],
        },
      ],
    },
    { name: 'RequireStable', type: 'bool', versions: '7+', default: false },
  ],
} as const satisfies MessageSpec;

const partitionFields = (v: string) =>
  [
    { name: 'PartitionIndex', type: 'int32', versions: v },
    { name: 'CommittedOffset', type: 'int64', versions: v },
    { name: 'CommittedLeaderEpoch', type: 'int32', versions: v === '0-7' ? '5-7' : v, default: -1 },
    { name: 'Metadata', type: 'string', versions: v, nullableVersions: v },
    { name: 'ErrorCode', type: 'int16', versions: v },
  ] as const;

export const OffsetFetchResponse = {
  apiKey: 9,
  type: 'response',
  name: 'OffsetFetchResponse',
  validVersions: '1-9',
  flexibleVersions: '6+',
  fields: [
    { name: 'ThrottleTimeMs', type: 'int32', versions: '3+' },
    {
      name: 'Topics',
      type: '[]OffsetFetchResponseTopic',
      versions: '0-7',
      fields: [
        { name: 'Name', type: 'string', versions: '0-7' },
        { name: 'Partitions', type: '[]OffsetFetchResponsePartition', versions: '0-7', fields: partitionFields('0-7') },
      ],
    },
    { name: 'ErrorCode', type: 'int16', versions: '2-7' },
    {
      name: 'Groups',
      type: '[]OffsetFetchResponseGroup',
      versions: '8+',
      fields: [
        { name: 'GroupId', type: 'string', versions: '8+' },
        {
          name: 'Topics',
          type: '[]OffsetFetchResponseTopics',
          versions: '8+',
          fields: [
            { name: 'Name', type: 'string', versions: '8+' },
            { name: 'Partitions', type: '[]OffsetFetchResponsePartitions', versions: '8+', fields: partitionFields('8+') },
          ],
        },
        { name: 'ErrorCode', type: 'int16', versions: '8+' },
      ],
    },
  ],
} as const satisfies MessageSpec;

export const OffsetFetch = defineApi(OffsetFetchRequest, OffsetFetchResponse);
