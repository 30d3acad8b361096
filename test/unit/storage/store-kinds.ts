// The object stores every storage test runs against: the embedded fs store
// and the S3 store talking to a real S3-compatible server (s3rver).
import { join } from 'node:path';
import { BrokerMetrics } from '../../../src/observability/metrics.js';
import { FsObjectStore } from '../../../src/storage/objectstore/fs.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../../src/storage/objectstore/s3.js';
import type { ObjectStore } from '../../../src/storage/objectstore/types.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';

export interface ObjectStoreKind {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A fresh location for one test (a directory, or a key prefix). */
  location(tempDir: string): string;
  open(location: string, metrics?: BrokerMetrics, options?: Partial<S3ObjectStoreOptions>): ObjectStore;
}

let prefixes = 0;

export function s3Options(server: S3TestServer, prefix: string, options: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions {
  return {
    endpoint: server.endpoint,
    region: 'us-east-1',
    bucket: server.bucket,
    prefix,
    pathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestTimeoutMs: 5000,
    maxAttempts: 3,
    retryBaseMs: 20,
    retryMaxMs: 200,
    multipartThresholdBytes: 32 << 20,
    multipartPartBytes: 16 << 20,
    maxConnections: 16,
    ...options,
  };
}

export function objectStoreKinds(): ObjectStoreKind[] {
  let server: S3TestServer | null = null;
  return [
    {
      name: 'fs',
      start: async () => {},
      stop: async () => {},
      location: (dir) => join(dir, 'objects'),
      open: (location) => new FsObjectStore(location),
    },
    {
      name: 's3',
      start: async () => {
        server = await startS3Server();
      },
      stop: async () => {
        await server?.stop();
        server = null;
      },
      location: () => `test-${process.pid}-${++prefixes}/`,
      open: (location, metrics = new BrokerMetrics(), options = {}) => {
        if (server === null) throw new Error('s3 server not started');
        return new S3ObjectStore(s3Options(server, location, options), metrics);
      },
    },
  ];
}
