// Manifests and manifest lists round trip through their Avro files with the
// spec's key/value metadata, and snapshot expiry finds exactly the files only
// expired snapshots reached (on a real directory-backed FileIO).
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { FsObjectStore } from '../../../src/storage/objectstore/fs.js';
import { FileIO } from '../../../src/table/file-io.js';
import { planExpiry, unreachableFiles } from '../../../src/table/iceberg/expire-snapshots.js';
import { decodeContainer, EntryStatus, readManifest, readManifestList, writeManifest, writeManifestList, type DataFile, type ManifestFile } from '../../../src/table/iceberg/manifest.js';
import { applyUpdates, creationUpdates, emptyMetadata, UNSORTED, type Snapshot, type TableMetadata } from '../../../src/table/iceberg/metadata.js';
import type { IcebergSchema } from '../../../src/table/iceberg/types.js';
import { tempDir } from '../../helpers/tmp.js';

const schema: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'user', required: false, type: 'string' },
    { id: 2, name: 'ts', required: false, type: 'timestamptz' },
  ],
};
const spec = {
  'spec-id': 0,
  fields: [
    { 'source-id': 1, 'field-id': 1000, name: 'user_bucket', transform: 'bucket[4]' },
    { 'source-id': 2, 'field-id': 1001, name: 'ts_day', transform: 'day' },
  ],
};

const dataFile = (path: string, partition: Record<string, unknown>, records = 3): DataFile => ({
  content: 0,
  filePath: path,
  fileFormat: 'PARQUET',
  partition,
  recordCount: records,
  fileSizeInBytes: 1234,
  columnSizes: new Map([[1, 100], [2, 80]]),
  valueCounts: new Map([[1, records], [2, records]]),
  nullValueCounts: new Map([[1, 0], [2, 1]]),
  nanValueCounts: new Map(),
  lowerBounds: new Map([[1, Buffer.from('alice')]]),
  upperBounds: new Map([[1, Buffer.from('bob')]]),
  splitOffsets: [4],
});

describe('manifest files', () => {
  test('a manifest round trips its entries, partition tuples and metrics, and carries the spec key/value metadata', async () => {
    const entries = [
      { status: EntryStatus.ADDED, snapshotId: 7, sequenceNumber: null, fileSequenceNumber: null, dataFile: dataFile('s3://b/t/data/a.parquet', { user_bucket: 2, ts_day: 20_777 }) },
      { status: EntryStatus.EXISTING, snapshotId: 6, sequenceNumber: 1, fileSequenceNumber: 1, dataFile: dataFile('s3://b/t/data/b.parquet', { user_bucket: null, ts_day: 20_778 }, 5) },
    ];
    const bytes = await writeManifest(spec, schema, entries);
    const { entries: back, metadata } = await readManifest(bytes);
    expect(back).toEqual(entries);
    expect(metadata).toMatchObject({ 'format-version': '2', content: 'data', 'partition-spec-id': '0', 'schema-id': '0' });
    expect(JSON.parse(metadata['partition-spec'])).toEqual(spec.fields);
    expect(JSON.parse(metadata.schema)).toEqual(schema);
    // The Avro schema names the partition struct's fields by the partition field ids, as readers expect.
    const { metadata: raw } = await decodeContainer(bytes);
    const avro = JSON.parse(raw['avro.schema']);
    const partition = avro.fields.find((f: { name: string }) => f.name === 'data_file').type.fields.find((f: { name: string }) => f.name === 'partition');
    expect(partition['field-id']).toBe(102);
    expect(partition.type.fields.map((f: { name: string; 'field-id': number }) => [f.name, f['field-id']])).toEqual([
      ['user_bucket', 1000],
      ['ts_day', 1001],
    ]);
  });

  test('a manifest list round trips and carries snapshot-id, parent-snapshot-id and sequence-number', async () => {
    const m: ManifestFile = {
      manifestPath: 's3://b/t/metadata/m0.avro',
      manifestLength: 4321,
      partitionSpecId: 0,
      content: 0,
      sequenceNumber: 3,
      minSequenceNumber: 1,
      addedSnapshotId: 7,
      addedFilesCount: 1,
      existingFilesCount: 1,
      deletedFilesCount: 0,
      addedRowsCount: 3,
      existingRowsCount: 5,
      deletedRowsCount: 0,
      partitions: [
        { containsNull: true, containsNan: false, lowerBound: Buffer.from([2, 0, 0, 0]), upperBound: Buffer.from([2, 0, 0, 0]) },
        { containsNull: false, containsNan: false, lowerBound: null, upperBound: null },
      ],
    };
    const bytes = await writeManifestList([m], { snapshotId: 7, parentSnapshotId: 6, sequenceNumber: 3 });
    expect(await readManifestList(bytes)).toEqual([m]);
    expect((await decodeContainer(bytes)).metadata).toMatchObject({ 'snapshot-id': '7', 'parent-snapshot-id': '6', 'sequence-number': '3', 'format-version': '2' });
  });
});

