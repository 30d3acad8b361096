// One Kafka partition's conversion: record batches in (as the log holds
// them), Parquet data files out, split by the table's partition tuple and
// cut at the target file size, plus dead-letter rows for records that
// cannot become rows. Pure computation with no I/O: it runs inside a worker
// thread (worker.ts) and is unit-testable as is.
//
// Schemas come from the main thread, which owns the registry and the
// table: when a record names a schema id the converter does not know yet,
// append() stops there and asks for it; the caller evolves the table schema
// if needed, hands both over, and appends the rest again (records below
// nextOffset are skipped, so re-sending a batch is harmless).

import type avro from 'avsc';
import { isUtf8 } from 'node:buffer';
import { BATCH_HEADER_SIZE, compressionOf, isControlBatch, readBatchHeader, splitBatches, TimestampType, timestampTypeOf } from '../../protocol/records/batch.js';
import { decompress, decompressSync } from '../../protocol/records/compression.js';
import { RecordCursor, type DecodedRecord } from '../../protocol/records/record.js';
import type { PartitionSpec } from '../iceberg/metadata.js';
import { partitionType, type ColumnMetrics } from '../iceberg/manifest.js';
import { applyTransform, parseTransformName, type Transform } from '../iceberg/transforms.js';
import type { IcebergSchema, StructType } from '../iceberg/types.js';
import { fieldPath, isStruct } from '../iceberg/types.js';
import { AvroCursor, compileExtractor, compileValueDecoder, type Decode } from './avro-decode.js';
import { avroToIceberg } from './avro-schema.js';
import { avroType, compileStructReader, ConversionError, decodeAvro } from './avro-values.js';
import { type Column, PrimitiveColumn, RowColumns, StructColumn } from './columns.js';
import { DLQ_ERROR, DLQ_SCHEMA_ID, KAFKA_HEADER, KAFKA_KEY, KAFKA_METADATA, KAFKA_VALUE, schemaLayout, usesSchema, type Layout } from './layout.js';
import { writeParquet } from './parquet.js';

const KAFKA_COLUMNS = new Set([KAFKA_KEY, KAFKA_HEADER, KAFKA_METADATA]);

export type ErrorsTolerance = 'none' | 'invalid_data' | 'all';

export interface ConverterOptions {
  readonly partition: number;
  readonly layout: Layout;
  readonly tableSchema: IcebergSchema;
  readonly spec: PartitionSpec;
  readonly dlqSchema: IcebergSchema;
  readonly targetFileBytes: number;
  readonly errorsTolerance: ErrorsTolerance;
  /** First offset to convert (the table's committed next offset). */
  readonly startOffset: number;
  /** Records below this go to the dead-letter table only if not already there (its own committed offset). */
  readonly dlqStartOffset: number;
  /** by_latest_schema: the schema id every value is decoded with. */
  readonly latestSchemaId: number | null;
}

export interface SchemaText {
  readonly schemaType: string;
  readonly schema: string;
  /** Schemas of the references, dependencies first. */
  readonly references: readonly string[];
}

export interface WrittenFile extends ColumnMetrics {
  readonly bytes: Uint8Array;
  readonly dlq: boolean;
  readonly recordCount: number;
  readonly partition: Record<string, unknown>;
  readonly schemaId: number;
  readonly splitOffsets: number[];
}

export type AppendOutcome =
  | { readonly status: 'ok'; readonly nextOffset: number; readonly files: WrittenFile[] }
  | { readonly status: 'need-schemas'; readonly ids: number[]; readonly nextOffset: number; readonly files: WrittenFile[] }
  | { readonly status: 'failed'; readonly offset: number; readonly error: string; readonly nextOffset: number; readonly files: WrittenFile[] };

interface CompiledSchema {
  readonly type: avro.Type | null;
  readonly read: ((v: unknown) => Record<string, unknown>) | null;
  /** Why this schema's records cannot be rows (unsupported format), or null. */
  readonly error: string | null;
}

