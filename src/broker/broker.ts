// A Floe broker: the metadata store, the object store, the storage engine,
// topics, and the Kafka listener, started and stopped in order.

import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { Membership } from '../cluster/membership.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { GroupCoordinator } from '../coordinator/group-coordinator.js';
import { ProducerIdManager } from '../coordinator/producer-ids.js';
import { WorkerMetadataStore } from '../metadata/worker-store.js';
import type { MetadataStore } from '../metadata/types.js';
import { KafkaServer } from '../network/server.js';
import { BrokerMetrics } from '../observability/metrics.js';
import { MetricsServer } from '../observability/metrics-server.js';
import { FsObjectStore } from '../storage/objectstore/fs.js';
import { S3ObjectStore } from '../storage/objectstore/s3.js';
import type { ObjectStore } from '../storage/objectstore/types.js';
import { ConfigError } from '../config/registry.js';
import { SchemaRegistry, type CompatibilityLevel } from '../registry/schema-registry.js';
import type { RegistryServer } from '../registry/server.js';
import type { TableService } from '../table/service.js';
import { Compactor } from '../storage/compaction.js';
import { LogRetention } from '../storage/retention.js';
import { StreamStore } from '../storage/s3stream.js';
import type { BrokerContext } from './context.js';
import { BrokerDispatcher, type RequestMetrics } from './dispatcher.js';
import { SchemaIdValidator } from './schema-validation.js';
import { TopicManager } from './topics.js';

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  readonly context: BrokerContext;
  /** Retention and object garbage collection (runOnce() runs a pass now). */
  readonly retention: LogRetention;
  /** Object compaction (runOnce() runs a pass now). */
  readonly compactor: Compactor;
  /** The metrics endpoint's port, or null when metrics.enable is false. */
  readonly metricsPort: number | null;
  /** The schema registry's port, or null when schema.registry.enable is false. */
  readonly registryPort: number | null;
  /** The Iceberg REST catalog's port, or null when iceberg.catalog.enable is false. */
  readonly catalogPort: number | null;
  /** Table topics: coordinators, the catalog they commit through, and their status. */
  readonly tables: TableService;
  stop(): Promise<void>;
}

export function openObjectStore(config: BrokerConfig, metrics: BrokerMetrics): ObjectStore {
  if (config.string('object.store') === 's3') {
    const bucket = config.optionalString('s3.bucket');
    if (bucket === null || bucket === '') throw new ConfigError('object.store=s3 needs s3.bucket');
    const accessKey = config.optionalString('s3.access.key');
    const secretKey = config.optionalString('s3.secret.key');
    if (accessKey === null || secretKey === null) {
      if (accessKey !== secretKey) throw new ConfigError('s3.access.key and s3.secret.key go together');
    }
    return new S3ObjectStore(
      {
        endpoint: config.optionalString('s3.endpoint'),
        region: config.string('s3.region'),
        bucket,
        prefix: config.string('s3.prefix'),
        pathStyle: config.bool('s3.path.style'),
        credentials: accessKey === null || secretKey === null ? null : { accessKeyId: accessKey, secretAccessKey: secretKey },
        requestTimeoutMs: config.int('s3.request.timeout.ms'),
        maxAttempts: config.int('s3.max.attempts'),
        retryBaseMs: config.int('s3.retry.backoff.ms'),
        retryMaxMs: config.int('s3.retry.backoff.max.ms'),
        multipartThresholdBytes: config.int('s3.multipart.threshold.bytes'),
        multipartPartBytes: config.int('s3.multipart.part.bytes'),
        maxConnections: config.int('s3.max.connections'),
      },
      metrics,
    );
  }
  return new FsObjectStore(join(resolve(config.string('data.dir')), 'objects'), metrics);
}

function openMetadataStore(config: BrokerConfig): MetadataStore {
  // SQLite's commits fsync; a worker thread keeps them off the request event loop.
  return new WorkerMetadataStore(join(resolve(config.string('data.dir')), 'metadata.db'));
}

