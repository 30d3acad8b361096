// Request header v0-v2 and response header v0-v1 (Kafka's RequestHeader.json and
// ResponseHeader.json). ClientId is never a compact string, even in header v2.
import type { MessageSpec } from '../spec.js';

export const RequestHeader = {
  apiKey: -1,
  type: 'header',
  name: 'RequestHeader',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'RequestApiKey', type: 'int16', versions: '0+' },
    { name: 'RequestApiVersion', type: 'int16', versions: '0+' },
    { name: 'CorrelationId', type: 'int32', versions: '0+' },
    { name: 'ClientId', type: 'string', versions: '1+', nullableVersions: '1+', flexibleVersions: 'none', default: 'null' },
  ],
} as const satisfies MessageSpec;

export const ResponseHeader = {
  apiKey: -1,
  type: 'header',
  name: 'ResponseHeader',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [{ name: 'CorrelationId', type: 'int32', versions: '0+' }],
} as const satisfies MessageSpec;