class RecordError extends Error {
  constructor(
    message: string,
    readonly schemaId: number | null,
  ) {
    super(message);
  }
}

interface OpenFile {
  readonly columns: RowColumns;
  readonly partition: Record<string, unknown>;
  /** Avro decoders into these columns, by schema id (see pushDirect). */
  readonly decoders: Map<number, Decode>;
  readonly kafka: KafkaColumns;
  /**
   * The columns a value goes to: _kafka_value (raw and string layouts, or a
   * struct), or the value's fields when flattened. A tombstone nulls them.
   */
  readonly valueColumns: readonly Column[];
}

/** The Kafka columns of a file, pushed into one by one after a decoded value. */
class KafkaColumns {
  private readonly key: PrimitiveColumn;
  private readonly header: Column;
  private readonly metadata: StructColumn;
  private readonly partition: Column;
  private readonly offset: Column;
  private readonly timestamp: Column;

  constructor(root: StructColumn) {
    this.key = root.child(KAFKA_KEY) as PrimitiveColumn;
    this.header = root.child(KAFKA_HEADER)!;
    this.metadata = root.child(KAFKA_METADATA) as StructColumn;
    this.partition = this.metadata.child('partition')!;
    this.offset = this.metadata.child('offset')!;
    this.timestamp = this.metadata.child('timestamp')!;
  }

  push(r: RecordCursor, partition: number, offset: number, timestampMicros: number): void {
    // A string key goes to its column as the bytes it is when they are UTF-8 (see keyOf).
    if (r.keyLength < 0) this.key.push(null);
    else this.key.pushSlice(r.buf, r.keyStart, r.keyStart + r.keyLength, true);
    this.header.push(r.headerCount === 0 ? null : r.headers());
    this.partition.push(partition);
    this.offset.push(offset);
    this.timestamp.push(timestampMicros);
    this.metadata.pushValid();
  }
}

const NO_PARTITION = { key: '', partition: {} };

function samePartitionValue(a: unknown, b: unknown): boolean {
  return a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
}

/** A partition source value read straight from a record (see sourceOf). */
type Source = (r: RecordCursor, offset: number, timestamp: number) => unknown;

function rethrowAsRecordError(err: unknown, schemaId: number | null): never {
  // Malformed bytes (ConversionError) and values that do not fit their column (TypeError) are the record's fault.
  if (err instanceof ConversionError) throw new RecordError(err.message, schemaId);
  if (err instanceof TypeError || err instanceof RangeError) throw new RecordError(`value does not fit the table: ${err.message}`, schemaId);
  throw err;
}

interface SpecField {
  readonly name: string;
  readonly transform: Transform;
  readonly sourceType: string;
  readonly path: readonly string[];
}

export class PartitionConverter {
  private schema: IcebergSchema;
  private specFields: SpecField[];
  private readonly compiled = new Map<number, CompiledSchema>();
  private readonly texts = new Map<number, SchemaText>();
  private readonly open = new Map<string, OpenFile>();
  private readonly cursor = new AvroCursor();
  private readonly partitionValues: unknown[] = [];
  private lastPartition: { key: string; partition: Record<string, unknown> } | null = null;
  private scratch: OpenFile | null = null;
  /** Partition source readers by writer schema id (-1: no value schema), null where rows go through objects. */
  private readonly sources = new Map<number, Source[] | null>();
  private dlq: RowColumns;
  /**
   * The last file finished, its columns emptied, for the next file to open
   * (with its decoders, which write into those columns): at a steady rate
   * every commit's file grows to about the same size, and growing fresh
   * columns (doubling, copying, first-touch page faults) cost a tenth of the
   * conversion of 1 KiB raw values. One is kept, so a session holds at most
   * one file's memory between commits.
   */
  private spare: OpenFile | null = null;
  private done: WrittenFile[] = [];
  /** Files cut at their target size (cutIfFull), to be written before the next row. */
  private full: OpenFile[] = [];
  nextOffset: number;
  converted = 0;
  deadLettered = 0;