describe('snapshot expiry', () => {
  const dirs: { cleanup: () => void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  /**
   * Four snapshots: s1 adds a.parquet (manifest m1), s2 adds b.parquet (m2, the
   * list keeps m1), s3 rewrites both into c.parquet (m3 alone), s4 adds
   * d.parquet (m4 + m3). Timestamps 1000, 2000, 3000, 4000.
   */
  async function table(): Promise<{ io: FileIO; m: TableMetadata; uri: (p: string) => string }> {
    const dir = tempDir('floe-expire-');
    dirs.push(dir);
    const io = new FileIO(new FsObjectStore(dir.path), `${pathToFileURL(dir.path).href}/`);
    const uri = (p: string) => io.uriOf(`t/${p}`);
    let m = applyUpdates(emptyMetadata(uri('')), creationUpdates(schema, { 'spec-id': 0, fields: [] }, UNSORTED, {}), 0);
    const manifests: Record<string, ManifestFile> = {};
    const addManifest = async (name: string, files: string[], snapshotId: number) => {
      const bytes = await writeManifest({ 'spec-id': 0, fields: [] }, schema, files.map((f) => ({ status: EntryStatus.ADDED, snapshotId, sequenceNumber: null, fileSequenceNumber: null, dataFile: dataFile(uri(`data/${f}`), {}) })));
      await io.write(uri(`metadata/${name}`), bytes);
      for (const f of files) await io.write(uri(`data/${f}`), Buffer.from('parquet'));
      manifests[name] = { manifestPath: uri(`metadata/${name}`), manifestLength: bytes.length, partitionSpecId: 0, content: 0, sequenceNumber: snapshotId, minSequenceNumber: snapshotId, addedSnapshotId: snapshotId, addedFilesCount: files.length, existingFilesCount: 0, deletedFilesCount: 0, addedRowsCount: 3, existingRowsCount: 0, deletedRowsCount: 0, partitions: [] };
    };
    const commit = async (id: number, lists: string[]) => {
      const list = uri(`metadata/snap-${id}.avro`);
      await io.write(list, await writeManifestList(lists.map((n) => manifests[n]), { snapshotId: id, parentSnapshotId: id === 1 ? null : id - 1, sequenceNumber: id }));
      const s: Snapshot = { 'snapshot-id': id, ...(id === 1 ? {} : { 'parent-snapshot-id': id - 1 }), 'sequence-number': id, 'timestamp-ms': id * 1000, 'manifest-list': list, summary: { operation: 'append' } };
      m = applyUpdates(m, [{ action: 'add-snapshot', snapshot: s }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id }], id * 1000);
    };
    await addManifest('m1.avro', ['a.parquet'], 1);
    await commit(1, ['m1.avro']);
    await addManifest('m2.avro', ['b.parquet'], 2);
    await commit(2, ['m2.avro', 'm1.avro']);
    await addManifest('m3.avro', ['c.parquet'], 3);
    await commit(3, ['m3.avro']);
    await addManifest('m4.avro', ['d.parquet'], 4);
    await commit(4, ['m4.avro', 'm3.avro']);
    return { io, m, uri };
  }

  test('only snapshots older than the cutoff expire, and never the newest retainLast of main', async () => {
    const { m } = await table();
    expect(planExpiry(m, { expireBefore: 2500, retainLast: 1 })?.snapshotIds).toEqual([1, 2]);
    expect(planExpiry(m, { expireBefore: 10_000, retainLast: 2 })?.snapshotIds).toEqual([1, 2]);
    expect(planExpiry(m, { expireBefore: 10_000, retainLast: 1 })?.snapshotIds).toEqual([1, 2, 3]);
    expect(planExpiry(m, { expireBefore: 500, retainLast: 1 })).toBeNull();
    // A tag keeps its snapshot whatever its age.
    const tagged = applyUpdates(m, [{ action: 'set-snapshot-ref', 'ref-name': 'audit', type: 'tag', 'snapshot-id': 1 }]);
    expect(planExpiry(tagged, { expireBefore: 10_000, retainLast: 1 })?.snapshotIds).toEqual([2, 3]);
    expect(planExpiry(m, { expireBefore: 10_000, retainLast: 1 })?.requirements).toEqual([
      { type: 'assert-table-uuid', uuid: m['table-uuid'] },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 4 },
    ]);
  });

  test('expired snapshots lose their manifest lists, the manifests no retained list names, and the data files no retained manifest names', async () => {
    const { io, m, uri } = await table();
    const plan = planExpiry(m, { expireBefore: 2500, retainLast: 1 })!;
    const after = applyUpdates(m, plan.updates);
    expect(after.snapshots.map((s) => s['snapshot-id'])).toEqual([3, 4]);
    const gone = await unreachableFiles(io, m, after);
    expect(gone.sort()).toEqual([uri('data/a.parquet'), uri('data/b.parquet'), uri('metadata/m1.avro'), uri('metadata/m2.avro'), uri('metadata/snap-1.avro'), uri('metadata/snap-2.avro')].sort());
    // Expiring s3 as well drops only its list: m3 and c.parquet are still in s4's.
    const later = applyUpdates(after, [{ action: 'remove-snapshots', 'snapshot-ids': [3] }]);
    expect(await unreachableFiles(io, after, later)).toEqual([uri('metadata/snap-3.avro')]);
  });
});
