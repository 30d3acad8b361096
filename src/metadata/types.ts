// The metadata store: the one place brokers agree on what the log is. Two
// engines implement it with the same schema: SQLite (embedded default) and,
// for clusters, PostgreSQL. Every write that depends on owning a stream is
// fenced by the stream's epoch, so a broker that lost ownership cannot commit.

import type { CatalogStore } from './catalog-types.js';
import type { SchemaRegistryStore } from './registry-types.js';

export interface PartitionRecord {
  readonly partition: number;
  readonly streamId: number;
}

export interface TopicRecord {
  readonly topicId: string;
  readonly name: string;
  readonly replicationFactor: number;
  /** Per-topic overrides only (DYNAMIC_TOPIC_CONFIG); defaults come from the broker. */
  readonly configs: Readonly<Record<string, string>>;
  readonly partitions: readonly PartitionRecord[];
  readonly createdAt: number;
}

export interface NewTopic {
  readonly topicId: string;
  readonly name: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

/** A run of one stream's batches inside an object: [startOffset, endOffset). */
export interface StreamRange {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly objectId: number;
  readonly objectKey: string;
  readonly position: number;
  readonly size: number;
  readonly maxTimestamp: number;
  /** CRC32C of the block, checked on every ranged read. */
  readonly crc: number;
}

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export interface OpenedStream {
  readonly streamId: number;
  readonly epoch: number;
  readonly startOffset: number;
  readonly endOffset: number;
  /** Leader epoch history (Kafka's leader-epoch checkpoint), ascending. */
  readonly epochs: readonly EpochEntry[];
  readonly ranges: readonly StreamRange[];
}

export interface StreamCommit {
  readonly streamId: number;
  /** The epoch the writer opened the stream with; the commit is fenced on it. */
  readonly epoch: number;
  /** Must equal the stream's committed end offset (no gaps, no overlaps). */
  readonly startOffset: number;
  readonly endOffset: number;
  readonly position: number;
  readonly size: number;
  readonly maxTimestamp: number;
  readonly crc: number;
}

export interface ObjectCommit {
  readonly objectId: number;
  readonly objectKey: string;
  readonly size: number;
  readonly streams: readonly StreamCommit[];
}

/**
 * What compaction writes: a stream-set object (blocks of many streams, as a
 * WAL flush writes) or a stream object (blocks of one stream).
 */
export type ObjectKind = 'stream_set' | 'stream';

/** A committed object and the stream ranges it holds (for compaction planning). */
export interface StoredObject {
  readonly objectId: number;
  readonly objectKey: string;
  readonly size: number;
  readonly kind: ObjectKind;
  readonly committedAt: number;
  readonly ranges: readonly (StreamRange & { readonly streamId: number })[];
}

/** A block of the new object, replacing ranges of the same stream in older objects (not fenced by epoch: offsets do not change). */
export type CompactedRange = Omit<StreamCommit, 'epoch'>;

/**
 * Compaction's one commit: the new object, its ranges, and the ranges they
 * replace. Offsets never change; only where the bytes live does.
 */
export interface CompactionCommit {
  readonly objectId: number;
  readonly objectKey: string;
  readonly size: number;
  readonly kind: ObjectKind;
  /** Ranges (by stream, start offset and object) that must all still exist. */
  readonly replaced: readonly { readonly streamId: number; readonly startOffset: number; readonly objectId: number }[];
  readonly ranges: readonly CompactedRange[];
}

export interface TransactionalIdRecord {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
}

/** A consumer group's committed offset for one partition (Kafka's OffsetAndMetadata). */
export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
  /** Set only by OffsetCommit v2-v4 with a retention time; otherwise expiry follows the group. */
  readonly expireTimestamp: number | null;
}

/**
 * What outlives a coordinator restart of a group, as Kafka's GroupMetadata
 * record without members: members rejoin, but generations never go backwards
 * and an Empty group's offsets expire from the moment it became empty.
 */
export interface GroupRecord {
  readonly groupId: string;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly generationId: number;
  /** The group's state when stored ('Empty' or 'Stable'), and since when. */
  readonly state: string;
  readonly stateTimestamp: number;
}

export interface StoredGroups {
  readonly groups: readonly GroupRecord[];
  readonly offsets: readonly (CommittedOffset & { readonly groupId: string })[];
}