  constructor(private readonly opts: ConverterOptions) {
    this.schema = opts.tableSchema;
    this.specFields = specFields(opts.spec, this.schema);
    this.dlq = new RowColumns(opts.dlqSchema);
    this.nextOffset = Math.min(opts.startOffset, opts.dlqStartOffset);
  }

  get tableSchema(): IcebergSchema {
    return this.schema;
  }

  addSchemas(schemas: ReadonlyMap<number, SchemaText>): void {
    for (const [id, text] of schemas) {
      this.texts.set(id, text);
      this.compiled.delete(id);
      this.sources.delete(id);
    }
  }

  /** Switches to an evolved table schema: files open under the old one are finished first. */
  async setTableSchema(schema: IcebergSchema, spec: PartitionSpec): Promise<void> {
    await this.closeOpenFiles();
    this.spare = null;
    this.schema = schema;
    this.specFields = specFields(spec, schema);
    this.compiled.clear();
    this.sources.clear();
    this.lastPartition = null;
    this.scratch = null;
  }

  async append(batches: readonly Buffer[]): Promise<AppendOutcome> {
    for (const buf of batches) {
      for (const span of splitBatches(buf).spans) {
        const batch = buf.subarray(span.position, span.position + span.size);
        const h = readBatchHeader(batch);
        const last = h.baseOffset + h.lastOffsetDelta;
        if (last < this.nextOffset) continue;
        if (isControlBatch(h.attributes)) {
          this.nextOffset = last + 1;
          continue;
        }
        let r: RecordCursor;
        try {
          const codec = compressionOf(h.attributes);
          const body = batch.subarray(BATCH_HEADER_SIZE);
          // This runs in a conversion worker, where blocking is fine and an async call per batch is not (see decompressSync).
          r = new RecordCursor(decompressSync(codec, body) ?? (await decompress(codec, body)), h.recordCount);
        } catch (err) {
          return this.undecodable(h.baseOffset, err);
        }
        for (;;) {
          try {
            if (!r.next()) break;
          } catch (err) {
            return this.undecodable(h.baseOffset, err);
          }
          const offset = h.baseOffset + r.offsetDelta;
          if (offset < this.nextOffset) continue;
          const timestamp = timestampTypeOf(h.attributes) === TimestampType.LOG_APPEND_TIME ? h.maxTimestamp : h.baseTimestamp + r.timestampDelta;
          const missing = this.missingSchema(r);
          if (missing !== null) return { status: 'need-schemas', ids: [missing], nextOffset: this.nextOffset, files: this.take() };
          try {
            // A record in the table already is only checked, the same way, for the dead-letter table.
            this.pushDirect(r, offset, timestamp, offset < this.opts.startOffset);
            if (this.full.length > 0) await this.finishFull();
            this.converted++;
          } catch (err) {
            if (!(err instanceof RecordError) || this.opts.errorsTolerance === 'none') {
              return { status: 'failed', offset, error: (err as Error).message, nextOffset: this.nextOffset, files: this.take() };
            }
            if (offset >= this.opts.dlqStartOffset) this.pushDlq(r.record(), offset, timestamp, err);
            this.deadLettered++;
          }
          this.nextOffset = offset + 1;
        }
        this.nextOffset = Math.max(this.nextOffset, last + 1);
      }
    }
    return { status: 'ok', nextOffset: this.nextOffset, files: this.take() };
  }

  /**
   * The log's own bytes failed to decode (their CRC passed on write):
   * nothing from there on can be salvaged record by record. The records of
   * the batch before the bad one were converted.
   */
  private undecodable(baseOffset: number, err: unknown): AppendOutcome {
    return { status: 'failed', offset: Math.max(this.nextOffset, baseOffset), error: `batch at offset ${baseOffset}: ${(err as Error).message}`, nextOffset: this.nextOffset, files: this.take() };
  }

