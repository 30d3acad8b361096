// One table topic's coordinator (ARCHITECTURE §7.4): every commit interval
// it converts what the log committed since the table's last snapshot and
// commits one snapshot through the catalog.
//
// Exactly once: the snapshot summary records each Kafka partition's next
// offset (floe.kafka.offsets) and a commit id. Conversion always resumes
// from the offsets of the table's current snapshot, never from memory that
// a crash could lose; a commit asserts the snapshot it was built on, and a
// conflict is resolved by reloading the table: if our commit id is there,
// it landed; if another writer moved the offsets, our files are dropped and
// conversion restarts from the table's offsets. Files written by a commit
// that never landed are found and deleted when the coordinator starts.
//
// Dead letters go to <table>_dlq, committed before the table in the same
// interval with the same offsets, so a crash between the two commits
// replays only what the table lacks and skips what the dead-letter table has.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { TableTopicSettings } from '../config/table-topic-config.js';
import { bufferPool } from '../memory/buffer-pool.js';
import { avroToIceberg } from './convert/avro-schema.js';
import type { ErrorsTolerance, SchemaText, WrittenFile } from './convert/converter.js';
import { IncompatibleSchemaError, mergeSchema } from './convert/evolve.js';
import { rawSchema, schemaLayout, usesSchema, type Layout } from './convert/layout.js';
import type { ConvertPool, ConvertSession } from './convert/pool.js';
import { crashPoint } from './crash-points.js';
import { RepeatedFailureLog } from './failure-log.js';
import type { FileIO } from './file-io.js';
import { planExpiry, unreachableFiles } from './iceberg/expire-snapshots.js';
import { isFloeMetadataFile, prepareAppend } from './iceberg/fast-append.js';
import { readManifest, readManifestList, type DataFile } from './iceberg/manifest.js';
import { currentSchema, currentSnapshot, defaultSpec, PARTITION_FIELD_ID_START, type PartitionSpec, type TableMetadata, type TableUpdate } from './iceberg/metadata.js';
import type { IcebergSchema, StructType } from './iceberg/types.js';
import { maxFieldId } from './iceberg/types.js';
import { CatalogError, isCommitConflict, type Catalog, type LoadedTable, type TableIdentifier } from './catalog/catalog.js';
import { partitionSpecFor } from './partition-by.js';

export const OFFSETS_PROPERTY = 'floe.kafka.offsets';
export const COMMIT_ID_PROPERTY = 'floe.commit-id';

/** The log as the coordinator reads it: the same read API a consumer's Fetch uses. */
export interface TopicLog {
  partitionCount(): number;
  /** [log start, committed end) of a partition, or null if it is gone. */
  bounds(partition: number): { start: number; end: number } | null;
  read(partition: number, offset: number, maxBytes: number): Promise<Buffer[]>;
}

export interface SchemaSource {
  /** A registered schema with its references' texts, or null when the id is unknown. */
  schema(id: number): Promise<SchemaText | null>;
  latestId(subject: string): Promise<number | null>;
}

export interface CoordinatorDeps {
  readonly catalog: Catalog;
  readonly io: FileIO;
  readonly pool: ConvertPool;
  readonly schemas: SchemaSource;
  readonly log: Logger;
  readonly targetFileBytes: number;
  readonly readBytes?: number;
  readonly onCommit?: (stats: { topic: string; records: number; deadLetters: number; files: number; seconds: number }) => void;
  readonly onFailure?: (topic: string) => void;
  readonly onExpire?: (stats: { topic: string; snapshots: number; files: number }) => void;
}

export interface PartitionStatus {
  readonly partition: number;
  readonly committedOffset: number | null;
  readonly convertedOffset: number | null;
  readonly error: { readonly offset: number; readonly message: string } | null;
}

interface PartitionState {
  session: ConvertSession;
  nextOffset: number;
  error: { offset: number; message: string } | null;
}

type Offsets = Map<number, number>;

/** Where a table is and what it has committed. */
interface TableState {
  readonly id: TableIdentifier;
  loaded: LoadedTable | null;
  offsets: Offsets;
  pending: DataFile[];
}

