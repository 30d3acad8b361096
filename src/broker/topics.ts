// Topics and partitions as this broker serves them: names, ids and configs
// from the metadata store, one S3Stream stream per partition. Creation,
// deletion, partition growth and config changes go through here, so the
// validation Kafka applies (names, counts, configs) lives in one place.

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import { ConfigError, formatValue, parseValue, type ConfigDef, type ConfigValue } from '../config/registry.js';
import { TOPIC_CONFIGS, TOPIC_CONFIG_BY_NAME, validateTopicConfig } from '../config/topic-config.js';
import { resolveTableSettings, type TableTopicSettings } from '../config/table-topic-config.js';
import { TopicExistsError, type MetadataStore, type TopicRecord } from '../metadata/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { TimestampType } from '../protocol/records/batch.js';
import type { RetentionTarget } from '../storage/retention.js';
import type { StreamStore } from '../storage/s3stream.js';
import type { Stream } from '../storage/stream.js';
import { collides, INTERNAL_TOPICS, topicNameProblem } from './topic-name.js';

/** A sanity bound: a request for billions of partitions must not allocate billions of streams. */
export const MAX_PARTITIONS_PER_TOPIC = 100_000;

/** Kafka's DescribeConfigs ConfigSource values. */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** The topic configs the produce path consults, resolved once per config change. */
export interface TopicSettings {
  readonly maxMessageBytes: number;
  readonly timestampType: number;
  readonly timestampBeforeMaxMs: number;
  readonly timestampAfterMaxMs: number;
  /** -1: keep forever. */
  readonly retentionMs: number;
  /** -1: no size limit. */
  readonly retentionBytes: number;
  /** cleanup.policy includes delete (compact-only topics are exempt from time and size retention). */
  readonly deleteRetention: boolean;
  /** confluent.key/value.schema.validation: records must carry a schema id registered under <topic>-key / <topic>-value. */
  readonly keySchemaValidation: boolean;
  readonly valueSchemaValidation: boolean;
  /** automq.table.topic.*: whether and how the topic is kept as an Iceberg table. */
  readonly table: TableTopicSettings;
}

export interface Partition {
  readonly topic: Topic;
  readonly index: number;
  readonly stream: Stream;
}

export class Topic {
  partitions: Partition[] = [];
  settings!: TopicSettings;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly replicationFactor: number,
    public overrides: Readonly<Record<string, string>>,
  ) {}

  get isInternal(): boolean {
    return INTERNAL_TOPICS.has(this.name);
  }
}

export interface ResolvedConfig {
  readonly def: ConfigDef;
  readonly value: ConfigValue | null;
  readonly source: number;
  readonly synonyms: readonly { name: string; value: string | null; source: number }[];
}

export interface CreateTopicSpec {
  readonly name: string;
  /** -1: the broker default (num.partitions). */
  readonly numPartitions: number;
  /** -1: the broker default (default.replication.factor). */
  readonly replicationFactor: number;
  readonly configs: readonly { name: string; value: string | null }[];
}

export function newTopicId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka reserves the zero uuid and ids whose string form starts with '-'.
    if (id !== ZERO_UUID && !id.startsWith('-')) return id;
  }
}

export class TopicManager {
  private readonly byName = new Map<string, Topic>();
  private readonly byId = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<Topic>>();
  private readonly deleteListeners: ((name: string) => void)[] = [];

  constructor(
    private readonly meta: MetadataStore,
    private readonly store: StreamStore,
    private readonly config: BrokerConfig,
    private readonly log: Logger,
  ) {}

  /** Loads every topic and takes ownership of its partitions' streams. */
  async load(): Promise<void> {
    const records = await this.meta.listTopics();
    // One metadata transaction takes every stream, however many topics there are.
    const streams = await this.store.open(records.flatMap((r) => r.partitions.map((p) => p.streamId)));
    let next = 0;
    for (const r of records) this.install(r, streams.slice(next, (next += r.partitions.length)));
    this.log.info({ topics: records.length, partitions: records.reduce((n, r) => n + r.partitions.length, 0) }, 'topics loaded');
  }