  /** Finishes every open file (the end of a commit interval). */
  async flush(): Promise<WrittenFile[]> {
    await this.closeOpenFiles();
    if (this.dlq.length > 0) {
      this.done.push(await finishFile(this.dlq, {}, this.opts.dlqSchema['schema-id'], true));
      this.dlq = new RowColumns(this.opts.dlqSchema);
    }
    return this.take();
  }

  private take(): WrittenFile[] {
    const out = this.done;
    this.done = [];
    return out;
  }

  private schemaIdOf(r: RecordCursor): number | null {
    if (this.opts.layout.valueType === 'by_latest_schema') return this.opts.latestSchemaId;
    if (r.valueLength < 5 || r.buf[r.valueStart] !== 0) return null;
    return r.buf.readInt32BE(r.valueStart + 1);
  }

  private missingSchema(r: RecordCursor): number | null {
    if (!usesSchema(this.opts.layout) || r.valueLength < 0) return null;
    const id = this.schemaIdOf(r);
    return id !== null && !this.texts.has(id) ? id : null;
  }

  private compiledSchema(id: number): CompiledSchema {
    let c = this.compiled.get(id);
    if (c !== undefined) return c;
    const text = this.texts.get(id)!;
    if (text.schemaType !== 'AVRO') {
      c = { type: null, read: null, error: `schema ${id} is ${text.schemaType}; table topics convert Avro values` };
    } else {
      try {
        // A schema the table cannot take (recursive, an empty record, a clash with the Kafka columns) makes dead letters, rather than rows without its fields.
        schemaLayout(avroToIceberg(text.schema, text.references).struct, this.opts.layout);
        const type = avroType(text.schema, text.references);
        c = { type, read: compileStructReader(type, this.valueStruct()), error: null };
      } catch (err) {
        c = { type: null, read: null, error: `schema ${id} cannot be converted: ${(err as Error).message}` };
      }
    }
    this.compiled.set(id, c);
    return c;
  }

  /** The part of the table schema the value maps onto. */
  private valueStruct(): StructType {
    if (this.opts.layout.flatten) return { type: 'struct', fields: this.schema.fields.filter((f) => !KAFKA_COLUMNS.has(f.name)) };
    const v = this.schema.fields.find((f) => f.name === KAFKA_VALUE);
    return v !== undefined && isStruct(v.type) ? v.type : { type: 'struct', fields: [] };
  }

  /** The row as an object, for the tables pushDirect cannot take straight from the bytes. `id`: the value's schema id. */
  private row(r: DecodedRecord, offset: number, timestamp: number, id: number | null): Record<string, unknown> {
    const layout = this.opts.layout;
    const row = this.kafkaColumns(r, offset, timestamp);
    if (layout.valueType === 'raw') row[KAFKA_VALUE] = r.value;
    else if (layout.valueType === 'string') row[KAFKA_VALUE] = r.value === null ? null : r.value.toString('utf8');
    else if (r.value !== null) {
      if (id === null) throw new RecordError('value is not in the Confluent wire format (magic byte 0 and a 4-byte schema id)', null);
      const c = this.compiledSchema(id);
      if (c.read === null || c.type === null) throw new RecordError(c.error ?? `schema ${id} unusable`, id);
      const payload = layout.valueType === 'by_latest_schema' ? r.value : r.value.subarray(5);
      let value: Record<string, unknown>;
      try {
        value = c.read(decodeAvro(c.type, payload));
      } catch (err) {
        if (err instanceof ConversionError) throw new RecordError(err.message, id);
        throw err;
      }
      if (layout.flatten) {
        // The decoded record is the row: the Kafka columns are added to it rather than it copied into them.
        value[KAFKA_KEY] = row[KAFKA_KEY];
        value[KAFKA_HEADER] = row[KAFKA_HEADER];
        value[KAFKA_METADATA] = row[KAFKA_METADATA];
        return value;
      }
      row[KAFKA_VALUE] = value;
    }
    return row;
  }