const READ_BYTES = 4 * 1024 * 1024;
const CONVERT_TICK_MS = 1000;
const UNKNOWN_SCHEMA: SchemaText = { schemaType: 'UNKNOWN', schema: '', references: [] };
const MAX_COMMIT_ATTEMPTS = 10;

export class TableTopicCoordinator {
  private readonly table: TableState;
  private readonly dlq: TableState;
  private readonly partitions = new Map<number, PartitionState>();
  private readonly schemaTexts = new Map<number, SchemaText>();
  /** Schema ids the registry did not know when a record named them: asked again while a partition is stopped on one. */
  private readonly unknownSchemaIds = new Set<number>();
  /** The table schema conversion writes with: the table's, evolved by the schemas seen since. */
  private working: IcebergSchema | null = null;
  private spec: PartitionSpec = { 'spec-id': 0, fields: [] };
  private initialized = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private commitSeq = 0;
  private commitId = randomUUID();
  lastCommitError: string | null = null;
  private readonly failures: RepeatedFailureLog;

  constructor(
    readonly topic: string,
    readonly settings: TableTopicSettings,
    private readonly log: TopicLog,
    private readonly deps: CoordinatorDeps,
  ) {
    const ns = settings.namespace.split('.');
    this.table = { id: { namespace: ns, name: topic }, loaded: null, offsets: new Map(), pending: [] };
    this.dlq = { id: { namespace: ns, name: `${topic}_dlq` }, loaded: null, offsets: new Map(), pending: [] };
    this.failures = new RepeatedFailureLog(deps.log, { topic }, 'table topic commit');
  }

  get identifier(): TableIdentifier {
    return this.table.id;
  }

  private get layout(): Layout {
    return { valueType: this.settings.valueType, keyType: this.settings.keyType, flatten: this.settings.flatten };
  }