  private install(r: TopicRecord, streams: readonly Stream[]): Topic {
    const topic = new Topic(r.topicId, r.name, r.replicationFactor, r.configs);
    topic.settings = this.settingsOf(topic);
    topic.partitions = r.partitions.map((p, i) => ({ topic, index: p.partition, stream: streams[i] }));
    this.byName.set(topic.name, topic);
    this.byId.set(topic.id, topic);
    return topic;
  }

  get(name: string): Topic | undefined {
    return this.byName.get(name);
  }

  /** The stream of a partition, if the topic and partition exist. */
  stream(name: string, partition: number): Stream | undefined {
    return this.byName.get(name)?.partitions[partition]?.stream;
  }

  getById(id: string): Topic | undefined {
    return this.byId.get(id);
  }

  all(): Topic[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Every partition's stream with its topic's retention limits (compact-only topics are exempt). */
  *retentionTargets(): Iterable<RetentionTarget> {
    for (const t of this.byName.values()) {
      const { retentionMs, retentionBytes, deleteRetention } = t.settings;
      if (!deleteRetention || (retentionMs < 0 && retentionBytes < 0)) continue;
      for (const p of t.partitions) yield { stream: p.stream, retentionMs, retentionBytes };
    }
  }

  /** Effective value of a topic config: the override, else the broker's setting. */
  private effective(topic: Topic, def: ConfigDef): ConfigValue | null {
    const o = topic.overrides[def.name];
    if (o !== undefined) return parseValue(def, o);
    return def.brokerSynonym !== undefined ? this.config.get(def.brokerSynonym) : def.default;
  }

  private settingsOf(topic: Topic): TopicSettings {
    const v = (name: string) => this.effective(topic, TOPIC_CONFIG_BY_NAME.get(name) as ConfigDef);
    return {
      maxMessageBytes: v('max.message.bytes') as number,
      timestampType: v('message.timestamp.type') === 'LogAppendTime' ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME,
      timestampBeforeMaxMs: v('message.timestamp.before.max.ms') as number,
      timestampAfterMaxMs: v('message.timestamp.after.max.ms') as number,
      retentionMs: v('retention.ms') as number,
      retentionBytes: v('retention.bytes') as number,
      deleteRetention: (v('cleanup.policy') as readonly string[]).includes('delete'),
      keySchemaValidation: v('confluent.key.schema.validation') as boolean,
      valueSchemaValidation: v('confluent.value.schema.validation') as boolean,
      table: resolveTableSettings(v),
    };
  }

  /** Every topic config with its value, source and synonyms, as DescribeConfigs reports them. */
  describeConfigs(topic: Topic): ResolvedConfig[] {
    return TOPIC_CONFIGS.map((def) => {
      const synonyms: { name: string; value: string | null; source: number }[] = [];
      const override = topic.overrides[def.name];
      if (override !== undefined) synonyms.push({ name: def.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
      const broker = def.brokerSynonym;
      if (broker !== undefined && this.config.isExplicit(broker)) {
        synonyms.push({ name: broker, value: this.config.formatted(broker), source: ConfigSource.STATIC_BROKER_CONFIG });
      }
      synonyms.push({ name: broker ?? def.name, value: formatValue(def.default), source: ConfigSource.DEFAULT_CONFIG });
      return { def, value: this.effective(topic, def), source: synonyms[0].source, synonyms };
    });
  }

  /** Validates a topic creation the way Kafka's controller does; throws KafkaError. */
  validateCreate(spec: CreateTopicSpec): { partitions: number; replicationFactor: number; configs: Record<string, string> } {
    const problem = topicNameProblem(spec.name);
    if (problem !== undefined) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    if (this.byName.has(spec.name) || this.creating.has(spec.name)) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`);
    }
    for (const existing of this.byName.keys()) {
      if (collides(spec.name, existing)) {
        throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${spec.name}' collides with existing topic: ${existing}`);
      }
    }
    const partitions = spec.numPartitions === -1 ? this.config.int('num.partitions') : spec.numPartitions;
    if (partitions <= 0) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
    }
    if (partitions > MAX_PARTITIONS_PER_TOPIC) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${partitions} exceeds the maximum of ${MAX_PARTITIONS_PER_TOPIC}.`);
    }
    const replicationFactor = spec.replicationFactor === -1 ? this.config.int('default.replication.factor') : spec.replicationFactor;
    if (replicationFactor <= 0) {
      throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
    }
    const configs: Record<string, string> = {};
    for (const c of spec.configs) {
      if (c.name in configs) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Duplicate config key ${c.name}`);
      try {
        validateTopicConfig(c.name, c.value);
      } catch (err) {
        if (err instanceof ConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, err.message);
        throw err;
      }
      configs[c.name] = c.value as string;
    }
    return { partitions, replicationFactor, configs };
  }

  /** Creates a topic (or returns the one a concurrent creation of the same name is making). */
  async create(spec: CreateTopicSpec): Promise<Topic> {
    const inflight = this.creating.get(spec.name);
    if (inflight !== undefined) {
      await inflight.catch(() => undefined);
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`);
    }
    const v = this.validateCreate(spec);
    const p = (async () => {
      try {
        const record = await this.meta.createTopic({
          topicId: newTopicId(),
          name: spec.name,
          partitionCount: v.partitions,
          replicationFactor: v.replicationFactor,
          configs: v.configs,
        });
        const topic = this.install(record, await this.store.open(record.partitions.map((p) => p.streamId)));
        this.log.info({ topic: topic.name, topicId: topic.id, partitions: topic.partitions.length }, 'topic created');
        return topic;
      } catch (err) {
        if (err instanceof TopicExistsError) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, err.message);
        throw err;
      }
    })();
    this.creating.set(spec.name, p);
    try {
      return await p;
    } finally {
      this.creating.delete(spec.name);
    }
  }

  /** Auto-creation (Metadata with allow_auto_topic_creation, Produce): defaults, and a racing creation is fine. */
  async autoCreate(name: string): Promise<Topic> {
    const existing = this.byName.get(name) ?? (await this.creating.get(name)?.catch(() => undefined));
    if (existing !== undefined) return existing;
    try {
      return await this.create({ name, numPartitions: -1, replicationFactor: -1, configs: [] });
    } catch (err) {
      const now = this.byName.get(name);
      if (now !== undefined) return now;
      throw err;
    }
  }

  async delete(topic: Topic): Promise<void> {
    await this.meta.deleteTopic(topic.id);
    this.byName.delete(topic.name);
    this.byId.delete(topic.id);
    for (const p of topic.partitions) this.store.close(p.stream.id);
    for (const listener of this.deleteListeners) listener(topic.name);
    this.log.info({ topic: topic.name, topicId: topic.id }, 'topic deleted');
  }

  /** Called with the name of every deleted topic (the group coordinator drops its offsets). */
  onDelete(listener: (name: string) => void): void {
    this.deleteListeners.push(listener);
  }

  async addPartitions(topic: Topic, count: number): Promise<void> {
    const added = await this.meta.addPartitions(topic.id, count);
    const streams = await this.store.open(added.map((p) => p.streamId));
    topic.partitions = [...topic.partitions, ...added.map((p, i) => ({ topic, index: p.partition, stream: streams[i] }))];
    this.log.info({ topic: topic.name, partitions: topic.partitions.length }, 'partitions added');
  }

  /** Replaces a topic's overrides (already validated by the caller). */
  async setConfigs(topic: Topic, overrides: Record<string, string>): Promise<void> {
    await this.meta.setTopicConfigs(topic.id, overrides);
    topic.overrides = overrides;
    topic.settings = this.settingsOf(topic);
  }
}