export async function startBroker(config: BrokerConfig, log: Logger): Promise<RunningBroker> {
  const metrics = new BrokerMetrics({ processMetrics: true, eventLoopResolutionMs: config.int('metrics.event.loop.resolution.ms') });
  const objects = openObjectStore(config, metrics);
  if (objects instanceof FsObjectStore) {
    const removed = await objects.removeTemporaryFiles();
    if (removed > 0) log.info({ removed }, 'removed temp files of object writes cut short by a crash');
  }
  const meta = openMetadataStore(config);
  const store = new StreamStore(
    objects,
    meta,
    {
      flushBytes: config.int('wal.flush.bytes'),
      flushIntervalMs: config.int('wal.flush.interval.ms'),
      maxInflight: config.int('wal.max.inflight.flushes'),
      maxPendingBytes: config.int('wal.max.pending.bytes'),
      logCacheBytes: config.int('log.cache.bytes'),
      blockCacheBytes: config.int('block.cache.bytes'),
      readAheadBytes: config.int('read.ahead.bytes'),
      orphanTimeoutMs: config.int('object.orphan.timeout.ms'),
    },
    log.child({ component: 'storage' }),
    metrics,
  );
  const clusterId = await meta.clusterId();
  const listener = config.listener();
  const advertised = config.advertisedListener();
  const membership = new Membership({ nodeId: config.int('node.id'), host: advertised.host, port: advertised.port, rack: null });
  const topics = new TopicManager(meta, store, config, log.child({ component: 'topics' }));
  await topics.load();
  const groups = new GroupCoordinator(
    meta,
    {
      initialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
      minSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
      maxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
      maxSize: config.int('group.max.size'),
      offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
      offsetsRetentionCheckIntervalMs: config.int('offsets.retention.check.interval.ms'),
      offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
    },
    log.child({ component: 'group-coordinator' }),
  );
  await groups.load();
  const retention = new LogRetention(
    store,
    meta,
    objects,
    () => topics.retentionTargets(),
    {
      checkIntervalMs: config.int('log.retention.check.interval.ms'),
      deleteDelayMs: config.int('log.segment.delete.delay.ms'),
      orphanTimeoutMs: config.int('object.orphan.timeout.ms'),
    },
    log.child({ component: 'retention' }),
    metrics,
  );
  retention.start();
  const compactor = new Compactor(
    store,
    meta,
    objects,
    {
      intervalMs: config.int('compaction.interval.ms'),
      streamObjectBytes: config.int('compaction.stream.object.bytes'),
      smallObjectBytes: config.int('compaction.small.object.bytes'),
      maxObjectBytes: config.int('compaction.max.object.bytes'),
      blockBytes: config.int('compaction.block.bytes'),
    },
    log.child({ component: 'compaction' }),
    metrics,
  );
  if (config.bool('compaction.enable')) compactor.start();
  topics.onDelete((name) => groups.onTopicDeleted(name));
  const schemaRegistry = new SchemaRegistry(
    meta.registry,
    { defaultCompatibility: config.string('schema.registry.compatibility.level') as CompatibilityLevel },
    log.child({ component: 'schema-registry' }),
  );
  const context: BrokerContext = { config, log, clusterId, membership, topics, store, producerIds: new ProducerIdManager(meta), groups, schemaRegistry, schemaValidator: new SchemaIdValidator(schemaRegistry) };
  const server = new KafkaServer(
    new BrokerDispatcher(context, requestMetrics(metrics)),
    {
      maxFrameBytes: config.int('socket.request.max.bytes'),
      maxInflightRequests: config.int('queued.max.requests'),
      idleTimeoutMs: config.int('connections.max.idle.ms'),
      maxPendingWriteBytes: 64 * 1024 * 1024,
    },
    log.child({ component: 'network' }),
  );
  // Loaded on start, not at import: the produce path never touches it.
  const { TableService } = await import('../table/service.js');
  const tables = new TableService(
    config,
    meta.catalog,
    objects,
    schemaRegistry,
    () =>
      topics.all().map((t) => ({
        name: t.name,
        table: t.settings.table,
        log: {
          partitionCount: () => t.partitions.length,
          bounds: (p: number) => {
            const stream = t.partitions[p]?.stream;
            return stream === undefined || stream.closed ? null : { start: stream.startOffset, end: stream.committedEnd };
          },
          read: async (p: number, offset: number, maxBytes: number) => {
            const stream = t.partitions[p]?.stream;
            if (stream === undefined || stream.closed || offset < stream.startOffset || offset >= stream.committedEnd) return [];
            return store.read(stream, offset, maxBytes, true);
          },
        },
      })),
    log.child({ component: 'tables' }),
    metrics,
  );
  await tables.start();
  let metricsServer: MetricsServer | null = null;
  let metricsPort: number | null = null;
  if (config.bool('metrics.enable')) {
    metricsServer = new MetricsServer(metrics, log.child({ component: 'metrics' }), { '/table-topics': () => tables.status() });
    metricsPort = (await metricsServer.listen(config.string('metrics.host'), config.int('metrics.port'))).port;
  }
  let registryServer: RegistryServer | null = null;
  let registryPort: number | null = null;
  if (config.bool('schema.registry.enable')) {
    // Fastify loads only when the registry is served.
    const { RegistryServer } = await import('../registry/server.js');
    registryServer = new RegistryServer(context.schemaRegistry, log.child({ component: 'schema-registry' }), {
      maxRequestBytes: config.int('schema.registry.max.request.bytes'),
      metrics,
    });
    registryPort = (await registryServer.listen(config.string('schema.registry.host'), config.int('schema.registry.port'))).port;
  }
  const address = await server.listen(listener.host, listener.port);
  if (metricsServer !== null) metricsServer.ready = true;
  // Without advertised.listeners, clients are told the listener's address: the
  // port actually bound (for port 0) and, for a wildcard bind, this host's name.
  const wildcard = advertised.host === '' || advertised.host === '0.0.0.0' || advertised.host === '::';
  membership.setLocalEndpoint(wildcard ? hostname() : advertised.host, advertised.port === 0 ? address.port : advertised.port);
  log.info(
    { nodeId: membership.nodeId, clusterId, listener: `${address.address}:${address.port}`, advertised: `${membership.localBroker.host}:${membership.localBroker.port}`, dataDir: resolve(config.string('data.dir')), objectStore: describeObjectStore(config), metrics: metricsPort === null ? null : `${config.string('metrics.host')}:${metricsPort}`, schemaRegistry: registryPort === null ? null : `${config.string('schema.registry.host')}:${registryPort}`, icebergCatalog: tables.catalogPort === null ? null : `${config.string('iceberg.catalog.host')}:${tables.catalogPort}` },
    'Floe broker started',
  );
  let stopped = false;
  return {
    host: address.address,
    port: address.port,
    context,
    retention,
    compactor,
    metricsPort,
    registryPort,
    catalogPort: tables.catalogPort,
    tables,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (metricsServer !== null) metricsServer.ready = false;
      // Commit what the WAL holds while connections are still open, so those
      // produce requests get their acknowledgements, then close connections.
      server.stopListening();
      await registryServer?.close();
      await tables.stop();
      // Waiting JoinGroup/SyncGroup requests learn the coordinator is going away.
      groups.shutdown();
      await retention.stop();
      await compactor.stop();
      await store.drain();
      await new Promise((r) => setTimeout(r, 50));
      await server.close();
      store.closeAll();
      await objects.close();
      await meta.close();
      await metricsServer?.close();
      log.info('Floe broker stopped');
    },
  };
}

function describeObjectStore(config: BrokerConfig): string {
  if (config.string('object.store') !== 's3') return `fs:${join(resolve(config.string('data.dir')), 'objects')}`;
  const endpoint = config.optionalString('s3.endpoint');
  return `s3://${config.optionalString('s3.bucket')}/${config.string('s3.prefix')}${endpoint === null ? '' : ` at ${endpoint}`}`;
}

/** Kafka request counts and latencies by API, with the labelled series looked up once per API. */
function requestMetrics(metrics: BrokerMetrics): RequestMetrics {
  const byApi = new Map<number, { count: ReturnType<typeof metrics.requests.labels>; seconds: ReturnType<typeof metrics.requestSeconds.labels> }>();
  return {
    onRequest(api, _version, durationMs) {
      let m = byApi.get(api.apiKey);
      if (m === undefined) {
        m = { count: metrics.requests.labels(api.name), seconds: metrics.requestSeconds.labels(api.name) };
        byApi.set(api.apiKey, m);
      }
      m.count.inc();
      m.seconds.observe(durationMs / 1000);
    },
  };
}