  /**
   * Converts what the log has every CONVERT_TICK_MS and commits every
   * commit interval (the first tick commits, so the table appears at once):
   * an interval's conversion is spread over it, not one burst at its end
   * competing with produce for the CPU.
   */
  start(): void {
    const tickMs = Math.min(this.settings.commitIntervalMs, CONVERT_TICK_MS);
    let lastCommit = Number.NEGATIVE_INFINITY;
    const tick = () => {
      if (this.stopped) return;
      const now = performance.now();
      const commit = now - lastCommit >= this.settings.commitIntervalMs;
      if (commit) lastCommit = now;
      this.running = this.exclusive(() => (commit ? this.runOnce() : this.convertAvailable()))
        .then(() => {
          if (commit) this.failures.succeeded();
        })
        .catch((err: unknown) => {
          this.lastCommitError = (err as Error).message;
          this.deps.onFailure?.(this.topic);
          this.failures.failed(err);
        })
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, tickMs);
        });
    };
    this.timer = setTimeout(tick, Math.min(this.settings.commitIntervalMs, 1000));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running;
    await Promise.all([...this.partitions.values()].map((p) => p.session.close().catch(() => undefined)));
    this.partitions.clear();
  }

  status(): PartitionStatus[] {
    const out: PartitionStatus[] = [];
    for (let p = 0; p < this.log.partitionCount(); p++) {
      const s = this.partitions.get(p);
      out.push({ partition: p, committedOffset: this.table.offsets.get(p) ?? null, convertedOffset: s?.nextOffset ?? null, error: s?.error ?? null });
    }
    return out;
  }

  /** Records the log has committed and the table has not. */
  lag(): number {
    let lag = 0;
    for (let p = 0; p < this.log.partitionCount(); p++) {
      const b = this.log.bounds(p);
      if (b !== null) lag += Math.max(0, b.end - Math.max(b.start, this.table.offsets.get(p) ?? b.start));
    }
    return lag;
  }

  /** Runs table work one piece at a time: an interval's commit and a maintenance call never interleave. */
  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.catch(() => undefined).then(run);
    this.queue = next;
    return next;
  }

  /** Converts each partition up to the log's committed end, keeping files open for the next commit. */
  async convertAvailable(): Promise<void> {
    if (!this.initialized) await this.initialize();
    if ([...this.partitions.values()].some((s) => s.error !== null)) await this.retryUnknownSchemas();
    for (let p = 0; p < this.log.partitionCount(); p++) await this.convertPartition(p);
  }

  /** The end of a commit interval: convert the rest, finish the files, commit. */
  async runOnce(): Promise<void> {
    const started = performance.now();
    await this.convertAvailable();
    for (const [p, state] of this.partitions) {
      const files = await state.session.flush();
      await this.upload(p, files);
    }
    const records = this.table.pending.reduce((n, f) => n + f.recordCount, 0);
    const deadLetters = this.dlq.pending.reduce((n, f) => n + f.recordCount, 0);
    const offsets = new Map(this.table.offsets);
    for (const [p, s] of this.partitions) offsets.set(p, s.nextOffset);
    const advanced = [...offsets].some(([p, o]) => this.table.offsets.get(p) !== o);
    if (!advanced && this.table.pending.length === 0) {
      await this.commitSpecChange();
      return;
    }
    crashPoint('after-data-files');
    const files = this.table.pending.length + this.dlq.pending.length;
    if (this.dlq.pending.length > 0) await this.commit(this.dlq, rawSchema(this.layout, true), { 'spec-id': 0, fields: [] }, offsets);
    await this.commit(this.table, this.working!, this.spec, offsets);
    this.lastCommitError = null;
    this.commitId = randomUUID();
    this.deps.onCommit?.({ topic: this.topic, records, deadLetters, files, seconds: (performance.now() - started) / 1000 });
    if (this.settings.expireSnapshots) {
      // The commit has landed: an expiry that fails is retried after the next one, not reported as a failed commit.
      await this.expire(Date.now()).catch((err: unknown) => this.deps.log.warn({ err, topic: this.topic }, 'snapshot expiry failed; retrying after the next commit'));
    }
  }

  /**
   * Expires snapshots older than expire.snapshot.older.than.hours before
   * `now` (keeping retain.last) in the table and its dead-letter table, and
   * deletes the files only they reached. Runs after every commit; callable
   * with another `now` to see what a later run would do.
   */
  async expireSnapshots(now: number): Promise<{ snapshots: number; files: number }> {
    return this.exclusive(() => this.expire(now));
  }

  private async expire(now: number): Promise<{ snapshots: number; files: number }> {
    let snapshots = 0;
    let files = 0;
    for (const t of [this.table, this.dlq]) {
      const before = t.loaded?.metadata;
      if (before === undefined) continue;
      const plan = planExpiry(before, { expireBefore: now - this.settings.expireOlderThanMs, retainLast: this.settings.retainLast });
      if (plan === null) continue;
      try {
        t.loaded = await this.deps.catalog.commitTable(t.id, plan.requirements, plan.updates);
      } catch (err) {
        if (isCommitConflict(err)) return { snapshots, files }; // another commit landed; the next run plans again
        throw err;
      }
      const gone = this.deps.io.owns(before.location) ? await unreachableFiles(this.deps.io, before, t.loaded.metadata) : [];
      await this.deps.io.delete(gone);
      snapshots += plan.snapshotIds.length;
      files += gone.length;
      this.deps.log.info({ topic: this.topic, table: t.id.name, snapshots: plan.snapshotIds.length, files: gone.length }, 'expired table snapshots');
    }
    if (snapshots > 0) this.deps.onExpire?.({ topic: this.topic, snapshots, files });
    return { snapshots, files };
  }

  private async initialize(): Promise<void> {
    await this.deps.catalog.createNamespace(this.table.id.namespace).catch((err: unknown) => {
      if (!(err instanceof CatalogError && err.type === 'AlreadyExistsException')) throw err;
    });
    for (const t of [this.table, this.dlq]) {
      t.loaded = await this.load(t.id);
      t.offsets = t.loaded === null ? new Map() : offsetsOf(t.loaded.metadata);
      if (t.loaded !== null) await this.removeOrphans(t.id, t.loaded.metadata);
    }
    if (this.table.loaded !== null) {
      this.working = currentSchema(this.table.loaded.metadata);
      this.spec = defaultSpec(this.table.loaded.metadata);
    } else if (!usesSchema(this.layout)) {
      this.working = rawSchema(this.layout);
    }
    if (this.working !== null) this.spec = this.specFor(this.working, this.table.loaded?.metadata ?? null);
    this.initialized = true;
  }

  private async load(id: TableIdentifier): Promise<LoadedTable | null> {
    try {
      return await this.deps.catalog.loadTable(id);
    } catch (err) {
      if (err instanceof CatalogError && err.status === 404) return null;
      throw err;
    }
  }

  /** The partition spec partition.by asks for over `schema`, reusing field ids the table already gave the same fields. */
  private specFor(schema: IcebergSchema, metadata: TableMetadata | null): PartitionSpec {
    if (this.settings.partitionBy === null) return { 'spec-id': 0, fields: [] };
    const previous = (metadata?.['partition-specs'] ?? []).flatMap((s) => s.fields);
    return partitionSpecFor(schema, this.settings.partitionBy, previous, metadata?.['last-partition-id'] ?? PARTITION_FIELD_ID_START - 1);
  }

  private async session(p: number): Promise<PartitionState | null> {
    const existing = this.partitions.get(p);
    if (existing !== undefined) return existing;
    const bounds = this.log.bounds(p);
    if (bounds === null) return null;
    if (this.working === null) {
      // A schema-layout table is created from the first value's schema: learn it before opening sessions.
      if (!(await this.learnFirstSchema())) return null;
    }
    const start = this.table.offsets.get(p) ?? bounds.start;
    const dlqStart = Math.max(this.dlq.offsets.get(p) ?? start, start);
    const latestSchemaId = this.settings.valueType === 'by_latest_schema' ? await this.deps.schemas.latestId(this.settings.latestSchemaSubject ?? `${this.topic}-value`) : null;
    const session = await this.deps.pool.open({
      partition: p,
      layout: this.layout,
      tableSchema: this.working!,
      spec: this.spec,
      dlqSchema: rawSchema(this.layout, true),
      targetFileBytes: this.deps.targetFileBytes,
      errorsTolerance: this.settings.errorsTolerance as ErrorsTolerance,
      startOffset: start,
      dlqStartOffset: dlqStart,
      latestSchemaId,
    });
    const state: PartitionState = { session, nextOffset: Math.min(start, dlqStart), error: null };
    this.partitions.set(p, state);
    return state;
  }

  /** For a table that does not exist yet: the table schema from the subject's latest schema. */
  private async learnFirstSchema(): Promise<boolean> {
    const subject = this.settings.latestSchemaSubject ?? `${this.topic}-value`;
    const id = await this.deps.schemas.latestId(subject);
    if (id === null) return false;
    const text = await this.deps.schemas.schema(id);
    if (text === null || text.schemaType !== 'AVRO') return false;
    this.schemaTexts.set(id, text);
    this.working = { ...this.tableStruct(text), 'schema-id': 0 };
    this.spec = this.specFor(this.working, null);
    return true;
  }

  private tableStruct(text: SchemaText): StructType {
    const { struct } = avroToIceberg(text.schema, text.references);
    return schemaLayout(struct, this.layout);
  }

  private async convertPartition(p: number): Promise<void> {
    const state = await this.session(p);
    if (state === null) return;
    const bounds = this.log.bounds(p);
    if (bounds === null) return;
    // A stopped partition keeps its error (for the status endpoint) until a retry gets past it.
    const previous = state.error;
    if (state.nextOffset < bounds.start) {
      this.deps.log.warn({ topic: this.topic, partition: p, from: state.nextOffset, to: bounds.start }, 'records were deleted by retention before the table got them');
      state.nextOffset = bounds.start;
    }
    const end = bounds.end;
    while (state.nextOffset < end && !this.stopped) {
      const batches = await this.log.read(p, state.nextOffset, this.deps.readBytes ?? READ_BYTES);
      if (batches.length === 0) break;
      try {
        if (await this.convert(p, state, previous, batches)) return;
      } finally {
        // read() held them for us (buffer pool): the log cache may evict them once this conversion is done with them.
        bufferPool.releaseAll(batches);
      }
    }
  }

  /** Converts batches read from the log; true when conversion is to stop for now (caught up, or stopped at a bad record). */
  private async convert(p: number, state: PartitionState, previous: PartitionState['error'], batches: readonly Buffer[]): Promise<boolean> {
    for (;;) {
      const outcome = await state.session.append(batches);
      await this.upload(p, outcome.files);
      const before = state.nextOffset;
      state.nextOffset = outcome.nextOffset;
      if (outcome.status === 'ok') {
        state.error = null;
        return outcome.nextOffset === before; // nothing past this point yet
      }
      if (outcome.status === 'failed') {
        state.error = { offset: outcome.offset, message: outcome.error };
        // Logged once per stop, not at every retry.
        if (previous?.offset !== outcome.offset || previous.message !== outcome.error) {
          this.deps.log.error({ topic: this.topic, partition: p, offset: outcome.offset, error: outcome.error }, 'table conversion stopped at a record it cannot convert (errors.tolerance=none)');
        }
        return true;
      }
      await this.provideSchemas(state, outcome.ids);
    }
  }

  /** Fetches schemas a session asked for, evolving the table schema to cover them first. */
  private async provideSchemas(state: PartitionState, ids: readonly number[]): Promise<void> {
    const texts = new Map<number, SchemaText>();
    for (const id of ids) texts.set(id, (await this.fetchSchema(id)) ?? UNKNOWN_SCHEMA);
    await state.session.addSchemas(texts);
  }

  private async fetchSchema(id: number): Promise<SchemaText | null> {
    let text = this.schemaTexts.get(id) ?? null;
    if (text === null) {
      text = await this.deps.schemas.schema(id);
      if (text === null) {
        this.unknownSchemaIds.add(id);
        return null;
      }
      this.unknownSchemaIds.delete(id);
      this.schemaTexts.set(id, text);
      if (text.schemaType === 'AVRO') await this.evolve(text);
    }
    return text;
  }

  /**
   * A partition stopped (errors.tolerance=none) on a record whose schema was
   * not registered resumes once it is: every session learns the schema.
   */
  private async retryUnknownSchemas(): Promise<void> {
    const found = new Map<number, SchemaText>();
    for (const id of [...this.unknownSchemaIds]) {
      const text = await this.fetchSchema(id);
      if (text !== null) found.set(id, text);
    }
    if (found.size > 0) for (const s of this.partitions.values()) await s.session.addSchemas(found);
  }

  private async evolve(text: SchemaText): Promise<void> {
    let incoming: StructType;
    try {
      incoming = this.tableStruct(text);
    } catch {
      return; // unconvertible schemas make their records dead letters, not table columns
    }
    const current = this.working!;
    let merged;
    try {
      merged = mergeSchema(current, incoming, Math.max(this.table.loaded?.metadata['last-column-id'] ?? 0, maxFieldId(current)));
    } catch (err) {
      if (err instanceof IncompatibleSchemaError) return; // its records fail to fit and become dead letters
      throw err;
    }
    if (!merged.changed) return;
    this.working = { ...merged.struct, 'schema-id': current['schema-id'] + 1 };
    this.deps.log.info({ topic: this.topic, schemaId: this.working['schema-id'] }, 'table schema evolved');
    for (const s of this.partitions.values()) await s.session.setTableSchema(this.working, this.spec);
  }

  private async upload(partition: number, files: readonly WrittenFile[]): Promise<void> {
    for (const f of files) {
      const target = f.dlq ? this.dlq : this.table;
      const location = target.loaded?.metadata.location ?? (await this.defaultLocation(target.id));
      const path = `${location}/data/floe-${this.commitId}-${partition}-${this.commitSeq++}.parquet`;
      const bytes = Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
      await this.deps.io.write(path, bytes);
      // Buffers arrive from the worker as Uint8Arrays; avsc encodes bytes from Buffers.
      const buffers = (m: ReadonlyMap<number, Uint8Array>) => new Map([...m].map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]));
      target.pending.push({
        content: 0,
        filePath: path,
        fileFormat: 'PARQUET',
        partition: f.partition,
        recordCount: f.recordCount,
        fileSizeInBytes: bytes.length,
        columnSizes: f.columnSizes,
        valueCounts: f.valueCounts,
        nullValueCounts: f.nullValueCounts,
        nanValueCounts: f.nanValueCounts,
        lowerBounds: buffers(f.lowerBounds),
        upperBounds: buffers(f.upperBounds),
        splitOffsets: f.splitOffsets,
      });
    }
  }

  /** Where the catalog will put a table not created yet: created now, empty, to learn it. */
  private async defaultLocation(id: TableIdentifier): Promise<string> {
    const target = id.name === this.table.id.name ? this.table : this.dlq;
    const schema = target === this.dlq ? rawSchema(this.layout, true) : this.working!;
    const spec = target === this.dlq ? { 'spec-id': 0, fields: [] } : this.spec;
    target.loaded = await this.createTable(id, schema, spec);
    return target.loaded.metadata.location;
  }

  private async createTable(id: TableIdentifier, schema: IcebergSchema, spec: PartitionSpec): Promise<LoadedTable> {
    try {
      return await this.deps.catalog.createTable(id.namespace, {
        name: id.name,
        schema,
        partitionSpec: spec,
        properties: {
          'floe.kafka.topic': this.topic,
          'write.format.default': 'parquet',
          'write.parquet.compression-codec': 'zstd',
          // A commit per interval would otherwise keep every metadata file forever.
          'write.metadata.delete-after-commit.enabled': 'true',
          'write.metadata.previous-versions-max': '100',
        },
      });
    } catch (err) {
      if (err instanceof CatalogError && err.type === 'AlreadyExistsException') return this.deps.catalog.loadTable(id);
      throw err;
    }
  }

  private async commit(t: TableState, schema: IcebergSchema, spec: PartitionSpec, offsets: Offsets): Promise<void> {
    const summary = { [OFFSETS_PROPERTY]: JSON.stringify(Object.fromEntries([...offsets].sort((a, b) => a[0] - b[0]))), [COMMIT_ID_PROPERTY]: this.commitId };
    for (let attempt = 1; ; attempt++) {
      t.loaded ??= await this.createTable(t.id, schema, spec);
      const base = t.loaded.metadata;
      const prepared = await prepareAppend(this.deps.io, withSpec(base, spec), { files: t.pending, schema, summary });
      crashPoint('after-manifests');
      const updates = specUpdates(base, spec).concat(prepared.updates);
      try {
        t.loaded = await this.deps.catalog.commitTable(t.id, prepared.requirements, updates);
        crashPoint('after-catalog-commit');
        break;
      } catch (err) {
        const conflict = isCommitConflict(err) || (err instanceof CatalogError && err.type === 'CommitStateUnknownException');
        if (!conflict) {
          await this.deps.io.delete(prepared.written).catch(() => undefined);
          throw err;
        }
        const now = await this.deps.catalog.loadTable(t.id);
        if (now.metadata.snapshots.some((s) => s.summary[COMMIT_ID_PROPERTY] === this.commitId)) {
          t.loaded = now; // it landed after all
          break;
        }
        await this.deps.io.delete(prepared.written).catch(() => undefined);
        const theirs = offsetsOf(now.metadata);
        if (!sameOffsets(theirs, t.offsets)) {
          // Someone else converted these offsets: drop ours and restart from the table's.
          await this.deps.io.delete(t.pending.map((f) => f.filePath)).catch(() => undefined);
          t.pending = [];
          t.loaded = now;
          t.offsets = theirs;
          await this.resetSessions();
          throw new Error(`table ${t.id.name} was committed by another writer; conversion restarts from its offsets`);
        }
        t.loaded = now;
        if (attempt >= MAX_COMMIT_ATTEMPTS) throw err;
      }
    }
    t.pending = [];
    t.offsets = new Map(offsets);
  }

  /** A partition.by change with no data to commit still shows in the table at once, as a spec-only commit. */
  private async commitSpecChange(): Promise<void> {
    const t = this.table;
    if (t.loaded === null) return;
    const base = t.loaded.metadata;
    const updates = specUpdates(base, this.spec);
    if (updates.length === 0) return;
    t.loaded = await this.deps.catalog.commitTable(
      t.id,
      [
        { type: 'assert-table-uuid', uuid: base['table-uuid'] },
        { type: 'assert-default-spec-id', 'default-spec-id': base['default-spec-id'] },
      ],
      updates,
    );
    this.deps.log.info({ topic: this.topic, specId: t.loaded.metadata['default-spec-id'] }, 'table partition spec changed');
  }

  private async resetSessions(): Promise<void> {
    await Promise.all([...this.partitions.values()].map((p) => p.session.close().catch(() => undefined)));
    this.partitions.clear();
    this.initialized = false;
  }

  /**
   * Deletes what a commit that never landed left behind: data files and
   * manifests named by Floe that no snapshot references (one coordinator per
   * topic, so none of them belongs to a commit in flight), and, through the
   * catalog, metadata files written but never committed.
   */
  private async removeOrphans(id: TableIdentifier, m: TableMetadata): Promise<void> {
    const metadataFiles = (await this.deps.catalog.removeUncommittedMetadata?.(id)) ?? 0;
    const referenced = new Set<string>();
    for (const s of m.snapshots) {
      referenced.add(s['manifest-list']);
      for (const mf of await readManifestList(await this.deps.io.read(s['manifest-list']))) {
        if (referenced.has(mf.manifestPath)) continue;
        referenced.add(mf.manifestPath);
        for (const e of (await readManifest(await this.deps.io.read(mf.manifestPath))).entries) referenced.add(e.dataFile.filePath);
      }
    }
    if (!this.deps.io.owns(m.location)) return;
    const orphans: string[] = [];
    for await (const o of this.deps.io.list(`${m.location}/data/`)) {
      if (/\/floe-[^/]+\.parquet$/.test(o.uri) && !referenced.has(o.uri)) orphans.push(o.uri);
    }
    for await (const o of this.deps.io.list(`${m.location}/metadata/`)) {
      if (isFloeMetadataFile(o.uri) && !referenced.has(o.uri)) orphans.push(o.uri);
    }
    if (orphans.length + metadataFiles > 0) {
      this.deps.log.info({ topic: this.topic, table: m.location, orphans: orphans.length, metadataFiles }, 'deleting files of table commits that never landed');
      await this.deps.io.delete(orphans);
    }
  }
}

