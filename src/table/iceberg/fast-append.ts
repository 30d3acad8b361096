// A fast append (Iceberg's "append" operation): one new manifest holding the
// added data files, a manifest list that is the parent's manifests plus the
// new one, and the snapshot that names them, returned as the commit's
// requirements and updates. Nothing is committed here; the caller sends the
// result through a Catalog and, on a conflict, builds it again on the new base.

import { randomUUID } from 'node:crypto';
import type { FileIO } from '../file-io.js';
import { EntryStatus, readManifestList, writeManifest, writeManifestList, type DataFile, type ManifestFile } from './manifest.js';
import { currentSnapshot, defaultSpec, MAIN_BRANCH, newSnapshotId, type PartitionSpec, type Snapshot, type TableMetadata, type TableRequirement, type TableUpdate } from './metadata.js';
import type { IcebergSchema } from './types.js';
import { compareSingleValues, encodeSingleValue, type PrimitiveValue } from './single-value.js';
import { partitionType } from './manifest.js';

export interface AppendRequest {
  readonly files: readonly DataFile[];
  /** The schema the files were written with, added (and made current) if the table lacks it. */
  readonly schema: IcebergSchema;
  /** Extra snapshot summary properties (Floe's offsets and commit id). */
  readonly summary: Readonly<Record<string, string>>;
}

export interface PreparedCommit {
  readonly requirements: TableRequirement[];
  readonly updates: TableUpdate[];
  /** Files this attempt wrote (manifest and manifest list), to delete if it is abandoned. */
  readonly written: string[];
  readonly snapshotId: number;
}

/**
 * Java's names ({uuid}-m0.avro, snap-{id}-{attempt}-{uuid}.avro) with a tag,
 * so that orphan cleanup can tell Floe's uncommitted files from those of
 * another engine's commit in flight on the same table.
 */
export const FILE_TAG = 'floe-';
export const isFloeMetadataFile = (uri: string): boolean => /\/(floe-[^/]+-m\d+|snap-\d+-\d+-floe-[^/]+)\.avro$/.test(uri);