export interface MetadataStore {
  /** The schema registry's subjects, schemas and settings. */
  readonly registry: SchemaRegistryStore;
  /** The built-in Iceberg REST catalog's namespaces and table pointers. */
  readonly catalog: CatalogStore;

  /** The cluster id, created on first use. */
  clusterId(): Promise<string>;

  listTopics(): Promise<TopicRecord[]>;
  /** Throws TopicExistsError if the name is taken. Allocates one stream per partition. */
  createTopic(topic: NewTopic): Promise<TopicRecord>;
  /** Removes the topic; its streams are marked deleted, their ranges dropped, and groups' offsets for it deleted. */
  deleteTopic(topicId: string): Promise<void>;
  /** Grows the topic to `count` partitions; returns the new ones. */
  addPartitions(topicId: string, count: number): Promise<PartitionRecord[]>;
  /** Replaces the topic's overrides. */
  setTopicConfigs(topicId: string, configs: Readonly<Record<string, string>>): Promise<void>;

  /** Takes ownership of streams: bumps each epoch and returns the state to serve them from. */
  openStreams(streamIds: readonly number[]): Promise<OpenedStream[]>;
  /**
   * Reserves `count` object ids and returns the first. The reservation is the
   * "prepared" record of every object that will carry one of these ids: an id
   * whose reservation is old and that was never committed names an orphaned
   * upload, which the sweeper deletes (object keys derive from ids).
   */
  reserveObjectIds(count: number): Promise<number>;
  /** Commits an uploaded object: one transaction, fenced per stream. Returns the streams that were fenced. */
  commitObject(commit: ObjectCommit): Promise<{ fenced: number[] }>;
  /**
   * Moves a stream's start offset forward (DeleteRecords, retention), fenced
   * by epoch, and drops the ranges wholly below it.
   */
  trimStream(streamId: number, epoch: number, newStartOffset: number): Promise<void>;

  /** Every committed object that holds ranges, with them, oldest first (compaction planning). */
  listObjects(): Promise<StoredObject[]>;
  /**
   * Commits a compaction: inserts the new object and its ranges and removes the
   * replaced ranges, in one transaction. Returns false, changing nothing, when
   * any replaced range is gone (retention or a topic deletion got there first).
   */
  commitCompaction(commit: CompactionCommit): Promise<boolean>;
  /** Marks committed objects that no range names any more for deletion at `deleteAfter`; returns how many. */
  markUnreferencedObjects(deleteAfter: number): Promise<number>;
  /** Objects marked for deletion whose grace period has passed. */
  objectsDueForDeletion(now: number, limit: number): Promise<{ readonly objectId: number; readonly objectKey: string }[]>;
  /** Forgets objects once they are deleted from the object store. */
  forgetObjects(objectIds: readonly number[]): Promise<void>;
  /**
   * Drops object-id reservations made before `reservedBefore` and returns
   * their ids that no object row names: uploads that were never committed
   * (or objects already deleted), whose keys the sweeper deletes. A commit of
   * an id whose reservation is gone is refused, so a slow upload can never be
   * committed after its object was swept.
   */
  expireObjectIdReservations(reservedBefore: number): Promise<number[]>;

  /** Reserves `count` producer ids and returns the first. */
  allocateProducerIds(count: number): Promise<number>;
  getTransactionalId(transactionalId: string): Promise<TransactionalIdRecord | null>;
  putTransactionalId(record: TransactionalIdRecord): Promise<void>;

  /** Every group and committed offset, read once when the group coordinator starts. */
  loadGroups(): Promise<StoredGroups>;
  /** Upserts the group record. */
  storeGroup(group: GroupRecord): Promise<void>;
  /** Upserts the group record and the offsets in one transaction. */
  commitOffsets(group: GroupRecord, offsets: readonly CommittedOffset[]): Promise<void>;
  deleteOffsets(groupId: string, partitions: readonly { readonly topic: string; readonly partition: number }[]): Promise<void>;
  /** Removes the groups and all their offsets. */
  deleteGroups(groupIds: readonly string[]): Promise<void>;

  close(): Promise<void>;
}

export class TopicExistsError extends Error {
  override readonly name = 'TopicExistsError';
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A stream's epoch moved on: another owner took it, so this writer must stop. */
export class FencedError extends Error {
  override readonly name: string = 'FencedError';
}

/** An object id's reservation expired (its upload may have been swept): the commit is refused. */
export class ReservationExpiredError extends FencedError {
  override readonly name = 'ReservationExpiredError';
}