  /**
   * A record pushed straight into the open file's columns, with no object
   * per record: Avro values decoded in place (avro-decode.ts), raw values as
   * the bytes they are. A partitioned table reads each row's partition
   * source values first (compileExtractor) to pick the file; where a source
   * cannot be read that way, the row goes through objects (row(), push()).
   * With `check`, the row is only tried (in a scratch file) and taken out
   * again: it must fail exactly when converting it would.
   */
  private pushDirect(r: RecordCursor, offset: number, timestamp: number, check: boolean): void {
    const hasValue = r.valueLength >= 0;
    let id: number | null = null;
    let writer: avro.Type | null = null;
    if (usesSchema(this.opts.layout) && hasValue) {
      id = this.schemaIdOf(r);
      if (id === null) throw new RecordError('value is not in the Confluent wire format (magic byte 0 and a 4-byte schema id)', null);
      const c = this.compiledSchema(id);
      if (c.type === null || c.read === null) throw new RecordError(c.error ?? `schema ${id} unusable`, id);
      writer = c.type;
    }
    let key = '';
    let partition: Record<string, unknown> = {};
    if (this.specFields.length > 0) {
      const sources = this.sourcesOf(id, writer);
      if (sources === null) return this.push(this.row(r.record(), offset, timestamp, id), check);
      ({ key, partition } = this.partitionOf((_f, i) => sources[i](r, offset, timestamp)));
    }
    const file = check ? this.scratchFile() : this.fileFor(key, partition);
    const columns = file.columns;
    const mark = columns.length;
    try {
      if (!usesSchema(this.opts.layout)) {
        // Raw: a binary column. String: the bytes as they are when UTF-8, else decoded with replacement characters.
        const column = file.valueColumns[0] as PrimitiveColumn;
        if (hasValue) column.pushSlice(r.buf, r.valueStart, r.valueStart + r.valueLength, true);
        else column.push(null);
      } else if (hasValue) {
        let decode = file.decoders.get(id!);
        if (decode === undefined) {
          decode = this.valueDecoder(writer!, columns.root);
          file.decoders.set(id!, decode);
        }
        this.cursor.reset(r.buf, r.valueStart + (this.opts.layout.valueType === 'by_latest_schema' ? 0 : 5), r.valueStart + r.valueLength);
        decode(this.cursor);
        if (this.cursor.pos !== this.cursor.end) throw new ConversionError(`Avro payload has ${this.cursor.end - this.cursor.pos} bytes past its value`);
      } else for (const c of file.valueColumns) c.push(null);
      file.kafka.push(r, this.opts.partition, offset, timestamp * 1000);
      columns.root.pushValid();
    } catch (err) {
      columns.truncate(mark);
      rethrowAsRecordError(err, id);
    }
    if (check) columns.truncate(mark);
    else this.cutIfFull(key, file);
  }

  /** Where rows are only tried (see pushDirect's `check`): never written. */
  private scratchFile(): OpenFile {
    this.scratch ??= this.openFile('', {});
    return this.scratch;
  }

  /**
   * How to read each spec field's source value from a record whose value was
   * written with `writer` (null: a tombstone, or a raw layout), or null when
   * one of them can only be read from the decoded object.
   */
  private sourcesOf(id: number | null, writer: avro.Type | null): Source[] | null {
    const cacheKey = writer === null ? -1 : id!;
    if (this.sources.has(cacheKey)) return this.sources.get(cacheKey)!;
    const sources = this.specFields.map((f) => this.sourceOf(f.path, writer));
    const out = sources.every((x) => x !== null) ? (sources as Source[]) : null;
    this.sources.set(cacheKey, out);
    return out;
  }

