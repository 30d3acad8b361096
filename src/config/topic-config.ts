// Topic-level settings, named and defaulted as Kafka names and defaults them
// (and the table topic settings, as AutoMQ names them: table-topic-config.ts).
// Each has a broker-level synonym that supplies its default, as in Kafka.
//
// Floe stores every one of these and returns it from DescribeConfigs; the
// ones that shape a log kept on local segments (segment.*, flush.*,
// index.*, preallocate) have no effect on an object-storage log and are kept
// only so that tools that set them keep working.

import { atLeast, between, ConfigError, define, type ConfigDef, type ConfigValue, oneOf, parseValue } from './registry.js';
import { TABLE_TOPIC_CONFIGS } from './table-topic-config.js';

const LONG_MAX = 9223372036854775807;

const KAFKA_TOPIC_CONFIGS: readonly ConfigDef[] = [
  define({
    name: 'cleanup.policy',
    type: 'list',
    default: ['delete'],
    brokerSynonym: 'log.cleanup.policy',
    validate: oneOf('delete', 'compact'),
    doc: 'delete: drop old data by retention.ms/retention.bytes; compact: keep the latest value per key (compacted topics are exempt from time/size retention).',
  }),
  define({
    name: 'compression.type',
    type: 'string',
    default: 'producer',
    brokerSynonym: 'compression.type',
    validate: oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'),
    doc: 'Stored for compatibility; Floe keeps batches exactly as the producer compressed them.',
  }),
  define({
    name: 'confluent.key.schema.validation',
    type: 'boolean',
    default: false,
    brokerSynonym: 'confluent.key.schema.validation',
    doc: 'Reject produced records whose key is not in the schema registry wire format with a schema id registered under the subject {topic}-key (INVALID_RECORD).',
  }),
  define({
    name: 'confluent.value.schema.validation',
    type: 'boolean',
    default: false,
    brokerSynonym: 'confluent.value.schema.validation',
    doc: 'Reject produced records whose value is not in the schema registry wire format with a schema id registered under the subject {topic}-value (INVALID_RECORD).',
  }),
  define({
    name: 'delete.retention.ms',
    type: 'long',
    default: 86400000,
    brokerSynonym: 'log.cleaner.delete.retention.ms',
    validate: atLeast(0),
    doc: 'How long delete tombstones are kept on compacted topics.',
  }),
  define({
    name: 'file.delete.delay.ms',
    type: 'long',
    default: 60000,
    brokerSynonym: 'log.segment.delete.delay.ms',
    validate: atLeast(0),
    doc: 'Grace period before objects no longer referenced are deleted.',
  }),
  define({
    name: 'flush.messages',
    type: 'long',
    default: LONG_MAX,
    brokerSynonym: 'log.flush.interval.messages',
    validate: atLeast(1),
    doc: 'Stored for compatibility; every acknowledged batch is already durable in object storage.',
  }),
  define({
    name: 'flush.ms',
    type: 'long',
    default: LONG_MAX,
    brokerSynonym: 'log.flush.interval.ms',
    validate: atLeast(0),
    doc: 'Stored for compatibility; every acknowledged batch is already durable in object storage.',
  }),
  define({
    name: 'index.interval.bytes',
    type: 'int',
    default: 4096,
    brokerSynonym: 'log.index.interval.bytes',
    validate: atLeast(0),
    doc: 'Stored for compatibility (no local segment indexes).',
  }),
  define({
    name: 'max.compaction.lag.ms',
    type: 'long',
    default: LONG_MAX,
    brokerSynonym: 'log.cleaner.max.compaction.lag.ms',
    validate: atLeast(1),
    doc: 'Maximum time a record stays uncompacted on a compacted topic.',
  }),
  define({
    name: 'max.message.bytes',
    type: 'int',
    default: 1048588,
    brokerSynonym: 'message.max.bytes',
    validate: atLeast(0),
    doc: 'Largest record batch accepted, in bytes (MESSAGE_TOO_LARGE above it).',
  }),
  define({
    name: 'message.timestamp.after.max.ms',
    type: 'long',
    default: 3600000,
    brokerSynonym: 'log.message.timestamp.after.max.ms',
    validate: atLeast(0),
    doc: 'How far in the future a CreateTime timestamp may be (INVALID_TIMESTAMP beyond it).',
  }),
  define({
    name: 'message.timestamp.before.max.ms',
    type: 'long',
    default: LONG_MAX,
    brokerSynonym: 'log.message.timestamp.before.max.ms',
    validate: atLeast(0),
    doc: 'How far in the past a CreateTime timestamp may be (INVALID_TIMESTAMP beyond it).',
  }),
  define({
    name: 'message.timestamp.type',
    type: 'string',
    default: 'CreateTime',
    brokerSynonym: 'log.message.timestamp.type',
    validate: oneOf('CreateTime', 'LogAppendTime'),
    doc: 'CreateTime keeps the producer timestamp; LogAppendTime stamps batches with the broker clock.',
  }),
  define({
    name: 'min.cleanable.dirty.ratio',
    type: 'double',
    default: 0.5,
    brokerSynonym: 'log.cleaner.min.cleanable.ratio',
    validate: between(0, 1),
    doc: 'Share of uncompacted log that triggers compaction on compacted topics.',
  }),
  define({
    name: 'min.compaction.lag.ms',
    type: 'long',
    default: 0,
    brokerSynonym: 'log.cleaner.min.compaction.lag.ms',
    validate: atLeast(0),
    doc: 'Minimum time a record stays uncompacted on a compacted topic.',
  }),
  define({
    name: 'min.insync.replicas',
    type: 'int',
    default: 1,
    brokerSynonym: 'min.insync.replicas',
    validate: atLeast(1),
    doc: 'Stored for compatibility; durability comes from object storage, not replicas.',
  }),
  define({
    name: 'preallocate',
    type: 'boolean',
    default: false,
    brokerSynonym: 'log.preallocate',
    doc: 'Stored for compatibility (no local segment files).',
  }),
  define({
    name: 'retention.bytes',
    type: 'long',
    default: -1,
    brokerSynonym: 'log.retention.bytes',
    validate: atLeast(-1),
    doc: 'Size a partition may grow to before its oldest data is dropped; -1 for no limit.',
  }),
  define({
    name: 'retention.ms',
    type: 'long',
    default: 604800000,
    brokerSynonym: 'log.retention.ms',
    validate: atLeast(-1),
    doc: 'How long data is kept; -1 for no limit.',
  }),
  define({
    name: 'segment.bytes',
    type: 'int',
    default: 1073741824,
    brokerSynonym: 'log.segment.bytes',
    validate: atLeast(14),
    doc: 'Stored for compatibility (no local segments).',
  }),
  define({
    name: 'segment.index.bytes',
    type: 'int',
    default: 10485760,
    brokerSynonym: 'log.index.size.max.bytes',
    validate: atLeast(4),
    doc: 'Stored for compatibility (no local segment indexes).',
  }),
  define({
    name: 'segment.jitter.ms',
    type: 'long',
    default: 0,
    brokerSynonym: 'log.roll.jitter.ms',
    validate: atLeast(0),
    doc: 'Stored for compatibility (no local segments).',
  }),
  define({
    name: 'segment.ms',
    type: 'long',
    default: 604800000,
    brokerSynonym: 'log.roll.ms',
    validate: atLeast(1),
    doc: 'Stored for compatibility (no local segments).',
  }),
  define({
    name: 'unclean.leader.election.enable',
    type: 'boolean',
    default: false,
    brokerSynonym: 'unclean.leader.election.enable',
    doc: 'Stored for compatibility; there are no out-of-sync replicas to elect.',
  }),
];

export const TOPIC_CONFIGS: readonly ConfigDef[] = [...TABLE_TOPIC_CONFIGS, ...KAFKA_TOPIC_CONFIGS].sort((a, b) => a.name.localeCompare(b.name));

export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDef> = new Map(TOPIC_CONFIGS.map((d) => [d.name, d]));

/** Validates one topic config override; throws ConfigError (INVALID_CONFIG on the wire). */
export function validateTopicConfig(name: string, value: string | null): ConfigValue {
  const def = TOPIC_CONFIG_BY_NAME.get(name);
  if (def === undefined) throw new ConfigError(`Unknown topic config name: ${name}`);
  if (value === null) throw new ConfigError(`Null value not supported for topic configs: ${name}`);
  return parseValue(def, value);
}
