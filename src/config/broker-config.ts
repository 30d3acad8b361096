// Broker settings: Kafka's names where Kafka has one. Sources, lowest to
// highest precedence: defaults, a server.properties file, FLOE_<NAME>
// environment variables, then command-line flags and --override key=value.

import { readFileSync } from 'node:fs';
import {
  atLeast,
  between,
  ConfigError,
  define,
  formatValue,
  oneOf,
  parseValue,
  type ConfigDef,
  type ConfigValue,
} from './registry.js';
import { TOPIC_CONFIGS } from './topic-config.js';

const listenerList = (v: ConfigValue): string | undefined => {
  for (const l of v as readonly string[]) {
    try {
      parseListener(l);
    } catch (err) {
      return (err as Error).message;
    }
  }
  return undefined;
};

const OWN_BROKER_CONFIGS: readonly ConfigDef[] = [
  define({ name: 'node.id', type: 'int', default: 1, validate: atLeast(0), doc: 'This broker\'s id, as clients see it in Metadata.' }),
  define({
    name: 'listeners',
    type: 'list',
    default: ['PLAINTEXT://127.0.0.1:9092'],
    validate: listenerList,
    doc: 'Where the Kafka listener binds (PLAINTEXT://host:port; port 0 picks a free port).',
  }),
  define({
    name: 'advertised.listeners',
    type: 'list',
    default: null,
    validate: listenerList,
    doc: 'What clients are told to connect to; defaults to listeners.',
  }),
  define({ name: 'data.dir', type: 'string', default: './data', doc: 'Directory of the embedded object store (objects/) and SQLite metadata store (metadata.db).' }),
  define({ name: 'object.store', type: 'string', default: 'fs', validate: oneOf('fs', 's3'), doc: 'Object store: fs (a local directory under data.dir) or s3 (S3 or an S3-compatible store, see s3.*).' }),
  define({ name: 's3.endpoint', type: 'string', default: null, doc: 'S3 endpoint URL for S3-compatible stores (MinIO, R2, GCS); unset for AWS S3.' }),
  define({ name: 's3.region', type: 'string', default: 'us-east-1', doc: 'S3 region (R2: auto; GCS: auto or the bucket\'s region).' }),
  define({ name: 's3.bucket', type: 'string', default: null, doc: 'S3 bucket that holds the objects; required with object.store=s3.' }),
  define({ name: 's3.prefix', type: 'string', default: '', validate: (v) => (v === '' || String(v).endsWith('/') ? undefined : 'must be empty or end with /'), doc: 'Key prefix for everything this cluster writes (empty or ending in /).' }),
  define({ name: 's3.path.style', type: 'boolean', default: false, doc: 'Path-style requests (endpoint/bucket/key), as MinIO and most S3-compatible servers need.' }),
  define({ name: 's3.access.key', type: 'string', default: null, doc: 'Access key id; when unset, the AWS SDK\'s default credential chain (env, profile, instance role).' }),
  define({ name: 's3.secret.key', type: 'password', default: null, sensitive: true, doc: 'Secret access key that goes with s3.access.key.' }),
  define({ name: 's3.request.timeout.ms', type: 'int', default: 10000, validate: atLeast(1), doc: 'Deadline of one S3 request attempt.' }),
  define({ name: 's3.max.attempts', type: 'int', default: 6, validate: atLeast(1), doc: 'Attempts per S3 request (5xx, SlowDown, timeouts and resets are retried with jittered exponential backoff).' }),
  define({ name: 's3.retry.backoff.ms', type: 'int', default: 100, validate: atLeast(1), doc: 'First retry backoff ceiling; it doubles per attempt up to s3.retry.backoff.max.ms.' }),
  define({ name: 's3.retry.backoff.max.ms', type: 'int', default: 2000, validate: atLeast(1), doc: 'Largest backoff between two attempts of one S3 request.' }),
  define({ name: 's3.multipart.threshold.bytes', type: 'long', default: 32 * 1024 * 1024, validate: atLeast(5 * 1024 * 1024), doc: 'Objects larger than this are uploaded in parts.' }),
  define({ name: 's3.multipart.part.bytes', type: 'long', default: 16 * 1024 * 1024, validate: atLeast(5 * 1024 * 1024), doc: 'Size of each part of a multipart upload (S3\'s minimum is 5 MiB).' }),
  define({ name: 's3.max.connections', type: 'int', default: 64, validate: atLeast(1), doc: 'Keep-alive connections to S3 at most, per pool (uploads and reads each have their own).' }),
  define({ name: 'metadata.store', type: 'string', default: 'sqlite', validate: oneOf('sqlite'), doc: 'Metadata store: sqlite (data.dir/metadata.db).' }),
  define({ name: 'num.partitions', type: 'int', default: 1, validate: atLeast(1), doc: 'Partitions of an auto-created topic, or of CreateTopics with -1.' }),
  define({ name: 'default.replication.factor', type: 'int', default: 1, validate: atLeast(1), doc: 'Replication factor recorded for topics created without one.' }),
  define({ name: 'auto.create.topics.enable', type: 'boolean', default: true, doc: 'Create unknown topics on Metadata (when the client allows) and Produce.' }),
  define({ name: 'delete.topic.enable', type: 'boolean', default: true, doc: 'Allow DeleteTopics (TOPIC_DELETION_DISABLED otherwise).' }),
  define({ name: 'socket.request.max.bytes', type: 'int', default: 104857600, validate: atLeast(1), doc: 'Largest request frame; larger frames close the connection.' }),
  define({ name: 'connections.max.idle.ms', type: 'long', default: 600000, validate: atLeast(0), doc: 'Idle connections are closed after this long.' }),
  define({ name: 'queued.max.requests', type: 'int', default: 500, validate: atLeast(1), doc: 'Requests in progress per connection before the broker stops reading from it.' }),
  define({ name: 'transaction.max.timeout.ms', type: 'int', default: 900000, validate: atLeast(1), doc: 'Largest transaction timeout InitProducerId accepts.' }),
  define({ name: 'group.initial.rebalance.delay.ms', type: 'int', default: 3000, validate: atLeast(0), doc: 'How long the first rebalance of an empty group waits for more members to join.' }),
  define({ name: 'group.min.session.timeout.ms', type: 'int', default: 6000, validate: atLeast(1), doc: 'Smallest session timeout a group member may ask for.' }),
  define({ name: 'group.max.session.timeout.ms', type: 'int', default: 1800000, validate: atLeast(1), doc: 'Largest session timeout a group member may ask for.' }),
  define({ name: 'group.max.size', type: 'int', default: 2147483647, validate: atLeast(1), doc: 'Most members one consumer group may have.' }),
  define({ name: 'offsets.retention.minutes', type: 'int', default: 10080, validate: atLeast(1), doc: 'Committed offsets of a group expire this long after the group became empty.' }),
  define({ name: 'offsets.retention.check.interval.ms', type: 'long', default: 600000, validate: atLeast(1), doc: 'How often expired committed offsets are removed.' }),
  define({ name: 'offset.metadata.max.bytes', type: 'int', default: 4096, validate: atLeast(0), doc: 'Largest metadata string an offset commit may carry.' }),
  // On S3 every flush is a PUT, billed per request, and an object's latency
  // barely depends on its size; so the S3 defaults trade latency for objects
  // of ~10 MiB under steady load (≤ 100 PUTs per GB at 40 MB/s and more).
  define({
    name: 'wal.flush.bytes',
    type: 'int',
    default: 4 * 1024 * 1024,
    storeDefaults: { s3: 16 * 1024 * 1024 },
    validate: atLeast(1),
    doc: 'Flush the write-ahead buffer to an object once it holds this many bytes.',
  }),
  define({
    name: 'wal.flush.interval.ms',
    type: 'int',
    default: 5,
    storeDefaults: { s3: 250 },
    validate: atLeast(0),
    doc: 'Flush the write-ahead buffer at most this long after its first batch arrived (on S3: fewer, larger objects for a longer wait).',
  }),
  define({ name: 'wal.max.inflight.flushes', type: 'int', default: 16, validate: atLeast(1), doc: 'Object uploads in flight at once; commits stay in order.' }),
  define({ name: 'wal.max.pending.bytes', type: 'long', default: 256 * 1024 * 1024, validate: atLeast(1), doc: 'Unacknowledged bytes the broker holds before produce requests wait.' }),
  define({ name: 'log.cache.bytes', type: 'long', default: 256 * 1024 * 1024, validate: atLeast(0), doc: 'Memory for recently committed batches served to tail consumers.' }),
  define({ name: 'metrics.enable', type: 'boolean', default: true, doc: 'Serve Prometheus metrics at /metrics, with /healthz and /readyz, on metrics.host:metrics.port.' }),
  define({ name: 'metrics.host', type: 'string', default: '127.0.0.1', doc: 'Address the metrics endpoint binds to.' }),
  define({ name: 'metrics.port', type: 'int', default: 9464, validate: atLeast(0), doc: 'Port of the metrics endpoint (0 picks a free port).' }),
  define({
    name: 'metrics.event.loop.resolution.ms',
    type: 'int',
    default: 10,
    validate: atLeast(1),
    doc: 'How often the event-loop delay behind floe_nodejs_eventloop_lag_* is sampled; each value is the time between samples, this included. Each sample wakes the broker: 10 (prom-client\'s default) costs an idle broker about 2 ms of CPU a second more than 100, and catches shorter stalls.',
  }),
  define({ name: 'log.retention.check.interval.ms', type: 'long', default: 300000, validate: atLeast(1), doc: 'How often retention moves log start offsets and unreferenced or orphaned objects are deleted.' }),
  define({ name: 'object.orphan.timeout.ms', type: 'long', default: 600000, validate: atLeast(1000), doc: 'Uploads not committed this long after their object id was reserved (the broker died between PUT and commit) are deleted.' }),
  define({ name: 'compaction.enable', type: 'boolean', default: true, doc: 'Merge small objects and split busy partitions into stream objects in the background.' }),
  define({ name: 'compaction.interval.ms', type: 'long', default: 60000, validate: atLeast(1), doc: 'How often a compaction pass runs.' }),
  define({ name: 'compaction.stream.object.bytes', type: 'long', default: 16 * 1024 * 1024, validate: atLeast(1), doc: 'A partition with this much data in stream-set objects gets it rewritten into its own stream object.' }),
  define({ name: 'compaction.small.object.bytes', type: 'long', default: 16 * 1024 * 1024, validate: atLeast(1), doc: 'Stream-set objects and stream objects smaller than this are merged.' }),
  define({ name: 'compaction.max.object.bytes', type: 'long', default: 64 * 1024 * 1024, validate: atLeast(1024), doc: 'Largest object one compaction writes (it is held in memory while written).' }),
  define({ name: 'compaction.block.bytes', type: 'int', default: 1024 * 1024, validate: atLeast(1024), doc: 'Largest block compaction writes: the most one ranged GET of a cold read fetches.' }),
  define({ name: 'block.cache.bytes', type: 'long', default: 256 * 1024 * 1024, validate: atLeast(0), doc: 'Memory for object blocks read from object storage (cold reads and read-ahead), an LRU.' }),
  define({ name: 'read.ahead.bytes', type: 'int', default: 8 * 1024 * 1024, validate: atLeast(0), doc: 'How far ahead of a sequential cold reader blocks are fetched into the block cache (0: off).' }),
  define({ name: 'schema.registry.enable', type: 'boolean', default: true, doc: 'Serve the Confluent-compatible schema registry REST API on schema.registry.host:schema.registry.port.' }),
  define({ name: 'schema.registry.host', type: 'string', default: '127.0.0.1', doc: 'Address the schema registry binds to (0.0.0.0 for every interface).' }),
  define({ name: 'schema.registry.port', type: 'int', default: 8081, validate: between(0, 65535), doc: 'Port of the schema registry (0 picks a free port).' }),
  define({
    name: 'schema.registry.compatibility.level',
    type: 'string',
    default: 'BACKWARD',
    validate: oneOf('NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE'),
    doc: 'Compatibility level of subjects that set none, until PUT /config changes it (Confluent\'s schema.compatibility.level).',
  }),
  define({ name: 'schema.registry.max.request.bytes', type: 'int', default: 8 * 1024 * 1024, validate: atLeast(1024), doc: 'Largest schema registry request body; larger ones get 413.' }),
  define({ name: 'iceberg.catalog.enable', type: 'boolean', default: true, doc: 'Serve the built-in Iceberg REST catalog (the tables of table topics) on iceberg.catalog.host:iceberg.catalog.port.' }),
  define({ name: 'iceberg.catalog.host', type: 'string', default: '127.0.0.1', doc: 'Address the Iceberg REST catalog binds to (0.0.0.0 for every interface).' }),
  define({ name: 'iceberg.catalog.port', type: 'int', default: 8181, validate: between(0, 65535), doc: 'Port of the Iceberg REST catalog (0 picks a free port).' }),
  define({ name: 'iceberg.catalog.token', type: 'password', default: null, sensitive: true, doc: 'If set, REST catalog requests need Authorization: Bearer <this token>.' }),
  define({ name: 'iceberg.catalog.credential', type: 'password', default: null, sensitive: true, doc: 'If set, client_id:client_secret that /v1/oauth/tokens exchanges for bearer tokens (OAuth2 client credentials); requests then need a token.' }),
  define({
    name: 'automq.table.topic.catalog.type',
    type: 'string',
    default: null,
    validate: oneOf('rest', 'glue', 'hive'),
    doc: 'Catalog the table topics commit through: rest (automq.table.topic.catalog.uri), glue or hive. Unset: Floe\'s own REST catalog, in process.',
  }),
  define({ name: 'automq.table.topic.catalog.uri', type: 'string', default: null, doc: 'Iceberg REST catalog URI (e.g. http://127.0.0.1:8181) for catalog.type=rest.' }),
  define({ name: 'automq.table.topic.catalog.token', type: 'password', default: null, sensitive: true, doc: 'Bearer token sent to the REST catalog.' }),
  define({ name: 'automq.table.topic.catalog.credential', type: 'password', default: null, sensitive: true, doc: 'client_id:client_secret exchanged for a token with the OAuth2 client-credentials grant at the REST catalog (or catalog.oauth2.server.uri).' }),
  define({ name: 'automq.table.topic.catalog.oauth2.server.uri', type: 'string', default: null, doc: 'OAuth2 token endpoint; unset: {catalog.uri}/v1/oauth/tokens.' }),
  define({
    name: 'automq.table.topic.catalog.warehouse',
    type: 'string',
    default: null,
    doc: 'Where new tables go: a key prefix in the broker\'s object store, or a URI inside it. Unset: iceberg/ in the object store.',
  }),
  define({ name: 'automq.table.topic.schema.registry.url', type: 'string', default: null, doc: 'Schema registry that table topics read value schemas from. Unset: the built-in registry, in process.' }),
  define({
    name: 'table.topic.convert.priority',
    type: 'string',
    default: 'idle',
    validate: oneOf('idle', 'nice'),
    doc: 'How conversion threads yield the CPU on Linux: idle (SCHED_IDLE: only CPU no other thread wants, so a broker that keeps every core busy converts nothing until load falls) or nice (nice 10: a small share even then).',
  }),
  define({ name: 'table.topic.convert.threads', type: 'int', default: 1, validate: between(1, 64), doc: 'Worker threads converting records to Parquet.' }),
  define({ name: 'table.topic.target.file.bytes', type: 'long', default: 128 * 1024 * 1024, validate: atLeast(1024), doc: 'Data files are cut when their rows reach about this many bytes.' }),
  define({ name: 'log.level', type: 'string', default: 'info', validate: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'), doc: 'Log level of the structured (pino) log on stdout.' }),
];

/** Broker-level defaults of topic settings (Kafka's "server default property" of each). */
const TOPIC_SYNONYM_CONFIGS: readonly ConfigDef[] = TOPIC_CONFIGS.filter(
  (t) => t.brokerSynonym !== undefined && !OWN_BROKER_CONFIGS.some((b) => b.name === t.brokerSynonym),
).map((t) => ({ ...t, name: t.brokerSynonym as string, brokerSynonym: undefined, doc: `Default of the topic setting ${t.name}. ${t.doc}` }));

export const BROKER_CONFIGS: readonly ConfigDef[] = [...OWN_BROKER_CONFIGS, ...TOPIC_SYNONYM_CONFIGS].sort((a, b) =>
  a.name.localeCompare(b.name),
);

export const BROKER_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDef> = new Map(BROKER_CONFIGS.map((d) => [d.name, d]));

export const envName = (configName: string): string => `FLOE_${configName.toUpperCase().replace(/[.-]/g, '_')}`;

export type ConfigSourceKind = 'default' | 'file' | 'env' | 'flag';

export interface Listener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export function parseListener(s: string): Listener {
  const m = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(s.trim());
  if (m === null) throw new ConfigError(`Invalid listener ${JSON.stringify(s)}: expected NAME://host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`Invalid port in listener ${s}`);
  if (m[1].toUpperCase() !== 'PLAINTEXT') throw new ConfigError(`Listener ${s}: only PLAINTEXT listeners are supported so far`);
  return { name: m[1].toUpperCase(), host: m[2].replace(/^\[|\]$/g, ''), port };
}

/** Java .properties, as Kafka's server.properties: key=value or key: value, # and ! comments, \ continuations. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i].trim();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m === null) out.set(line, '');
    else out.set(m[1], m[2]);
  }
  return out;
}

export interface LoadOptions {
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Flags and --override pairs, applied last. */
  readonly overrides?: Readonly<Record<string, string>>;
  readonly onWarning?: (message: string) => void;
}

export class BrokerConfig {
  private constructor(
    private readonly values: ReadonlyMap<string, ConfigValue | null>,
    private readonly sources: ReadonlyMap<string, ConfigSourceKind>,
  ) {}

  static load(opts: LoadOptions = {}): BrokerConfig {
    const values = new Map<string, ConfigValue | null>();
    const sources = new Map<string, ConfigSourceKind>();
    for (const d of BROKER_CONFIGS) {
      values.set(d.name, d.default);
      sources.set(d.name, 'default');
    }
    const warn = opts.onWarning ?? (() => {});
    const set = (name: string, raw: string, source: ConfigSourceKind) => {
      const def = BROKER_CONFIG_BY_NAME.get(name);
      if (def === undefined) {
        warn(`The configuration '${name}' was supplied but isn't a known config.`);
        return;
      }
      values.set(name, parseValue(def, raw));
      sources.set(name, source);
    };
    if (opts.file !== undefined) {
      for (const [k, v] of parseProperties(readFileSync(opts.file, 'utf8'))) set(k, v, 'file');
    }
    const env = opts.env ?? {};
    const byEnv = new Map(BROKER_CONFIGS.map((d) => [envName(d.name), d.name]));
    for (const [k, v] of Object.entries(env)) {
      if (!k.startsWith('FLOE_') || v === undefined) continue;
      const name = byEnv.get(k);
      if (name === undefined) {
        warn(`The environment variable '${k}' does not name a Floe setting.`);
        continue;
      }
      set(name, v, 'env');
    }
    for (const [k, v] of Object.entries(opts.overrides ?? {})) set(k, v, 'flag');
    const store = String(values.get('object.store'));
    for (const d of BROKER_CONFIGS) {
      const storeDefault = d.storeDefaults?.[store];
      if (storeDefault !== undefined && sources.get(d.name) === 'default') values.set(d.name, storeDefault);
    }
    return new BrokerConfig(values, sources);
  }

  get(name: string): ConfigValue | null {
    if (!this.values.has(name)) throw new ConfigError(`unknown broker config ${name}`);
    return this.values.get(name) ?? null;
  }

  int(name: string): number {
    return this.get(name) as number;
  }

  bool(name: string): boolean {
    return this.get(name) as boolean;
  }

  string(name: string): string {
    return this.get(name) as string;
  }

  /** A string setting that may be unset (default null). */
  optionalString(name: string): string | null {
    return this.get(name) as string | null;
  }

  list(name: string): readonly string[] {
    return (this.get(name) as readonly string[] | null) ?? [];
  }

  /** Whether the setting was given explicitly (STATIC_BROKER_CONFIG), not left at its default. */
  isExplicit(name: string): boolean {
    return (this.sources.get(name) ?? 'default') !== 'default';
  }

  source(name: string): ConfigSourceKind {
    return this.sources.get(name) ?? 'default';
  }

  formatted(name: string): string | null {
    return formatValue(this.get(name));
  }

  listener(): Listener {
    return parseListener(this.list('listeners')[0]);
  }

  advertisedListener(): Listener {
    const adv = this.list('advertised.listeners');
    return adv.length > 0 ? parseListener(adv[0]) : this.listener();
  }
}