  private sourceOf(path: readonly string[], writer: avro.Type | null): Source | null {
    const [head, ...rest] = path;
    if (head === KAFKA_KEY) return (r) => this.keyOf(r.key());
    if (head === KAFKA_METADATA) {
      if (rest[0] === 'partition') return () => this.opts.partition;
      if (rest[0] === 'offset') return (_r, offset) => offset;
      if (rest[0] === 'timestamp') return (_r, _o, timestamp) => timestamp * 1000;
      return null;
    }
    if (head === KAFKA_HEADER) return null;
    if (!usesSchema(this.opts.layout)) {
      if (head !== KAFKA_VALUE) return null;
      return this.opts.layout.valueType === 'string' ? (r) => (r.valueLength < 0 ? null : r.buf.toString('utf8', r.valueStart, r.valueStart + r.valueLength)) : (r) => r.value();
    }
    // A value field: flattened it is the path itself, else the path under _kafka_value.
    const valuePath = this.opts.layout.flatten ? path : head === KAFKA_VALUE ? rest : null;
    if (valuePath === null) return null;
    if (writer === null) return () => null;
    const extract = compileExtractor(writer, valuePath);
    if (extract === null) return null;
    const cursor = new AvroCursor();
    const start = this.opts.layout.valueType === 'by_latest_schema' ? 0 : 5;
    return (r) => {
      cursor.reset(r.buf, r.valueStart + start, r.valueStart + r.valueLength);
      return extract(cursor);
    };
  }

  private valueDecoder(writer: avro.Type, root: StructColumn): Decode {
    if (this.opts.layout.flatten) return compileValueDecoder(writer, root, this.valueStruct().fields.map((f) => f.name), false);
    const value = root.child(KAFKA_VALUE) as StructColumn;
    return compileValueDecoder(writer, value, value.children.map((c) => c.field.name), true);
  }

  private openFile(key: string, partition: Record<string, unknown>): OpenFile {
    const spare = this.spare;
    this.spare = null;
    if (spare !== null) return { ...spare, partition };
    const columns = new RowColumns(this.schema);
    const root = columns.root;
    const valueColumns = usesSchema(this.opts.layout) && this.opts.layout.flatten ? this.valueStruct().fields.map((f) => root.child(f.name)!) : [root.child(KAFKA_VALUE)!];
    return { columns, partition, decoders: new Map(), kafka: new KafkaColumns(root), valueColumns };
  }

  /**
   * A file at its target size is closed to new rows at once and written by
   * the caller (finishFull): rows are pushed synchronously. An await per
   * record cost about a fifth of the Avro conversion's time (BENCHMARKS.md).
   */
  private cutIfFull(key: string, file: OpenFile): void {
    // Summing every column's size is per-column work: once every 64 rows is close enough to the target.
    if ((file.columns.length & 63) === 0 && file.columns.bytes >= this.opts.targetFileBytes) {
      this.open.delete(key);
      this.full.push(file);
    }
  }

  private async finishFull(): Promise<void> {
    for (const file of this.full.splice(0)) this.done.push(await this.finish(file));
  }

