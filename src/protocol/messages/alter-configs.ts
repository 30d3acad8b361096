// AlterConfigs (key 33) replaces a resource's whole dynamic config;
// IncrementalAlterConfigs (key 44) sets, deletes, appends or subtracts keys.
import { defineApi, type MessageSpec } from '../spec.js';

export const AlterConfigsRequest = {
  apiKey: 33,
  type: 'request',
  name: 'AlterConfigsRequest',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    {
      name: 'Resources',
      type: '[]AlterConfigsResource',
      versions: '0+',
      fields: [
        { name: 'ResourceType', type: 'int8', versions: '0+' },
        { name: 'ResourceName', type: 'string', versions: '0+' },
        {
          name: 'Configs',
          type: '[]AlterableConfig',
          versions: '0+',
          fields: [
            { name: 'Name', type: 'string', versions: '0+' },
            { name: 'Value', type: 'string', versions: '0+', nullableVersions: '0+' },
          ],
        },
      ],
    },
    { name: 'ValidateOnly', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageSpec;

const AlterConfigsResponses = {
  name: 'Responses',
  type: '[]AlterConfigsResourceResponse',
  versions: '0+',
  fields: [
    { name: 'ErrorCode', type: 'int16', versions: '0+' },
    { name: 'ErrorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
    { name: 'ResourceType', type: 'int8', versions: '0+' },
    { name: 'ResourceName', type: 'string', versions: '0+' },
  ],
} as const;

export const AlterConfigsResponse = {
  apiKey: 33,
  type: 'response',
  name: 'AlterConfigsResponse',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [{ name: 'ThrottleTimeMs', type: 'int32', versions: '0+' }, AlterConfigsResponses],
} as const satisfies MessageSpec;

export const AlterConfigs = defineApi(AlterConfigsRequest, AlterConfigsResponse);

export const IncrementalAlterConfigsRequest = {
  apiKey: 44,
  type: 'request',
  name: 'IncrementalAlterConfigsRequest',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    {
      name: 'Resources',
      type: '[]AlterConfigsResource',
      versions: '0+',
      fields: [
        { name: 'ResourceType', type: 'int8', versions: '0+' },
        { name: 'ResourceName', type: 'string', versions: '0+' },
        {
          name: 'Configs',
          type: '[]AlterableConfig',
          versions: '0+',
          fields: [
            { name: 'Name', type: 'string', versions: '0+' },
            { name: 'ConfigOperation', type: 'int8', versions: '0+' },
            { name: 'Value', type: 'string', versions: '0+', nullableVersions: '0+' },
          ],
        },
      ],
    },
    { name: 'ValidateOnly', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageSpec;

export const IncrementalAlterConfigsResponse = {
  apiKey: 44,
  type: 'response',
  name: 'IncrementalAlterConfigsResponse',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [{ name: 'ThrottleTimeMs', type: 'int32', versions: '0+' }, AlterConfigsResponses],
} as const satisfies MessageSpec;

export const IncrementalAlterConfigs = defineApi(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse);