export async function prepareAppend(io: FileIO, base: TableMetadata, request: AppendRequest, now = Date.now()): Promise<PreparedCommit> {
  const parent = currentSnapshot(base);
  const spec = defaultSpec(base);
  const snapshotId = newSnapshotId();
  const sequenceNumber = base['last-sequence-number'] + 1;
  const updates: TableUpdate[] = [];
  const requirements: TableRequirement[] = [
    { type: 'assert-table-uuid', uuid: base['table-uuid'] },
    { type: 'assert-ref-snapshot-id', ref: MAIN_BRANCH, 'snapshot-id': parent?.['snapshot-id'] ?? null },
  ];
  const current = base.schemas.find((s) => s['schema-id'] === base['current-schema-id']);
  let schemaId = base['current-schema-id'];
  if (current === undefined || JSON.stringify(current.fields) !== JSON.stringify(request.schema.fields)) {
    requirements.push({ type: 'assert-current-schema-id', 'current-schema-id': base['current-schema-id'] });
    requirements.push({ type: 'assert-last-assigned-field-id', 'last-assigned-field-id': base['last-column-id'] });
    const existing = base.schemas.find((s) => JSON.stringify(s.fields) === JSON.stringify(request.schema.fields));
    schemaId = existing?.['schema-id'] ?? base.schemas.reduce((m, s) => Math.max(m, s['schema-id'] + 1), 0);
    updates.push({ action: 'add-schema', schema: { ...request.schema, 'schema-id': schemaId } }, { action: 'set-current-schema', 'schema-id': -1 });
  }
  const schema: IcebergSchema = { ...request.schema, 'schema-id': schemaId };
  const written: string[] = [];
  const manifests: ManifestFile[] = parent === null ? [] : await readManifestList(await io.read(parent['manifest-list']));
  const commitId = randomUUID();
  if (request.files.length > 0) {
    const manifest = await writeManifest(
      spec,
      schema,
      request.files.map((f) => ({ status: EntryStatus.ADDED, snapshotId, sequenceNumber: null, fileSequenceNumber: null, dataFile: f })),
    );
    const manifestPath = `${base.location}/metadata/${FILE_TAG}${commitId}-m0.avro`;
    await io.write(manifestPath, manifest);
    written.push(manifestPath);
    manifests.unshift({
      manifestPath,
      manifestLength: manifest.length,
      partitionSpecId: spec['spec-id'],
      content: 0,
      sequenceNumber,
      minSequenceNumber: sequenceNumber,
      addedSnapshotId: snapshotId,
      addedFilesCount: request.files.length,
      existingFilesCount: 0,
      deletedFilesCount: 0,
      addedRowsCount: request.files.reduce((n, f) => n + f.recordCount, 0),
      existingRowsCount: 0,
      deletedRowsCount: 0,
      partitions: partitionSummaries(spec, schema, request.files),
    });
  }
  const listPath = `${base.location}/metadata/snap-${snapshotId}-1-${FILE_TAG}${commitId}.avro`;
  await io.write(listPath, await writeManifestList(manifests, { snapshotId, parentSnapshotId: parent?.['snapshot-id'] ?? null, sequenceNumber }));
  written.push(listPath);
  const snapshot: Snapshot = {
    'snapshot-id': snapshotId,
    ...(parent === null ? {} : { 'parent-snapshot-id': parent['snapshot-id'] }),
    'sequence-number': sequenceNumber,
    'timestamp-ms': Math.max(now, base['last-updated-ms']),
    'manifest-list': listPath,
    summary: { operation: 'append', ...appendSummary(parent, request.files), ...request.summary },
    'schema-id': schemaId,
  };
  updates.push({ action: 'add-snapshot', snapshot }, { action: 'set-snapshot-ref', 'ref-name': MAIN_BRANCH, type: 'branch', 'snapshot-id': snapshotId });
  return { requirements, updates, written, snapshotId };
}

/** The spec's snapshot summary counters for an append on top of `parent`. */
function appendSummary(parent: Snapshot | null, files: readonly DataFile[]): Record<string, string> {
  const prev = (k: string) => Number(parent?.summary[k] ?? 0);
  const records = files.reduce((n, f) => n + f.recordCount, 0);
  const bytes = files.reduce((n, f) => n + f.fileSizeInBytes, 0);
  const partitions = new Set(files.map((f) => JSON.stringify(f.partition, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))));
  return {
    'added-data-files': String(files.length),
    'added-records': String(records),
    'added-files-size': String(bytes),
    'changed-partition-count': String(partitions.size),
    'total-records': String(prev('total-records') + records),
    'total-files-size': String(prev('total-files-size') + bytes),
    'total-data-files': String(prev('total-data-files') + files.length),
    'total-delete-files': String(prev('total-delete-files')),
    'total-position-deletes': String(prev('total-position-deletes')),
    'total-equality-deletes': String(prev('total-equality-deletes')),
  };
}

/** The manifest list's per-partition-field summaries: nulls, and bounds in single-value encoding. */
function partitionSummaries(spec: PartitionSpec, schema: IcebergSchema, files: readonly DataFile[]): ManifestFile['partitions'] {
  const fields = partitionType(spec, schema);
  return fields.map((f) => {
    let containsNull = false;
    let lower: PrimitiveValue | null = null;
    let upper: PrimitiveValue | null = null;
    for (const file of files) {
      const v = file.partition[f.name] as PrimitiveValue | null | undefined;
      if (v === null || v === undefined) {
        containsNull = true;
        continue;
      }
      if (lower === null || compareSingleValues(v, lower) < 0) lower = v;
      if (upper === null || compareSingleValues(v, upper) > 0) upper = v;
    }
    const encode = (v: PrimitiveValue | null) => (v === null ? null : encodeSingleValue(f.type, v));
    return { containsNull, containsNan: null, lowerBound: encode(lower), upperBound: encode(upper) };
  });
}
