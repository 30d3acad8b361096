// Table topic settings, named as AutoMQ names them so that its users' topic
// configs carry over (ARCHITECTURE §7.1). Each also has a broker-level default
// of the same name. Unset string settings fall back as AutoMQ's do: see the
// docs, and the deprecated automq.table.topic.schema.type mapping.

import { parsePartitionBy } from '../table/partition-by.js';
import { atLeast, between, define, oneOf, type ConfigDef } from './registry.js';

const CONVERT_TYPES = ['raw', 'string', 'by_schema_id', 'by_latest_schema'];

export const TABLE_TOPIC_CONFIGS: readonly ConfigDef[] = [
  define({ name: 'automq.table.topic.enable', type: 'boolean', default: false, doc: 'Turn the topic into an Iceberg table: committed records are converted to Parquet and committed as snapshots.' }),
  define({
    name: 'automq.table.topic.commit.interval.ms',
    type: 'long',
    default: 60000,
    validate: between(1, 15 * 60 * 1000),
    doc: 'How often the table gets a new snapshot of what was converted (1 ms to 15 min).',
  }),
  define({ name: 'automq.table.topic.namespace', type: 'string', default: null, doc: 'Iceberg namespace of the table; unset: default.' }),
  define({
    name: 'automq.table.topic.convert.value.type',
    type: 'string',
    default: null,
    validate: oneOf(...CONVERT_TYPES),
    doc: 'How values become columns: raw (bytes), string, by_schema_id (Confluent wire format, schema from the registry) or by_latest_schema; unset: from automq.table.topic.schema.type, else raw.',
  }),
  define({
    name: 'automq.table.topic.convert.key.type',
    type: 'string',
    default: null,
    validate: oneOf(...CONVERT_TYPES),
    doc: 'How keys are stored: raw, string, by_schema_id or by_latest_schema; unset: string.',
  }),
  define({
    name: 'automq.table.topic.convert.value.by_latest_schema.subject',
    type: 'string',
    default: null,
    doc: 'Subject whose latest schema decodes values with convert.value.type=by_latest_schema; unset: {topic}-value.',
  }),
  define({
    name: 'automq.table.topic.transform.value.type',
    type: 'string',
    default: null,
    validate: oneOf('none', 'flatten'),
    doc: 'none: the value is one column; flatten: its fields become columns. Unset: flatten with schema.type=schema, else none.',
  }),
  define({
    name: 'automq.table.topic.partition.by',
    type: 'string',
    default: null,
    validate: (v) => {
      try {
        parsePartitionBy(String(v));
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
    doc: 'Iceberg partitioning, e.g. [bucket(name, 16), month(ts)]: identity (a bare column), year, month, day, hour, bucket(col, N), truncate(col, W).',
  }),
  define({
    name: 'automq.table.topic.errors.tolerance',
    type: 'string',
    default: 'invalid_data',
    validate: oneOf('none', 'invalid_data', 'all'),
    doc: 'none: a record that cannot be converted stops the partition\'s conversion; invalid_data / all: it goes to the <table>_dlq table.',
  }),
  define({ name: 'automq.table.topic.expire.snapshot.enabled', type: 'boolean', default: true, doc: 'Expire old snapshots and delete the files only they reference.' }),
  define({ name: 'automq.table.topic.expire.snapshot.older.than.hours', type: 'int', default: 1, validate: atLeast(1), doc: 'Snapshots older than this many hours are expired.' }),
  define({ name: 'automq.table.topic.expire.snapshot.retain.last', type: 'int', default: 1, validate: atLeast(1), doc: 'The newest snapshots kept whatever their age.' }),
  define({
    name: 'automq.table.topic.schema.type',
    type: 'string',
    default: null,
    validate: oneOf('schemaless', 'schema'),
    doc: 'Deprecated, as in AutoMQ: schemaless means convert.value.type=raw; schema means convert.value.type=by_schema_id and transform.value.type=flatten (explicit settings win).',
  }),
].map((d) => ({ ...d, brokerSynonym: d.name }));

/** A topic's table settings, resolved from its effective configs (topic override, else broker default). */
export interface TableTopicSettings {
  readonly enabled: boolean;
  readonly commitIntervalMs: number;
  readonly namespace: string;
  readonly valueType: 'raw' | 'string' | 'by_schema_id' | 'by_latest_schema';
  /** Keys are stored as bytes (raw) or UTF-8 text; schema-decoded keys are kept as text. */
  readonly keyType: 'raw' | 'string';
  readonly latestSchemaSubject: string | null;
  readonly flatten: boolean;
  readonly partitionBy: string | null;
  readonly errorsTolerance: 'none' | 'invalid_data' | 'all';
  readonly expireSnapshots: boolean;
  readonly expireOlderThanMs: number;
  readonly retainLast: number;
}

export function resolveTableSettings(value: (name: string) => unknown): TableTopicSettings {
  const s = (name: string) => (value(`automq.table.topic.${name}`) as string | null) ?? null;
  const legacy = s('schema.type');
  const valueType = (s('convert.value.type') ?? (legacy === 'schema' ? 'by_schema_id' : 'raw')) as TableTopicSettings['valueType'];
  const transform = s('transform.value.type') ?? (legacy === 'schema' ? 'flatten' : 'none');
  return {
    enabled: value('automq.table.topic.enable') === true,
    commitIntervalMs: Number(value('automq.table.topic.commit.interval.ms')),
    namespace: s('namespace') ?? 'default',
    valueType,
    keyType: s('convert.key.type') === 'raw' ? 'raw' : 'string',
    latestSchemaSubject: s('convert.value.by_latest_schema.subject'),
    flatten: transform === 'flatten',
    partitionBy: s('partition.by'),
    errorsTolerance: (s('errors.tolerance') ?? 'invalid_data') as TableTopicSettings['errorsTolerance'],
    expireSnapshots: value('automq.table.topic.expire.snapshot.enabled') === true,
    expireOlderThanMs: Number(value('automq.table.topic.expire.snapshot.older.than.hours')) * 3_600_000,
    retainLast: Number(value('automq.table.topic.expire.snapshot.retain.last')),
  };
}