  /**
   * The row's partition tuple, from each spec field's source value, and the
   * key of its open file. Rows mostly come in runs of one tuple (an hour, a
   * day): a tuple equal to the previous row's is reused as it is.
   */
  private partitionOf(source: (f: SpecField, i: number) => unknown): { key: string; partition: Record<string, unknown> } {
    const fields = this.specFields;
    if (fields.length === 0) return NO_PARTITION;
    const values = this.partitionValues;
    let same = this.lastPartition !== null;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      let v: unknown;
      try {
        v = applyTransform(f.transform, f.sourceType, source(f, i));
      } catch (err) {
        // The values compared against are half overwritten now.
        this.lastPartition = null;
        // A source value that cannot be read (malformed bytes) or transformed is the record's fault.
        throw err instanceof RecordError ? err : new RecordError(`partition ${f.name}: ${(err as Error).message}`, null);
      }
      if (same && !samePartitionValue(values[i], v)) same = false;
      values[i] = v;
    }
    if (same) return this.lastPartition!;
    const partition: Record<string, unknown> = {};
    fields.forEach((f, i) => (partition[f.name] = values[i]));
    const key = JSON.stringify(values.slice(0, fields.length), (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : Buffer.isBuffer(x) ? x.toString('base64') : x));
    this.lastPartition = { key, partition };
    return this.lastPartition;
  }

  private fileFor(key: string, partition: Record<string, unknown>): OpenFile {
    let file = this.open.get(key);
    if (file === undefined) {
      file = this.openFile(key, partition);
      this.open.set(key, file);
    }
    return file;
  }

  private push(row: Record<string, unknown>, check: boolean): void {
    const { key, partition } = this.partitionOf((f) => {
      let v: unknown = row;
      for (const p of f.path) v = v === null || v === undefined ? null : (v as Record<string, unknown>)[p];
      return v;
    });
    const file = check ? this.scratchFile() : this.fileFor(key, partition);
    const mark = file.columns.length;
    try {
      file.columns.push(row);
    } catch (err) {
      // A value that does not fit its column (e.g. a wrong-length fixed) is the record's fault, and its row is taken out again.
      file.columns.truncate(mark);
      throw new RecordError(`value does not fit the table: ${(err as Error).message}`, null);
    }
    if (check) file.columns.truncate(mark);
    else this.cutIfFull(key, file);
  }

  private pushDlq(r: DecodedRecord, offset: number, timestamp: number, err: RecordError): void {
    this.dlq.push({ ...this.kafkaColumns(r, offset, timestamp), [KAFKA_VALUE]: r.value, [DLQ_ERROR]: err.message, [DLQ_SCHEMA_ID]: err.schemaId });
  }

  /** _kafka_key, _kafka_header and _kafka_metadata, the same in every layout and in the dead-letter table. */
  private kafkaColumns(r: DecodedRecord, offset: number, timestamp: number): Record<string, unknown> {
    return {
      [KAFKA_KEY]: this.keyOf(r.key),
      [KAFKA_HEADER]: r.headers.length === 0 ? null : r.headers,
      [KAFKA_METADATA]: { partition: this.opts.partition, offset, timestamp: timestamp * 1000 },
    };
  }

  private keyOf(key: Buffer | null): Buffer | string | null {
    // A string key that is valid UTF-8 goes to its column as the bytes it is, neither decoded nor encoded again.
    return key === null ? null : this.opts.layout.keyType === 'string' && !isUtf8(key) ? key.toString('utf8') : key;
  }

  private async closeOpenFiles(): Promise<void> {
    for (const [key, file] of this.open) {
      this.open.delete(key);
      if (file.columns.length > 0) this.done.push(await this.finish(file));
    }
  }

  /** A table file out of an open one, which becomes the spare once the Parquet writer has copied its columns. */
  private async finish(file: OpenFile): Promise<WrittenFile> {
    const written = await finishFile(file.columns, file.partition, this.schema['schema-id'], false);
    file.columns.reset();
    this.spare = file;
    return written;
  }
}

async function finishFile(columns: RowColumns, partition: Record<string, unknown>, schemaId: number, dlq: boolean): Promise<WrittenFile> {
  const stats = columns.stats();
  const recordCount = columns.length;
  const { bytes, columnSizes, splitOffsets } = await writeParquet(columns);
  return { bytes, dlq, recordCount, partition, schemaId, columnSizes, splitOffsets, ...stats };
}

function specFields(spec: PartitionSpec, schema: IcebergSchema): SpecField[] {
  const types = partitionType(spec, schema);
  return spec.fields.map((f, i) => {
    const path = fieldPath(schema, f['source-id']);
    if (path === null) throw new Error(`partition field ${f.name}: no column ${f['source-id']}`);
    return { name: types[i].name, transform: parseTransformName(f.transform), sourceType: String(path.type), path: path.names };
  });
}
