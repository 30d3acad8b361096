// ApiVersions: what Floe serves, advertised as Kafka 4.x advertises it.
import { ErrorCode } from '../../protocol/errors.js';
import { ALL_APIS, type ApiVersions } from '../../protocol/messages/index.js';
import type { ResponseOf } from '../../protocol/spec.js';
import type { Handler } from '../context.js';

// KIP-511: client software name and version must match this pattern from v3.
const SOFTWARE = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export function apiVersionsBody(errorCode: number): ResponseOf<typeof ApiVersions> {
  return {
    errorCode,
    apiKeys: ALL_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.advertisedMinVersion ?? a.minVersion, maxVersion: a.maxVersion })),
    throttleTimeMs: 0,
  };
}

export const handleApiVersions: Handler<typeof ApiVersions> = (req, ctx) => {
  if (ctx.apiVersion >= 3 && (!SOFTWARE.test(req.clientSoftwareName) || !SOFTWARE.test(req.clientSoftwareVersion))) {
    return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys: [], throttleTimeMs: 0 };
  }
  return apiVersionsBody(ErrorCode.NONE);
};