function offsetsOf(m: TableMetadata): Offsets {
  const s = currentSnapshot(m);
  const raw = s?.summary[OFFSETS_PROPERTY];
  if (raw === undefined) return new Map();
  return new Map(Object.entries(JSON.parse(raw) as Record<string, number>).map(([p, o]) => [Number(p), o]));
}

function sameOffsets(a: Offsets, b: Offsets): boolean {
  return a.size === b.size && [...a].every(([p, o]) => b.get(p) === o);
}

/** The table's metadata as if `spec` were its default spec (for writing manifests before the commit that adds it). */
function withSpec(m: TableMetadata, spec: PartitionSpec): TableMetadata {
  const existing = m['partition-specs'].find((s) => JSON.stringify(s.fields) === JSON.stringify(spec.fields));
  if (existing !== undefined) return { ...m, 'default-spec-id': existing['spec-id'] };
  const id = m['partition-specs'].reduce((max, s) => Math.max(max, s['spec-id'] + 1), 0);
  return { ...m, 'partition-specs': [...m['partition-specs'], { ...spec, 'spec-id': id }], 'default-spec-id': id };
}

function specUpdates(m: TableMetadata, spec: PartitionSpec): TableUpdate[] {
  const current = defaultSpec(m);
  if (JSON.stringify(current.fields) === JSON.stringify(spec.fields)) return [];
  const existing = m['partition-specs'].find((s) => JSON.stringify(s.fields) === JSON.stringify(spec.fields));
  if (existing !== undefined) return [{ action: 'set-default-spec', 'spec-id': existing['spec-id'] }];
  return [
    { action: 'add-spec', spec },
    { action: 'set-default-spec', 'spec-id': -1 },
  ];
}
