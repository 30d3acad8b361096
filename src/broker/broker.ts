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
import { FsObjectStore } from '../storage/objectstore/fs.js';
import type { ObjectStore } from '../storage/objectstore/types.js';
import { StreamStore } from '../storage/s3stream.js';
import type { BrokerContext } from './context.js';
import { BrokerDispatcher } from './dispatcher.js';
import { TopicManager } from './topics.js';

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  readonly context: BrokerContext;
  stop(): Promise<void>;
}

function openObjectStore(config: BrokerConfig): ObjectStore {
  return new FsObjectStore(join(resolve(config.string('data.dir')), 'objects'));
}

function openMetadataStore(config: BrokerConfig): MetadataStore {
  // SQLite's commits fsync; a worker thread keeps them off the request event loop.
  return new WorkerMetadataStore(join(resolve(config.string('data.dir')), 'metadata.db'));
}

export async function startBroker(config: BrokerConfig, log: Logger): Promise<RunningBroker> {
  const meta = openMetadataStore(config);
  const objects = openObjectStore(config);
  const store = new StreamStore(
    objects,
    meta,
    {
      flushBytes: config.int('wal.flush.bytes'),
      flushIntervalMs: config.int('wal.flush.interval.ms'),
      maxInflight: config.int('wal.max.inflight.flushes'),
      maxPendingBytes: config.int('wal.max.pending.bytes'),
      logCacheBytes: config.int('log.cache.bytes'),
    },
    log.child({ component: 'storage' }),
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
  topics.onDelete((name) => groups.onTopicDeleted(name));
  const context: BrokerContext = { config, log, clusterId, membership, topics, store, producerIds: new ProducerIdManager(meta), groups };
  const server = new KafkaServer(
    new BrokerDispatcher(context),
    {
      maxFrameBytes: config.int('socket.request.max.bytes'),
      maxInflightRequests: config.int('queued.max.requests'),
      idleTimeoutMs: config.int('connections.max.idle.ms'),
      maxPendingWriteBytes: 64 * 1024 * 1024,
    },
    log.child({ component: 'network' }),
  );
  const address = await server.listen(listener.host, listener.port);
  // Without advertised.listeners, clients are told the listener's address: the
  // port actually bound (for port 0) and, for a wildcard bind, this host's name.
  const wildcard = advertised.host === '' || advertised.host === '0.0.0.0' || advertised.host === '::';
  membership.setLocalEndpoint(wildcard ? hostname() : advertised.host, advertised.port === 0 ? address.port : advertised.port);
  log.info(
    { nodeId: membership.nodeId, clusterId, listener: `${address.address}:${address.port}`, advertised: `${membership.localBroker.host}:${membership.localBroker.port}`, dataDir: resolve(config.string('data.dir')) },
    'Floe broker started',
  );
  let stopped = false;
  return {
    host: address.address,
    port: address.port,
    context,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Commit what the WAL holds while connections are still open, so those
      // produce requests get their acknowledgements, then close connections.
      server.stopListening();
      // Waiting JoinGroup/SyncGroup requests learn the coordinator is going away.
      groups.shutdown();
      await store.drain();
      await new Promise((r) => setTimeout(r, 50));
      await server.close();
      store.closeAll();
      await objects.close();
      await meta.close();
      log.info('Floe broker stopped');
    },
  };
}
