// Table topics in a broker: the built-in REST catalog server, the catalog the
// coordinators commit through, the conversion worker pool, and one
// TableTopicCoordinator per topic with automq.table.topic.enable=true,
// started, restarted on a settings change and stopped as topics change.

import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import { ConfigError } from '../config/registry.js';
import type { TableTopicSettings } from '../config/table-topic-config.js';
import type { CatalogStore } from '../metadata/catalog-types.js';
import type { BrokerMetrics } from '../observability/metrics.js';
import type { SchemaRegistry } from '../registry/schema-registry.js';
import { FsObjectStore } from '../storage/objectstore/fs.js';
import type { ObjectStore } from '../storage/objectstore/types.js';
import type { Catalog } from './catalog/catalog.js';
import { RestCatalog } from './catalog/rest-client.js';
import type { RestCatalogServer } from './catalog/rest-server.js';
import { StoreCatalog } from './catalog/store-catalog.js';
import { ConvertPool, type ConvertPriority } from './convert/pool.js';
import type { PartitionStatus, TableTopicCoordinator, TopicLog } from './coordinator.js';
import { FileIO } from './file-io.js';
import { httpSchemaSource, localSchemaSource } from './schema-source.js';

/** What the service needs to know of one topic. */
export interface TableTopicSource {
  readonly name: string;
  readonly table: TableTopicSettings;
  readonly log: TopicLog;
}

export interface TableTopicStatus {
  readonly topic: string;
  readonly table: string;
  readonly lastError: string | null;
  readonly partitions: PartitionStatus[];
}

const RECONCILE_MS = 1000;

export class TableService {
  private readonly coordinators = new Map<string, { settings: string; coordinator: TableTopicCoordinator }>();
  private pool: ConvertPool | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> | null = null;
  private server: RestCatalogServer | null = null;
  catalogPort: number | null = null;
  readonly builtIn: StoreCatalog;
  readonly catalog: Catalog;
  readonly io: FileIO;

  constructor(
    private readonly config: BrokerConfig,
    store: CatalogStore,
    objects: ObjectStore,
    private readonly registry: SchemaRegistry,
    private readonly topics: () => Iterable<TableTopicSource>,
    private readonly log: Logger,
    private readonly metrics: BrokerMetrics,
  ) {
    this.io = new FileIO(objects, objectStoreUri(config, objects));
    this.builtIn = new StoreCatalog(store, this.io, warehouseUri(config, this.io));
    this.catalog = this.commitCatalog();
  }

  private commitCatalog(): Catalog {
    const type = this.config.optionalString('automq.table.topic.catalog.type');
    if (type === null) return this.builtIn;
    if (type === 'rest') {
      const uri = this.config.optionalString('automq.table.topic.catalog.uri');
      if (uri === null) throw new ConfigError('automq.table.topic.catalog.type=rest needs automq.table.topic.catalog.uri');
      return new RestCatalog({
        uri,
        token: this.config.optionalString('automq.table.topic.catalog.token'),
        credential: this.config.optionalString('automq.table.topic.catalog.credential'),
        oauth2ServerUri: this.config.optionalString('automq.table.topic.catalog.oauth2.server.uri'),
        warehouse: this.config.optionalString('automq.table.topic.catalog.warehouse'),
      });
    }
    throw new ConfigError(`automq.table.topic.catalog.type=${type} is not available in this build; use rest (any Iceberg REST catalog) or leave it unset for the built-in catalog`);
  }

