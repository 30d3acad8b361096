// Table metadata as data: creation, updates with the REST spec's "-1 means
// the last added", requirements failing as commit conflicts, the metadata
// log's bound, and Iceberg's single-value encoding of bounds (Appendix D).
import { describe, expect, test } from 'vitest';
import {
  applyUpdates,
  checkRequirements,
  CommitConflictError,
  creationUpdates,
  currentSnapshot,
  emptyMetadata,
  InvalidUpdateError,
  UNSORTED,
  withMetadataLog,
  type Snapshot,
  type TableMetadata,
} from '../../../src/table/iceberg/metadata.js';
import { compareSingleValues, encodeSingleValue } from '../../../src/table/iceberg/single-value.js';
import type { IcebergSchema } from '../../../src/table/iceberg/types.js';

const schema: IcebergSchema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'tags', required: false, type: { type: 'list', 'element-id': 3, element: 'string', 'element-required': false } },
  ],
};

function created(now = 1000): TableMetadata {
  const spec = { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[8]' }] };
  return applyUpdates(emptyMetadata('file:///w/t/', 'uuid-1', now), creationUpdates(schema, spec, UNSORTED, { owner: 'floe' }), now);
}

const snapshot = (id: number, seq: number, parent?: number): Snapshot => ({
  'snapshot-id': id,
  ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
  'sequence-number': seq,
  'timestamp-ms': 2000 + seq,
  'manifest-list': `file:///w/t/metadata/snap-${id}.avro`,
  summary: { operation: 'append' },
});

describe('applyUpdates', () => {
  test('a created table has its schema, spec, order and properties with ids and counters set', () => {
    const m = created();
    expect(m).toMatchObject({
      'format-version': 2,
      'table-uuid': 'uuid-1',
      location: 'file:///w/t',
      'current-schema-id': 0,
      'last-column-id': 3,
      'default-spec-id': 0,
      'last-partition-id': 1000,
      'default-sort-order-id': 0,
      properties: { owner: 'floe' },
      'last-sequence-number': 0,
    });
    expect(currentSnapshot(m)).toBeNull();
  });

  test('an added schema gets the next id and -1 sets it current; a schema equal to an old one reuses its id', () => {
    const m = created();
    const wider: IcebergSchema = { ...schema, fields: [...schema.fields, { id: 4, name: 'email', required: false, type: 'string' }] };
    const m1 = applyUpdates(m, [{ action: 'add-schema', schema: wider }, { action: 'set-current-schema', 'schema-id': -1 }]);
    expect(m1['current-schema-id']).toBe(1);
    expect(m1['last-column-id']).toBe(4);
    const m2 = applyUpdates(m1, [{ action: 'add-schema', schema }, { action: 'set-current-schema', 'schema-id': -1 }]);
    expect(m2.schemas).toHaveLength(2);
    expect(m2['current-schema-id']).toBe(0);
  });

  test('snapshots advance main, the snapshot log and the sequence number; an older sequence number is refused', () => {
    const m1 = applyUpdates(created(), [{ action: 'add-snapshot', snapshot: snapshot(11, 1) }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 11 }]);
    const m2 = applyUpdates(m1, [{ action: 'add-snapshot', snapshot: snapshot(12, 2, 11) }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 12 }]);
    expect(m2['current-snapshot-id']).toBe(12);
    expect(m2['last-sequence-number']).toBe(2);
    expect(m2['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([11, 12]);
    expect(() => applyUpdates(m2, [{ action: 'add-snapshot', snapshot: snapshot(13, 2, 12) }])).toThrow(InvalidUpdateError);
    expect(() => applyUpdates(m2, [{ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 99 }])).toThrow(InvalidUpdateError);
    const m3 = applyUpdates(m2, [{ action: 'remove-snapshots', 'snapshot-ids': [11] }]);
    expect(m3.snapshots.map((s) => s['snapshot-id'])).toEqual([12]);
    expect(m3['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([12]);
    expect(m3['current-snapshot-id']).toBe(12);
  });

  test('a new partition spec gets the next spec id whatever id the update carries, and raises last-partition-id', () => {
    const m = applyUpdates(created(), [
      { action: 'add-spec', spec: { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1001, name: 'tags', transform: 'identity' }] } },
      { action: 'set-default-spec', 'spec-id': -1 },
    ]);
    expect(m['default-spec-id']).toBe(1);
    expect(m['last-partition-id']).toBe(1001);
    expect(() => applyUpdates(m, [{ action: 'set-default-spec', 'spec-id': 7 }])).toThrow(InvalidUpdateError);
  });
});

describe('checkRequirements', () => {
  const m = applyUpdates(created(), [{ action: 'add-snapshot', snapshot: snapshot(11, 1) }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 11 }]);

  test.each([
    [{ type: 'assert-create' as const }],
    [{ type: 'assert-table-uuid' as const, uuid: 'other' }],
    [{ type: 'assert-ref-snapshot-id' as const, ref: 'main', 'snapshot-id': null }],
    [{ type: 'assert-ref-snapshot-id' as const, ref: 'main', 'snapshot-id': 10 }],
    [{ type: 'assert-ref-snapshot-id' as const, ref: 'audit', 'snapshot-id': 11 }],
    [{ type: 'assert-current-schema-id' as const, 'current-schema-id': 1 }],
    [{ type: 'assert-last-assigned-field-id' as const, 'last-assigned-field-id': 2 }],
    [{ type: 'assert-last-assigned-partition-id' as const, 'last-assigned-partition-id': 999 }],
    [{ type: 'assert-default-spec-id' as const, 'default-spec-id': 1 }],
    [{ type: 'assert-default-sort-order-id' as const, 'default-sort-order-id': 1 }],
  ])('%j fails as a commit conflict', (r) => {
    expect(() => checkRequirements(m, [r])).toThrow(CommitConflictError);
  });

  test('requirements that hold pass; on a table that does not exist only assert-create does', () => {
    expect(() =>
      checkRequirements(m, [
        { type: 'assert-table-uuid', uuid: 'uuid-1' },
        { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 11 },
        { type: 'assert-current-schema-id', 'current-schema-id': 0 },
        { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 3 },
        { type: 'assert-default-spec-id', 'default-spec-id': 0 },
      ]),
    ).not.toThrow();
    expect(() => checkRequirements(null, [{ type: 'assert-create' }])).not.toThrow();
    expect(() => checkRequirements(null, [{ type: 'assert-table-uuid', uuid: 'uuid-1' }])).toThrow(CommitConflictError);
  });
});

