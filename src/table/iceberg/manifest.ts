// Manifests and manifest lists: Avro container files whose schemas (with the
// spec's field ids) live in schemas/iceberg/. A manifest's `partition` record
// depends on its partition spec, so it is filled in per spec. avsc encodes
// and decodes; the schema JSON is passed to the encoder as written, because
// the `field-id` attributes must reach the file header for engines that
// resolve fields by id.

import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { IcebergSchema, IcebergType, PrimitiveType } from './types.js';
import { fieldPath } from './types.js';
import type { PartitionSpec } from './metadata.js';
import { encodeSingleValue, type PrimitiveValue } from './single-value.js';
import { parseTransformName } from './transforms.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const SCHEMA_DIR = new URL('../../../schemas/iceberg/', import.meta.url);
const loaded = new Map<string, { [k: string]: Json }>();
/** Read when first written, not at import: the converter's worker imports this module for partitionType only. */
function avroSchema(name: 'manifest_file' | 'manifest_entry'): { [k: string]: Json } {
  let s = loaded.get(name);
  if (s === undefined) {
    s = JSON.parse(readFileSync(new URL(`${name}.avsc`, SCHEMA_DIR), 'utf8')) as { [k: string]: Json };
    loaded.set(name, s);
  }
  return s;
}

export const enum EntryStatus {
  EXISTING = 0,
  ADDED = 1,
  DELETED = 2,
}

/** The per-column metrics a data file's manifest entry carries, by field id. */
export interface ColumnMetrics {
  readonly columnSizes: ReadonlyMap<number, number>;
  readonly valueCounts: ReadonlyMap<number, number>;
  readonly nullValueCounts: ReadonlyMap<number, number>;
  readonly nanValueCounts: ReadonlyMap<number, number>;
  readonly lowerBounds: ReadonlyMap<number, Buffer>;
  readonly upperBounds: ReadonlyMap<number, Buffer>;
}

export interface DataFile extends ColumnMetrics {
  readonly content: 0;
  readonly filePath: string;
  readonly fileFormat: 'PARQUET';
  /** Partition values by partition field name (null for a null value). */
  readonly partition: Readonly<Record<string, unknown>>;
  readonly recordCount: number;
  readonly fileSizeInBytes: number;
  readonly splitOffsets?: readonly number[];
  readonly sortOrderId?: number;
}

export interface ManifestEntry {
  readonly status: EntryStatus;
  readonly snapshotId: number | null;
  readonly sequenceNumber: number | null;
  readonly fileSequenceNumber: number | null;
  readonly dataFile: DataFile;
}

/** A manifest list entry (the spec's manifest_file). */
export interface ManifestFile {
  readonly manifestPath: string;
  readonly manifestLength: number;
  readonly partitionSpecId: number;
  readonly content: 0 | 1;
  readonly sequenceNumber: number;
  readonly minSequenceNumber: number;
  readonly addedSnapshotId: number;
  readonly addedFilesCount: number;
  readonly existingFilesCount: number;
  readonly deletedFilesCount: number;
  readonly addedRowsCount: number;
  readonly existingRowsCount: number;
  readonly deletedRowsCount: number;
  readonly partitions: readonly { containsNull: boolean; containsNan: boolean | null; lowerBound: Buffer | null; upperBound: Buffer | null }[] | null;
}

/** The Iceberg type a partition field's values have (spec: "Partition Transforms", result type). */
export function partitionResultType(transform: string, source: IcebergType): PrimitiveType {
  const t = parseTransformName(transform);
  if (t.kind === 'bucket' || t.kind === 'year' || t.kind === 'month' || t.kind === 'hour') return 'int';
  if (t.kind === 'day') return 'date';
  if (typeof source !== 'string') throw new Error(`transform ${transform} needs a primitive source column`);
  return source;
}

/** The Iceberg struct of a spec's partition tuple (partition field ids, every field optional). */
export function partitionType(spec: PartitionSpec, schema: IcebergSchema): { name: string; id: number; type: PrimitiveType }[] {
  return spec.fields.map((f) => {
    const source = fieldPath(schema, f['source-id'])?.type ?? null;
    if (source === null) throw new Error(`partition field ${f.name} names column ${f['source-id']}, which the schema does not have`);
    return { name: f.name, id: f['field-id'], type: partitionResultType(f.transform, source) };
  });
}

/** The Avro schema of a primitive Iceberg type, per the spec's Avro mapping. */
function avroOfPrimitive(t: PrimitiveType, name: string): Json {
  switch (t) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
      return t;
    case 'binary':
      return 'bytes';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'time':
      return { type: 'long', logicalType: 'time-micros' };
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false };
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true };
    case 'uuid':
      return { type: 'fixed', name: `uuid_${name}`, size: 16, logicalType: 'uuid' };
    default: {
      const fixed = /^fixed\[(\d+)\]$/.exec(t);
      if (fixed !== null) return { type: 'fixed', name: `fixed_${name}`, size: Number(fixed[1]) };
      const dec = /^decimal\((\d+), ?(\d+)\)$/.exec(t);
      if (dec !== null) return { type: 'bytes', logicalType: 'decimal', precision: Number(dec[1]), scale: Number(dec[2]) };
      throw new Error(`no Avro mapping for ${t}`);
    }
  }
}

