// The embedded metadata store: SQLite through better-sqlite3, in WAL mode with
// synchronous=FULL, so a committed transaction survives kill -9 and power loss
// before the produce it covers is acknowledged.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  FencedError,
  NotFoundError,
  ReservationExpiredError,
  TopicExistsError,
  type CommittedOffset,
  type CompactionCommit,
  type StoredObject,
  type EpochEntry,
  type GroupRecord,
  type MetadataStore,
  type NewTopic,
  type ObjectCommit,
  type OpenedStream,
  type PartitionRecord,
  type StoredGroups,
  type StreamRange,
  type TopicRecord,
  type TransactionalIdRecord,
} from './types.js';
import { SqliteCatalogTables } from './sqlite-catalog.js';
import { SqliteRegistryTables } from './sqlite-registry.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cluster (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, next_value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topics (
  topic_id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  replication_factor INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS topic_configs (
  topic_id TEXT NOT NULL REFERENCES topics(topic_id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (topic_id, name)
);
CREATE TABLE IF NOT EXISTS streams (
  stream_id INTEGER PRIMARY KEY,
  epoch INTEGER NOT NULL,
  start_offset INTEGER NOT NULL,
  end_offset INTEGER NOT NULL,
  state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS partitions (
  topic_id TEXT NOT NULL REFERENCES topics(topic_id) ON DELETE CASCADE,
  partition INTEGER NOT NULL,
  stream_id INTEGER NOT NULL REFERENCES streams(stream_id),
  PRIMARY KEY (topic_id, partition)
);
CREATE TABLE IF NOT EXISTS stream_epochs (
  stream_id INTEGER NOT NULL REFERENCES streams(stream_id),
  epoch INTEGER NOT NULL,
  start_offset INTEGER NOT NULL,
  PRIMARY KEY (stream_id, epoch)
);
CREATE TABLE IF NOT EXISTS object_id_reservations (
  first_id INTEGER PRIMARY KEY,
  count INTEGER NOT NULL,
  reserved_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
  object_id INTEGER PRIMARY KEY,
  object_key TEXT NOT NULL,
  size INTEGER NOT NULL,
  state TEXT NOT NULL,
  committed_at INTEGER NOT NULL,
  kind TEXT NOT NULL DEFAULT 'stream_set',
  delete_after INTEGER
);
CREATE INDEX IF NOT EXISTS objects_by_state ON objects(state, delete_after);
CREATE TABLE IF NOT EXISTS stream_ranges (
  stream_id INTEGER NOT NULL,
  start_offset INTEGER NOT NULL,
  end_offset INTEGER NOT NULL,
  object_id INTEGER NOT NULL REFERENCES objects(object_id),
  position INTEGER NOT NULL,
  size INTEGER NOT NULL,
  max_timestamp INTEGER NOT NULL,
  crc INTEGER NOT NULL,
  PRIMARY KEY (stream_id, start_offset)
);
CREATE INDEX IF NOT EXISTS stream_ranges_by_object ON stream_ranges(object_id);
CREATE TABLE IF NOT EXISTS transactional_ids (
  transactional_id TEXT PRIMARY KEY,
  producer_id INTEGER NOT NULL,
  producer_epoch INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS consumer_groups (
  group_id TEXT PRIMARY KEY,
  protocol_type TEXT,
  protocol_name TEXT,
  generation_id INTEGER NOT NULL,
  state TEXT NOT NULL,
  state_timestamp INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS group_offsets (
  group_id TEXT NOT NULL REFERENCES consumer_groups(group_id) ON DELETE CASCADE,
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  committed_offset INTEGER NOT NULL,
  leader_epoch INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  commit_timestamp INTEGER NOT NULL,
  expire_timestamp INTEGER,
  PRIMARY KEY (group_id, topic, partition)
);
CREATE INDEX IF NOT EXISTS group_offsets_by_topic ON group_offsets(topic);
`;

interface TopicRow {
  topic_id: string;
  name: string;
  replication_factor: number;
  created_at: number;
}

export class SqliteMetadataStore implements MetadataStore {
  private readonly db: Database.Database;
  readonly registry: SqliteRegistryTables;
  readonly catalog: SqliteCatalogTables;

  /**
   * Statements by their SQL text (all of it static): SQLite parses and plans
   * each once, not on every call. commitObject runs once per WAL flush, and
   * preparing its four statements each time cost about 18 µs of the
   * metadata thread's time per produce flush.
   */
  private readonly statements = new Map<string, Database.Statement>();
  /** commitObject's transaction, made once per store, not per commit. */
  private readonly commitObjectTx: Database.Transaction<(c: ObjectCommit) => { fenced: number[] }>;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.db.exec(SCHEMA);
    this.registry = new SqliteRegistryTables(this.db);
    this.catalog = new SqliteCatalogTables(this.db);
    this.commitObjectTx = this.db.transaction((c: ObjectCommit) => this.commitObjectRows(c));
  }

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Columns added since the first release, for data directories made before them. */
  private migrate(): void {
    const columns = (this.statement("SELECT name FROM pragma_table_info('objects')").all() as { name: string }[]).map((c) => c.name);
    if (columns.length === 0) return; // a new database: SCHEMA creates everything
    if (!columns.includes('kind')) this.db.exec("ALTER TABLE objects ADD COLUMN kind TEXT NOT NULL DEFAULT 'stream_set'");
    if (!columns.includes('delete_after')) this.db.exec('ALTER TABLE objects ADD COLUMN delete_after INTEGER');
  }

  /** Throws unless `objectId` comes from a reservation that has not expired (see expireObjectIdReservations). */
  private checkReserved(objectId: number): void {
    const live = this.statement('SELECT 1 FROM object_id_reservations WHERE first_id <= ? AND ? < first_id + count').get(objectId, objectId);
    if (live === undefined) throw new ReservationExpiredError(`object id ${objectId} belongs to an expired reservation; its upload may have been swept`);
  }

  private nextIds(name: string, count: number): number {
    const row = this.statement('INSERT INTO sequences (name, next_value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET next_value = next_value + ? RETURNING next_value')
      .get(name, count, count) as { next_value: number };
    return row.next_value - count;
  }

  async clusterId(): Promise<string> {
    const row = this.statement("SELECT value FROM cluster WHERE key = 'cluster.id'").get() as { value: string } | undefined;
    if (row) return row.value;
    const id = randomBytes(16).toString('base64url');
    this.statement("INSERT OR IGNORE INTO cluster (key, value) VALUES ('cluster.id', ?)").run(id);
    return (this.statement("SELECT value FROM cluster WHERE key = 'cluster.id'").get() as { value: string }).value;
  }

  private readTopic(row: TopicRow): TopicRecord {
    const configs: Record<string, string> = {};
    for (const c of this.statement('SELECT name, value FROM topic_configs WHERE topic_id = ?').all(row.topic_id) as { name: string; value: string }[]) {
      configs[c.name] = c.value;
    }
    const partitions = (
      this.statement('SELECT partition, stream_id FROM partitions WHERE topic_id = ? ORDER BY partition').all(row.topic_id) as {
        partition: number;
        stream_id: number;
      }[]
    ).map((p) => ({ partition: p.partition, streamId: p.stream_id }));
    return { topicId: row.topic_id, name: row.name, replicationFactor: row.replication_factor, configs, partitions, createdAt: row.created_at };
  }

  async listTopics(): Promise<TopicRecord[]> {
    const rows = this.statement('SELECT topic_id, name, replication_factor, created_at FROM topics ORDER BY name').all() as TopicRow[];
    return rows.map((r) => this.readTopic(r));
  }

  private insertPartitions(topicId: string, from: number, to: number): PartitionRecord[] {
    const out: PartitionRecord[] = [];
    if (to <= from) return out;
    const first = this.nextIds('stream', to - from);
    const insertStream = this.statement("INSERT INTO streams (stream_id, epoch, start_offset, end_offset, state) VALUES (?, 0, 0, 0, 'open')");
    const insertPartition = this.statement('INSERT INTO partitions (topic_id, partition, stream_id) VALUES (?, ?, ?)');
    for (let p = from; p < to; p++) {
      const streamId = first + (p - from);
      insertStream.run(streamId);
      insertPartition.run(topicId, p, streamId);
      out.push({ partition: p, streamId });
    }
    return out;
  }

  async createTopic(t: NewTopic): Promise<TopicRecord> {
    const tx = this.db.transaction(() => {
      const exists = this.statement('SELECT 1 FROM topics WHERE name = ?').get(t.name);
      if (exists) throw new TopicExistsError(`Topic '${t.name}' already exists.`);
      const now = Date.now();
      this.statement('INSERT INTO topics (topic_id, name, replication_factor, created_at) VALUES (?, ?, ?, ?)').run(t.topicId, t.name, t.replicationFactor, now);
      const insertConfig = this.statement('INSERT INTO topic_configs (topic_id, name, value) VALUES (?, ?, ?)');
      for (const [k, v] of Object.entries(t.configs)) insertConfig.run(t.topicId, k, v);
      this.insertPartitions(t.topicId, 0, t.partitionCount);
      return this.readTopic({ topic_id: t.topicId, name: t.name, replication_factor: t.replicationFactor, created_at: now });
    });
    return tx.immediate();
  }

  async deleteTopic(topicId: string): Promise<void> {
    const tx = this.db.transaction(() => {
      const streams = this.statement('SELECT stream_id FROM partitions WHERE topic_id = ?').all(topicId) as { stream_id: number }[];
      const topic = this.statement('DELETE FROM topics WHERE topic_id = ? RETURNING name').get(topicId) as { name: string } | undefined;
      if (topic === undefined) throw new NotFoundError(`topic ${topicId} does not exist`);
      // Kafka drops committed offsets of a deleted topic, so a topic created
      // later under the same name starts without them.
      this.statement('DELETE FROM group_offsets WHERE topic = ?').run(topic.name);
      const markDeleted = this.statement("UPDATE streams SET state = 'deleted' WHERE stream_id = ?");
      const dropRanges = this.statement('DELETE FROM stream_ranges WHERE stream_id = ?');
      for (const s of streams) {
        markDeleted.run(s.stream_id);
        dropRanges.run(s.stream_id);
      }
    });
    tx.immediate();
  }

  async addPartitions(topicId: string, count: number): Promise<PartitionRecord[]> {
    const tx = this.db.transaction(() => {
      const row = this.statement('SELECT COUNT(*) AS n FROM partitions WHERE topic_id = ?').get(topicId) as { n: number };
      if (!this.statement('SELECT 1 FROM topics WHERE topic_id = ?').get(topicId)) throw new NotFoundError(`topic ${topicId} does not exist`);
      return this.insertPartitions(topicId, row.n, count);
    });
    return tx.immediate();
  }

  async setTopicConfigs(topicId: string, configs: Readonly<Record<string, string>>): Promise<void> {
    const tx = this.db.transaction(() => {
      if (!this.statement('SELECT 1 FROM topics WHERE topic_id = ?').get(topicId)) throw new NotFoundError(`topic ${topicId} does not exist`);
      this.statement('DELETE FROM topic_configs WHERE topic_id = ?').run(topicId);
      const insert = this.statement('INSERT INTO topic_configs (topic_id, name, value) VALUES (?, ?, ?)');
      for (const [k, v] of Object.entries(configs)) insert.run(topicId, k, v);
    });
    tx.immediate();
  }

  async openStreams(streamIds: readonly number[]): Promise<OpenedStream[]> {
    const bump = this.statement("UPDATE streams SET epoch = epoch + 1 WHERE stream_id = ? AND state = 'open' RETURNING epoch, start_offset, end_offset");
    // Kafka's LeaderEpochFileCache.assign: entries that start at or after the new
    // epoch's start offset never held data and are replaced by it.
    const dropEmpty = this.statement('DELETE FROM stream_epochs WHERE stream_id = ? AND start_offset >= ?');
    const addEpoch = this.statement('INSERT INTO stream_epochs (stream_id, epoch, start_offset) VALUES (?, ?, ?)');
    const epochs = this.statement('SELECT epoch, start_offset FROM stream_epochs WHERE stream_id = ? ORDER BY epoch');
    const ranges = this.statement(
      `SELECT r.start_offset, r.end_offset, r.object_id, o.object_key, r.position, r.size, r.max_timestamp, r.crc
       FROM stream_ranges r JOIN objects o ON o.object_id = r.object_id
       WHERE r.stream_id = ? AND r.end_offset > ? ORDER BY r.start_offset`,
    );
    const tx = this.db.transaction(() =>
      streamIds.map((id) => {
        const s = bump.get(id) as { epoch: number; start_offset: number; end_offset: number } | undefined;
        if (s === undefined) throw new NotFoundError(`stream ${id} does not exist or was deleted`);
        dropEmpty.run(id, s.end_offset);
        addEpoch.run(id, s.epoch, s.end_offset);
        const history = (epochs.all(id) as { epoch: number; start_offset: number }[]).map(
          (e): EpochEntry => ({ epoch: e.epoch, startOffset: e.start_offset }),
        );
        const rs = (
          ranges.all(id, s.start_offset) as {
            start_offset: number;
            end_offset: number;
            object_id: number;
            object_key: string;
            position: number;
            size: number;
            max_timestamp: number;
            crc: number;
          }[]
        ).map(
          (r): StreamRange => ({
            startOffset: r.start_offset,
            endOffset: r.end_offset,
            objectId: r.object_id,
            objectKey: r.object_key,
            position: r.position,
            size: r.size,
            maxTimestamp: r.max_timestamp,
            crc: r.crc,
          }),
        );
        return { streamId: id, epoch: s.epoch, startOffset: s.start_offset, endOffset: s.end_offset, epochs: history, ranges: rs };
      }),
    );
    return tx.immediate();
  }

  async reserveObjectIds(count: number): Promise<number> {
    const tx = this.db.transaction(() => {
      const first = this.nextIds('object', count);
      this.statement('INSERT INTO object_id_reservations (first_id, count, reserved_at) VALUES (?, ?, ?)').run(first, count, Date.now());
      return first;
    });
    return tx.immediate();
  }

  async commitObject(commit: ObjectCommit): Promise<{ fenced: number[] }> {
    return this.commitObjectTx.immediate(commit);
  }

  /** commitObject's transaction body: the object, then each stream's new end offset (fenced by epoch) and range. */
  private commitObjectRows(c: ObjectCommit): { fenced: number[] } {
    this.checkReserved(c.objectId);
    this.statement("INSERT INTO objects (object_id, object_key, size, state, committed_at, kind) VALUES (?, ?, ?, 'committed', ?, 'stream_set')").run(
      c.objectId,
      c.objectKey,
      c.size,
      Date.now(),
    );
    const advance = this.statement("UPDATE streams SET end_offset = ? WHERE stream_id = ? AND epoch = ? AND end_offset = ? AND state = 'open'");
    const insertRange = this.statement(
      'INSERT INTO stream_ranges (stream_id, start_offset, end_offset, object_id, position, size, max_timestamp, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const fenced: number[] = [];
    for (const s of c.streams) {
      const r = advance.run(s.endOffset, s.streamId, s.epoch, s.startOffset);
      if (r.changes !== 1) {
        fenced.push(s.streamId);
        continue;
      }
      insertRange.run(s.streamId, s.startOffset, s.endOffset, c.objectId, s.position, s.size, s.maxTimestamp, s.crc);
    }
    return { fenced };
  }

  async trimStream(streamId: number, epoch: number, newStartOffset: number): Promise<void> {
    this.db
      .transaction(() => {
        const r = this.statement("UPDATE streams SET start_offset = MAX(start_offset, ?) WHERE stream_id = ? AND epoch = ? AND state = 'open' AND ? <= end_offset")
          .run(newStartOffset, streamId, epoch, newStartOffset);
        if (r.changes !== 1) throw new FencedError(`stream ${streamId} is no longer at epoch ${epoch}`);
        this.statement('DELETE FROM stream_ranges WHERE stream_id = ? AND end_offset <= ?').run(streamId, newStartOffset);
      })
      .immediate();
  }

  async listObjects(): Promise<StoredObject[]> {
    const objects = this.statement("SELECT object_id, object_key, size, kind, committed_at FROM objects WHERE state = 'committed' ORDER BY object_id")
      .all() as { object_id: number; object_key: string; size: number; kind: 'stream_set' | 'stream'; committed_at: number }[];
    const ranges = this.statement(
      `SELECT r.stream_id, r.start_offset, r.end_offset, r.object_id, r.position, r.size, r.max_timestamp, r.crc
       FROM stream_ranges r JOIN objects o ON o.object_id = r.object_id WHERE o.state = 'committed' ORDER BY r.object_id, r.position`,
    ).all() as { stream_id: number; start_offset: number; end_offset: number; object_id: number; position: number; size: number; max_timestamp: number; crc: number }[];
    const byObject = new Map<number, StoredObject['ranges'][number][]>();
    const keys = new Map(objects.map((o) => [o.object_id, o.object_key]));
    for (const r of ranges) {
      let list = byObject.get(r.object_id);
      if (list === undefined) byObject.set(r.object_id, (list = []));
      list.push({
        streamId: r.stream_id,
        startOffset: r.start_offset,
        endOffset: r.end_offset,
        objectId: r.object_id,
        objectKey: keys.get(r.object_id) ?? '',
        position: r.position,
        size: r.size,
        maxTimestamp: r.max_timestamp,
        crc: r.crc,
      });
    }
    // An object no range names is garbage waiting for the next retention pass, not part of any log.
    return objects
      .filter((o) => byObject.has(o.object_id))
      .map((o) => ({ objectId: o.object_id, objectKey: o.object_key, size: o.size, kind: o.kind, committedAt: o.committed_at, ranges: byObject.get(o.object_id) ?? [] }));
  }

  async commitCompaction(c: CompactionCommit): Promise<boolean> {
    const find = this.statement('SELECT 1 FROM stream_ranges WHERE stream_id = ? AND start_offset = ? AND object_id = ?');
    const drop = this.statement('DELETE FROM stream_ranges WHERE stream_id = ? AND start_offset = ? AND object_id = ?');
    const insert = this.statement(
      'INSERT INTO stream_ranges (stream_id, start_offset, end_offset, object_id, position, size, max_timestamp, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const tx = this.db.transaction(() => {
      this.checkReserved(c.objectId);
      for (const r of c.replaced) if (find.get(r.streamId, r.startOffset, r.objectId) === undefined) return false;
      for (const r of c.replaced) drop.run(r.streamId, r.startOffset, r.objectId);
      this.statement("INSERT INTO objects (object_id, object_key, size, state, committed_at, kind) VALUES (?, ?, ?, 'committed', ?, ?)")
        .run(c.objectId, c.objectKey, c.size, Date.now(), c.kind);
      for (const r of c.ranges) insert.run(r.streamId, r.startOffset, r.endOffset, c.objectId, r.position, r.size, r.maxTimestamp, r.crc);
      return true;
    });
    return tx.immediate();
  }

  async markUnreferencedObjects(deleteAfter: number): Promise<number> {
    return this.statement(
      `UPDATE objects SET state = 'deleting', delete_after = ?
       WHERE state = 'committed' AND NOT EXISTS (SELECT 1 FROM stream_ranges r WHERE r.object_id = objects.object_id)`,
    ).run(deleteAfter).changes;
  }

  async objectsDueForDeletion(now: number, limit: number): Promise<{ objectId: number; objectKey: string }[]> {
    return (
      this.statement("SELECT object_id, object_key FROM objects WHERE state = 'deleting' AND delete_after <= ? ORDER BY object_id LIMIT ?").all(now, limit) as {
        object_id: number;
        object_key: string;
      }[]
    ).map((r) => ({ objectId: r.object_id, objectKey: r.object_key }));
  }

  async forgetObjects(objectIds: readonly number[]): Promise<void> {
    const del = this.statement("DELETE FROM objects WHERE object_id = ? AND state = 'deleting'");
    this.db.transaction(() => {
      for (const id of objectIds) del.run(id);
    })();
  }

  async expireObjectIdReservations(reservedBefore: number): Promise<number[]> {
    const tx = this.db.transaction(() => {
      const expired = this.statement('DELETE FROM object_id_reservations WHERE reserved_at < ? RETURNING first_id, count').all(reservedBefore) as {
        first_id: number;
        count: number;
      }[];
      const known = this.statement('SELECT 1 FROM objects WHERE object_id = ?');
      const orphans: number[] = [];
      for (const r of expired) for (let id = r.first_id; id < r.first_id + r.count; id++) if (known.get(id) === undefined) orphans.push(id);
      return orphans;
    });
    return tx.immediate();
  }

  async allocateProducerIds(count: number): Promise<number> {
    return this.db.transaction(() => this.nextIds('producer', count)).immediate();
  }

  async getTransactionalId(transactionalId: string): Promise<TransactionalIdRecord | null> {
    const row = this.statement('SELECT producer_id, producer_epoch, timeout_ms FROM transactional_ids WHERE transactional_id = ?')
      .get(transactionalId) as { producer_id: number; producer_epoch: number; timeout_ms: number } | undefined;
    return row ? { transactionalId, producerId: row.producer_id, producerEpoch: row.producer_epoch, timeoutMs: row.timeout_ms } : null;
  }

  async putTransactionalId(r: TransactionalIdRecord): Promise<void> {
    this.statement(
      `INSERT INTO transactional_ids (transactional_id, producer_id, producer_epoch, timeout_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT(transactional_id) DO UPDATE SET producer_id = excluded.producer_id, producer_epoch = excluded.producer_epoch, timeout_ms = excluded.timeout_ms`,
    ).run(r.transactionalId, r.producerId, r.producerEpoch, r.timeoutMs);
  }

  async loadGroups(): Promise<StoredGroups> {
    const groups = (
      this.statement('SELECT group_id, protocol_type, protocol_name, generation_id, state, state_timestamp FROM consumer_groups').all() as {
        group_id: string;
        protocol_type: string | null;
        protocol_name: string | null;
        generation_id: number;
        state: string;
        state_timestamp: number;
      }[]
    ).map((r) => ({
      groupId: r.group_id,
      protocolType: r.protocol_type,
      protocolName: r.protocol_name,
      generationId: r.generation_id,
      state: r.state,
      stateTimestamp: r.state_timestamp,
    }));
    const offsets = (
      this.statement('SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp, expire_timestamp FROM group_offsets')
        .all() as {
        group_id: string;
        topic: string;
        partition: number;
        committed_offset: number;
        leader_epoch: number;
        metadata: string;
        commit_timestamp: number;
        expire_timestamp: number | null;
      }[]
    ).map((r) => ({
      groupId: r.group_id,
      topic: r.topic,
      partition: r.partition,
      offset: r.committed_offset,
      leaderEpoch: r.leader_epoch,
      metadata: r.metadata,
      commitTimestamp: r.commit_timestamp,
      expireTimestamp: r.expire_timestamp,
    }));
    return { groups, offsets };
  }

  private upsertGroup(g: GroupRecord): void {
    this.statement(
      `INSERT INTO consumer_groups (group_id, protocol_type, protocol_name, generation_id, state, state_timestamp) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(group_id) DO UPDATE SET protocol_type = excluded.protocol_type, protocol_name = excluded.protocol_name,
         generation_id = excluded.generation_id, state = excluded.state, state_timestamp = excluded.state_timestamp`,
    ).run(g.groupId, g.protocolType, g.protocolName, g.generationId, g.state, g.stateTimestamp);
  }

  async storeGroup(group: GroupRecord): Promise<void> {
    this.upsertGroup(group);
  }

  async commitOffsets(group: GroupRecord, offsets: readonly CommittedOffset[]): Promise<void> {
    const put = this.statement(
      `INSERT INTO group_offsets (group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp, expire_timestamp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(group_id, topic, partition) DO UPDATE SET committed_offset = excluded.committed_offset, leader_epoch = excluded.leader_epoch,
         metadata = excluded.metadata, commit_timestamp = excluded.commit_timestamp, expire_timestamp = excluded.expire_timestamp`,
    );
    this.db
      .transaction(() => {
        this.upsertGroup(group);
        for (const o of offsets) put.run(group.groupId, o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata, o.commitTimestamp, o.expireTimestamp);
      })
      .immediate();
  }

  async deleteOffsets(groupId: string, partitions: readonly { readonly topic: string; readonly partition: number }[]): Promise<void> {
    const del = this.statement('DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?');
    this.db.transaction(() => {
      for (const p of partitions) del.run(groupId, p.topic, p.partition);
    })();
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    const del = this.statement('DELETE FROM consumer_groups WHERE group_id = ?');
    this.db.transaction(() => {
      for (const g of groupIds) del.run(g);
    })();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