test('the metadata log keeps write.metadata.previous-versions-max entries, newest last', () => {
  let m = applyUpdates(created(), [{ action: 'set-properties', updates: { 'write.metadata.previous-versions-max': '2' } }]);
  for (let v = 0; v < 4; v++) m = withMetadataLog(m, m, `file:///w/t/metadata/0000${v}.metadata.json`);
  expect(m['metadata-log'].map((e) => e['metadata-file'])).toEqual(['file:///w/t/metadata/00002.metadata.json', 'file:///w/t/metadata/00003.metadata.json']);
});

describe('single-value encoding (Iceberg spec, Appendix D)', () => {
  test.each([
    ['boolean', true, '01'],
    ['int', 1, '01000000'],
    ['int', -2, 'feffffff'],
    ['date', 19_700, 'f44c0000'],
    ['long', 1n, '0100000000000000'],
    ['timestamptz', 1_700_000_000_000_000n, '00401e18240a0600'],
    ['float', 1.5, '0000c03f'],
    ['double', -0.5, '000000000000e0bf'],
    ['string', 'iceberg', Buffer.from('iceberg').toString('hex')],
    ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f79c3e09677c4bbda4793f349cb785e7'],
    // Decimals: the unscaled value, big-endian two's complement in the fewest bytes.
    ['decimal(10, 2)', 14_20n, '058c'],
    ['decimal(10, 2)', -1n, 'ff'],
    ['decimal(10, 2)', 128n, '0080'],
  ] as const)('%s %s → %s', (type, value, hex) => {
    expect(encodeSingleValue(type, value as never).toString('hex')).toBe(hex);
  });

  test('strings order by UTF-8 bytes, not UTF-16 units', () => {
    // U+1F600 comes before U+FF61 by UTF-16 units (0xD83D < 0xFF61) and after it by code points, as Iceberg orders.
    expect(compareSingleValues('\u{1F600}', '\uFF61')).toBeGreaterThan(0);
    expect(compareSingleValues(Buffer.from([1, 2]), Buffer.from([1, 3]))).toBeLessThan(0);
    expect(compareSingleValues(2n, 10n)).toBeLessThan(0);
  });
});