  async start(): Promise<void> {
    if (this.config.bool('iceberg.catalog.enable')) {
      const { RestCatalogServer } = await import('./catalog/rest-server.js');
      this.server = new RestCatalogServer(this.builtIn, this.log.child({ component: 'iceberg-catalog' }), {
        token: this.config.optionalString('iceberg.catalog.token'),
        credential: this.config.optionalString('iceberg.catalog.credential'),
        maxRequestBytes: 16 * 1024 * 1024,
      });
      this.catalogPort = (await this.server.listen(this.config.string('iceberg.catalog.host'), this.config.int('iceberg.catalog.port'))).port;
    }
    this.metrics.onCollect(() => {
      for (const { coordinator } of this.coordinators.values()) {
        const status = coordinator.status();
        this.metrics.tableStoppedPartitions.labels(coordinator.topic).set(status.filter((p) => p.error !== null).length);
        this.metrics.tableLagRecords.labels(coordinator.topic).set(coordinator.lag());
      }
    });
    const tick = () => {
      this.reconciling = this.reconcile()
        .catch((err: unknown) => this.log.error({ err }, 'table topic reconciliation failed'))
        .finally(() => {
          this.reconciling = null;
          if (this.timer !== null) this.timer = setTimeout(tick, RECONCILE_MS);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Starts, restarts (on a settings change) and stops coordinators to match the topics. */
  async reconcile(): Promise<void> {
    const wanted = new Map<string, TableTopicSource>();
    for (const t of this.topics()) if (t.table.enabled) wanted.set(t.name, t);
    for (const [name, c] of this.coordinators) {
      const t = wanted.get(name);
      if (t === undefined || JSON.stringify(t.table) !== c.settings) {
        this.coordinators.delete(name);
        await c.coordinator.stop();
      }
    }
    for (const [name, t] of wanted) {
      if (this.coordinators.has(name)) continue;
      // The coordinator brings avsc and the Iceberg writers: loaded once a table topic exists, never on the produce path.
      const { TableTopicCoordinator } = await import('./coordinator.js');
      this.pool ??= new ConvertPool(this.config.int('table.topic.convert.threads'), this.config.string('table.topic.convert.priority') as ConvertPriority);
      const url = this.config.optionalString('automq.table.topic.schema.registry.url');
      const coordinator = new TableTopicCoordinator(name, t.table, t.log, {
        catalog: this.catalog,
        io: this.io,
        pool: this.pool,
        schemas: url === null ? localSchemaSource(this.registry) : httpSchemaSource(url),
        log: this.log.child({ component: 'table-topic', topic: name }),
        targetFileBytes: this.config.int('table.topic.target.file.bytes'),
        onCommit: (s) => {
          this.metrics.tableRecords.labels(s.topic).inc(s.records);
          this.metrics.tableDeadLetters.labels(s.topic).inc(s.deadLetters);
          this.metrics.tableCommits.labels(s.topic, 'committed').inc();
          this.metrics.tableCommitSeconds.observe(s.seconds);
        },
        onFailure: (topic) => this.metrics.tableCommits.labels(topic, 'failed').inc(),
        onExpire: (s) => {
          this.metrics.tableExpiredSnapshots.labels(s.topic).inc(s.snapshots);
          this.metrics.tableDeletedFiles.labels(s.topic).inc(s.files);
        },
      });
      this.coordinators.set(name, { settings: JSON.stringify(t.table), coordinator });
      coordinator.start();
      this.log.info({ topic: name, table: [...coordinator.identifier.namespace, coordinator.identifier.name].join('.') }, 'table topic started');
    }
  }

  status(): TableTopicStatus[] {
    return [...this.coordinators.values()].map(({ coordinator: c }) => ({
      topic: c.topic,
      table: [...c.identifier.namespace, c.identifier.name].join('.'),
      lastError: c.lastCommitError,
      partitions: c.status(),
    }));
  }

  coordinator(topic: string): TableTopicCoordinator | undefined {
    return this.coordinators.get(topic)?.coordinator;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.reconciling;
    await Promise.all([...this.coordinators.values()].map((c) => c.coordinator.stop()));
    this.coordinators.clear();
    await this.server?.close();
    await this.pool?.close();
  }
}

/** The URI of object key '' in the broker's object store, as query engines name files. */
export function objectStoreUri(config: BrokerConfig, objects: ObjectStore): string {
  if (objects instanceof FsObjectStore) return `${pathToFileURL(objects.root).href.replace(/\/$/, '')}/`;
  return `s3://${config.optionalString('s3.bucket')}/${config.string('s3.prefix')}`;
}

function warehouseUri(config: BrokerConfig, io: FileIO): string {
  const w = config.optionalString('automq.table.topic.catalog.warehouse') ?? 'iceberg/';
  const uri = w.includes('://') ? w : io.uriOf(w);
  if (!io.owns(uri)) throw new ConfigError(`automq.table.topic.catalog.warehouse ${w} must be inside the broker's object store (${io.baseUri})`);
  return uri.endsWith('/') ? uri : `${uri}/`;
}