function manifestEntrySchema(partition: readonly { name: string; id: number; type: PrimitiveType }[]): Json {
  const r102 = { type: 'record', name: 'r102', fields: partition.map((p) => ({ name: p.name, type: ['null', avroOfPrimitive(p.type, `r102_${p.id}`)], default: null, 'field-id': p.id })) };
  const entry = structuredClone(avroSchema('manifest_entry')) as { fields: { name: string; type: { fields: { name: string; type: Json }[] } }[] };
  const dataFile = entry.fields.find((f) => f.name === 'data_file')!;
  dataFile.type.fields.find((f) => f.name === 'partition')!.type = r102;
  return entry as unknown as Json;
}

/** A partition value as avsc encodes the Avro type avroOfPrimitive gives. */
function partitionAvroValue(t: PrimitiveType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (t === 'uuid' || t.startsWith('decimal(')) return encodeSingleValue(t, v as PrimitiveValue);
  return typeof v === 'bigint' ? Number(v) : v;
}

const toPairs = (m: ReadonlyMap<number, number | Buffer>) => [...m].sort((a, b) => a[0] - b[0]).map(([key, value]) => ({ key, value }));
const fromPairs = <V>(pairs: { key: number; value: V }[] | null): Map<number, V> => new Map((pairs ?? []).map((p) => [p.key, p.value]));

/** Encodes records into an Avro object container file with deflate blocks, as Iceberg's Java writer does. */
async function encodeContainer(schema: Json, records: readonly unknown[], metadata: Record<string, string>): Promise<Buffer> {
  // The schema JSON itself, not an avsc Type: the encoder then writes it to
  // the header as given, field-id attributes included.
  // (avsc's typings omit the `metadata` option its encoder takes.)
  const opts = { codec: 'deflate', metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'utf8')])) };
  const encoder = new avro.streams.BlockEncoder(schema as avro.Schema, opts as ConstructorParameters<typeof avro.streams.BlockEncoder>[1]);
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    encoder.on('data', (c: Buffer) => chunks.push(c));
    encoder.on('end', resolve);
    encoder.on('error', reject);
    // avsc reports a value that does not fit the schema here, not as 'error'.
    encoder.on('typeError', (err: Error) => reject(err));
  });
  for (const r of records) encoder.write(r);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

/** Decodes an Avro object container file with the writer's schema: its records and header metadata. */
export async function decodeContainer(data: Buffer): Promise<{ records: unknown[]; metadata: Record<string, string> }> {
  const decoder = new avro.streams.BlockDecoder({ noDecode: false });
  const records: unknown[] = [];
  let metadata: Record<string, string> = {};
  const done = new Promise<void>((resolve, reject) => {
    decoder.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
      metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString('utf8')]));
    });
    decoder.on('data', (r: unknown) => records.push(r));
    decoder.on('end', resolve);
    decoder.on('error', reject);
  });
  decoder.end(data);
  await done;
  return { records, metadata };
}

export async function writeManifest(spec: PartitionSpec, schema: IcebergSchema, entries: readonly ManifestEntry[]): Promise<Buffer> {
  const partition = partitionType(spec, schema);
  const records = entries.map((e) => ({
    status: e.status,
    snapshot_id: e.snapshotId,
    sequence_number: e.sequenceNumber,
    file_sequence_number: e.fileSequenceNumber,
    data_file: {
      content: e.dataFile.content,
      file_path: e.dataFile.filePath,
      file_format: e.dataFile.fileFormat,
      partition: Object.fromEntries(partition.map((p) => [p.name, partitionAvroValue(p.type, e.dataFile.partition[p.name])])),
      record_count: e.dataFile.recordCount,
      file_size_in_bytes: e.dataFile.fileSizeInBytes,
      column_sizes: toPairs(e.dataFile.columnSizes),
      value_counts: toPairs(e.dataFile.valueCounts),
      null_value_counts: toPairs(e.dataFile.nullValueCounts),
      nan_value_counts: toPairs(e.dataFile.nanValueCounts),
      lower_bounds: toPairs(e.dataFile.lowerBounds),
      upper_bounds: toPairs(e.dataFile.upperBounds),
      key_metadata: null,
      split_offsets: e.dataFile.splitOffsets ?? null,
      equality_ids: null,
      sort_order_id: e.dataFile.sortOrderId ?? null,
    },
  }));
  return encodeContainer(manifestEntrySchema(partition), records, {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: 'data',
  });
}

interface RawEntry {
  status: number;
  snapshot_id: number | null;
  sequence_number: number | null;
  file_sequence_number: number | null;
  data_file: {
    content: 0;
    file_path: string;
    file_format: string;
    partition: Record<string, unknown>;
    record_count: number;
    file_size_in_bytes: number;
    column_sizes: { key: number; value: number }[] | null;
    value_counts: { key: number; value: number }[] | null;
    null_value_counts: { key: number; value: number }[] | null;
    nan_value_counts: { key: number; value: number }[] | null;
    lower_bounds: { key: number; value: Buffer }[] | null;
    upper_bounds: { key: number; value: Buffer }[] | null;
    split_offsets: number[] | null;
    sort_order_id: number | null;
  };
}

export async function readManifest(data: Buffer): Promise<{ entries: ManifestEntry[]; metadata: Record<string, string> }> {
  const { records, metadata } = await decodeContainer(data);
  const entries = (records as RawEntry[]).map((r) => ({
    status: r.status as EntryStatus,
    snapshotId: r.snapshot_id,
    sequenceNumber: r.sequence_number,
    fileSequenceNumber: r.file_sequence_number,
    dataFile: {
      content: 0 as const,
      filePath: r.data_file.file_path,
      fileFormat: 'PARQUET' as const,
      partition: { ...r.data_file.partition },
      recordCount: r.data_file.record_count,
      fileSizeInBytes: r.data_file.file_size_in_bytes,
      columnSizes: fromPairs(r.data_file.column_sizes),
      valueCounts: fromPairs(r.data_file.value_counts),
      nullValueCounts: fromPairs(r.data_file.null_value_counts),
      nanValueCounts: fromPairs(r.data_file.nan_value_counts),
      lowerBounds: fromPairs(r.data_file.lower_bounds),
      upperBounds: fromPairs(r.data_file.upper_bounds),
      ...(r.data_file.split_offsets === null ? {} : { splitOffsets: r.data_file.split_offsets }),
      ...(r.data_file.sort_order_id === null ? {} : { sortOrderId: r.data_file.sort_order_id }),
    },
  }));
  return { entries, metadata };
}

export async function writeManifestList(
  manifests: readonly ManifestFile[],
  meta: { snapshotId: number; parentSnapshotId: number | null; sequenceNumber: number },
): Promise<Buffer> {
  const records = manifests.map((m) => ({
    manifest_path: m.manifestPath,
    manifest_length: m.manifestLength,
    partition_spec_id: m.partitionSpecId,
    content: m.content,
    sequence_number: m.sequenceNumber,
    min_sequence_number: m.minSequenceNumber,
    added_snapshot_id: m.addedSnapshotId,
    added_files_count: m.addedFilesCount,
    existing_files_count: m.existingFilesCount,
    deleted_files_count: m.deletedFilesCount,
    added_rows_count: m.addedRowsCount,
    existing_rows_count: m.existingRowsCount,
    deleted_rows_count: m.deletedRowsCount,
    partitions: m.partitions === null ? null : m.partitions.map((p) => ({ contains_null: p.containsNull, contains_nan: p.containsNan, lower_bound: p.lowerBound, upper_bound: p.upperBound })),
    key_metadata: null,
  }));
  return encodeContainer(avroSchema('manifest_file'), records, {
    'snapshot-id': String(meta.snapshotId),
    'parent-snapshot-id': meta.parentSnapshotId === null ? 'null' : String(meta.parentSnapshotId),
    'sequence-number': String(meta.sequenceNumber),
    'format-version': '2',
  });
}

interface RawManifestFile {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content: 0 | 1;
  sequence_number: number;
  min_sequence_number: number;
  added_snapshot_id: number;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: number;
  existing_rows_count: number;
  deleted_rows_count: number;
  partitions: { contains_null: boolean; contains_nan: boolean | null; lower_bound: Buffer | null; upper_bound: Buffer | null }[] | null;
}

export async function readManifestList(data: Buffer): Promise<ManifestFile[]> {
  const { records } = await decodeContainer(data);
  return (records as RawManifestFile[]).map((r) => ({
    manifestPath: r.manifest_path,
    manifestLength: r.manifest_length,
    partitionSpecId: r.partition_spec_id,
    content: r.content,
    sequenceNumber: r.sequence_number,
    minSequenceNumber: r.min_sequence_number,
    addedSnapshotId: r.added_snapshot_id,
    addedFilesCount: r.added_files_count,
    existingFilesCount: r.existing_files_count,
    deletedFilesCount: r.deleted_files_count,
    addedRowsCount: r.added_rows_count,
    existingRowsCount: r.existing_rows_count,
    deletedRowsCount: r.deleted_rows_count,
    partitions: r.partitions === null ? null : r.partitions.map((p) => ({ containsNull: p.contains_null, containsNan: p.contains_nan, lowerBound: p.lower_bound, upperBound: p.upper_bound })),
  }));
}
