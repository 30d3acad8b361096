// Iceberg v2 table metadata as the spec writes it in a metadata JSON file,
// and the REST catalog's commit model over it: requirements are checked
// against the base metadata, then updates are applied one by one to produce
// new immutable metadata (iceberg-rust's and PyIceberg's TableUpdate /
// TableRequirement, as data). The catalog server and the table coordinator
// share this code, so what Floe commits is what any REST client could.

import { randomUUID } from 'node:crypto';
import type { IcebergSchema } from './types.js';
import { maxFieldId } from './types.js';

export interface PartitionField {
  readonly 'source-id': number;
  readonly 'field-id': number;
  readonly name: string;
  readonly transform: string;
}

export interface PartitionSpec {
  readonly 'spec-id': number;
  readonly fields: readonly PartitionField[];
}

export interface SortField {
  readonly transform: string;
  readonly 'source-id': number;
  readonly direction: 'asc' | 'desc';
  readonly 'null-order': 'nulls-first' | 'nulls-last';
}

export interface SortOrder {
  readonly 'order-id': number;
  readonly fields: readonly SortField[];
}

export interface Snapshot {
  readonly 'snapshot-id': number;
  readonly 'parent-snapshot-id'?: number;
  readonly 'sequence-number': number;
  readonly 'timestamp-ms': number;
  readonly 'manifest-list': string;
  readonly summary: Readonly<Record<string, string>> & { readonly operation: string };
  readonly 'schema-id'?: number;
}

export interface SnapshotRef {
  readonly 'snapshot-id': number;
  readonly type: 'branch' | 'tag';
  readonly 'max-ref-age-ms'?: number;
  readonly 'max-snapshot-age-ms'?: number;
  readonly 'min-snapshots-to-keep'?: number;
}

export interface TableMetadata {
  readonly 'format-version': 2;
  readonly 'table-uuid': string;
  readonly location: string;
  readonly 'last-sequence-number': number;
  readonly 'last-updated-ms': number;
  readonly 'last-column-id': number;
  readonly schemas: readonly IcebergSchema[];
  readonly 'current-schema-id': number;
  readonly 'partition-specs': readonly PartitionSpec[];
  readonly 'default-spec-id': number;
  readonly 'last-partition-id': number;
  readonly properties: Readonly<Record<string, string>>;
  readonly 'current-snapshot-id'?: number;
  readonly snapshots: readonly Snapshot[];
  readonly 'snapshot-log': readonly { readonly 'snapshot-id': number; readonly 'timestamp-ms': number }[];
  readonly 'metadata-log': readonly { readonly 'metadata-file': string; readonly 'timestamp-ms': number }[];
  readonly 'sort-orders': readonly SortOrder[];
  readonly 'default-sort-order-id': number;
  readonly refs: Readonly<Record<string, SnapshotRef>>;
}

export type TableUpdate =
  | { readonly action: 'assign-uuid'; readonly uuid: string }
  | { readonly action: 'upgrade-format-version'; readonly 'format-version': number }
  | { readonly action: 'add-schema'; readonly schema: IcebergSchema; readonly 'last-column-id'?: number }
  | { readonly action: 'set-current-schema'; readonly 'schema-id': number }
  | { readonly action: 'add-spec'; readonly spec: PartitionSpec }
  | { readonly action: 'set-default-spec'; readonly 'spec-id': number }
  | { readonly action: 'add-sort-order'; readonly 'sort-order': SortOrder }
  | { readonly action: 'set-default-sort-order'; readonly 'sort-order-id': number }
  | { readonly action: 'add-snapshot'; readonly snapshot: Snapshot }
  | ({ readonly action: 'set-snapshot-ref'; readonly 'ref-name': string } & SnapshotRef)
  | { readonly action: 'remove-snapshots'; readonly 'snapshot-ids': readonly number[] }
  | { readonly action: 'remove-snapshot-ref'; readonly 'ref-name': string }
  | { readonly action: 'set-location'; readonly location: string }
  | { readonly action: 'set-properties'; readonly updates: Readonly<Record<string, string>> }
  | { readonly action: 'remove-properties'; readonly removals: readonly string[] };

export type TableRequirement =
  | { readonly type: 'assert-create' }
  | { readonly type: 'assert-table-uuid'; readonly uuid: string }
  | { readonly type: 'assert-ref-snapshot-id'; readonly ref: string; readonly 'snapshot-id': number | null }
  | { readonly type: 'assert-last-assigned-field-id'; readonly 'last-assigned-field-id': number }
  | { readonly type: 'assert-current-schema-id'; readonly 'current-schema-id': number }
  | { readonly type: 'assert-last-assigned-partition-id'; readonly 'last-assigned-partition-id': number }
  | { readonly type: 'assert-default-spec-id'; readonly 'default-spec-id': number }
  | { readonly type: 'assert-default-sort-order-id'; readonly 'default-sort-order-id': number };

/** A requirement did not hold: someone else committed first (the REST spec's 409 CommitFailedException). */
export class CommitConflictError extends Error {
  override readonly name = 'CommitConflictError';
}

/** An update cannot apply to this metadata (the REST spec's 400 BadRequestException). */
export class InvalidUpdateError extends Error {
  override readonly name = 'InvalidUpdateError';
}

/** Partition field ids start here (the spec: "1000 for unpartitioned specs... partition field ids start at 1000"). */
export const PARTITION_FIELD_ID_START = 1000;
export const MAIN_BRANCH = 'main';
export const UNSORTED: SortOrder = { 'order-id': 0, fields: [] };
/** How many previous metadata files the metadata log keeps (Iceberg's default). */
const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;

export function checkRequirements(base: TableMetadata | null, requirements: readonly TableRequirement[]): void {
  for (const r of requirements) {
    if (r.type === 'assert-create') {
      if (base !== null) throw new CommitConflictError('Requirement failed: table already exists');
      continue;
    }
    if (base === null) throw new CommitConflictError(`Requirement failed: ${r.type} on a table that does not exist`);
    const fail = (what: string, expected: unknown, actual: unknown) => {
      throw new CommitConflictError(`Requirement failed: ${what} changed: expected ${String(expected)} != ${String(actual)}`);
    };
    switch (r.type) {
      case 'assert-table-uuid':
        if (r.uuid !== base['table-uuid']) fail('UUID', r.uuid, base['table-uuid']);
        break;
      case 'assert-ref-snapshot-id': {
        const ref = base.refs[r.ref];
        if (r['snapshot-id'] === null) {
          if (ref !== undefined) throw new CommitConflictError(`Requirement failed: branch or tag ${r.ref} was created concurrently`);
        } else if (ref === undefined) {
          throw new CommitConflictError(`Requirement failed: branch or tag ${r.ref} is missing, expected ${r['snapshot-id']}`);
        } else if (ref['snapshot-id'] !== r['snapshot-id']) {
          fail(`${ref.type} ${r.ref}`, r['snapshot-id'], ref['snapshot-id']);
        }
        break;
      }
      case 'assert-last-assigned-field-id':
        if (r['last-assigned-field-id'] !== base['last-column-id']) fail('last assigned field id', r['last-assigned-field-id'], base['last-column-id']);
        break;
      case 'assert-current-schema-id':
        if (r['current-schema-id'] !== base['current-schema-id']) fail('current schema id', r['current-schema-id'], base['current-schema-id']);
        break;
      case 'assert-last-assigned-partition-id':
        if (r['last-assigned-partition-id'] !== base['last-partition-id']) fail('last assigned partition id', r['last-assigned-partition-id'], base['last-partition-id']);
        break;
      case 'assert-default-spec-id':
        if (r['default-spec-id'] !== base['default-spec-id']) fail('default partition spec id', r['default-spec-id'], base['default-spec-id']);
        break;
      case 'assert-default-sort-order-id':
        if (r['default-sort-order-id'] !== base['default-sort-order-id']) fail('default sort order id', r['default-sort-order-id'], base['default-sort-order-id']);
        break;
      default:
        throw new InvalidUpdateError(`unknown requirement ${(r as { type: string }).type}`);
    }
  }
}

/** The metadata a create-table starts from, before its schema, spec and order are added. */
export function emptyMetadata(location: string, uuid: string = randomUUID(), now: number = Date.now()): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': uuid,
    location: location.replace(/\/+$/, ''),
    'last-sequence-number': 0,
    'last-updated-ms': now,
    'last-column-id': 0,
    schemas: [],
    'current-schema-id': -1,
    'partition-specs': [],
    'default-spec-id': -1,
    'last-partition-id': PARTITION_FIELD_ID_START - 1,
    properties: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': [],
    'default-sort-order-id': -1,
    refs: {},
  };
}

/** The updates that make a new table: CreateTableRequest's schema, spec, order and properties. */
export function creationUpdates(schema: IcebergSchema, spec: PartitionSpec, order: SortOrder, properties: Readonly<Record<string, string>>): TableUpdate[] {
  return [
    { action: 'add-schema', schema },
    { action: 'set-current-schema', 'schema-id': -1 },
    { action: 'add-spec', spec },
    { action: 'set-default-spec', 'spec-id': -1 },
    { action: 'add-sort-order', 'sort-order': order },
    { action: 'set-default-sort-order', 'sort-order-id': -1 },
    { action: 'set-properties', updates: properties },
  ];
}

/**
 * Applies updates in order. `-1` in set-current-schema / set-default-spec /
 * set-default-sort-order means "the one added last in this commit", as the
 * REST spec says. Schemas, specs and orders equal to an existing one reuse
 * its id instead of adding a copy.
 */
export function applyUpdates(base: TableMetadata, updates: readonly TableUpdate[], now: number = Date.now()): TableMetadata {
  let m: Mutable<TableMetadata> = { ...base };
  let lastSchema: number | null = null;
  let lastSpec: number | null = null;
  let lastOrder: number | null = null;
  const changedRefs = new Set<string>();
  for (const u of updates) {
    switch (u.action) {
      case 'assign-uuid':
        if (m['table-uuid'] !== u.uuid && base.schemas.length > 0) throw new InvalidUpdateError('cannot reassign the uuid of an existing table');
        m['table-uuid'] = u.uuid;
        break;
      case 'upgrade-format-version':
        if (u['format-version'] !== 2) throw new InvalidUpdateError(`format version ${u['format-version']} is not supported (Floe writes v2)`);
        break;
      case 'add-schema': {
        const same = m.schemas.find((s) => sameStruct(s, u.schema));
        if (same !== undefined) {
          lastSchema = same['schema-id'];
          break;
        }
        const id = m.schemas.reduce((max, s) => Math.max(max, s['schema-id'] + 1), 0);
        const schema: IcebergSchema = { ...u.schema, 'schema-id': id };
        m.schemas = [...m.schemas, schema];
        m['last-column-id'] = Math.max(m['last-column-id'], u['last-column-id'] ?? 0, maxFieldId(schema));
        lastSchema = id;
        break;
      }
      case 'set-current-schema': {
        const id = u['schema-id'] === -1 ? lastSchema : u['schema-id'];
        if (id === null) throw new InvalidUpdateError('set-current-schema -1 without an added schema');
        if (!m.schemas.some((s) => s['schema-id'] === id)) throw new InvalidUpdateError(`no schema with id ${id}`);
        m['current-schema-id'] = id;
        break;
      }
      case 'add-spec': {
        const same = m['partition-specs'].find((s) => JSON.stringify(s.fields) === JSON.stringify(u.spec.fields));
        if (same !== undefined) {
          lastSpec = same['spec-id'];
          break;
        }
        const id = m['partition-specs'].reduce((max, s) => Math.max(max, s['spec-id'] + 1), 0);
        m['partition-specs'] = [...m['partition-specs'], { ...u.spec, 'spec-id': id }];
        m['last-partition-id'] = u.spec.fields.reduce((max, f) => Math.max(max, f['field-id']), m['last-partition-id']);
        lastSpec = id;
        break;
      }
      case 'set-default-spec': {
        const id = u['spec-id'] === -1 ? lastSpec : u['spec-id'];
        if (id === null || !m['partition-specs'].some((s) => s['spec-id'] === id)) throw new InvalidUpdateError(`no partition spec with id ${u['spec-id']}`);
        m['default-spec-id'] = id;
        break;
      }
      case 'add-sort-order': {
        const same = m['sort-orders'].find((o) => JSON.stringify(o.fields) === JSON.stringify(u['sort-order'].fields));
        if (same !== undefined) {
          lastOrder = same['order-id'];
          break;
        }
        // Order 0 is reserved for "unsorted".
        const id = u['sort-order'].fields.length === 0 ? 0 : m['sort-orders'].reduce((max, o) => Math.max(max, o['order-id'] + 1), 1);
        m['sort-orders'] = [...m['sort-orders'], { ...u['sort-order'], 'order-id': id }];
        lastOrder = id;
        break;
      }
      case 'set-default-sort-order': {
        const id = u['sort-order-id'] === -1 ? lastOrder : u['sort-order-id'];
        if (id === null || !m['sort-orders'].some((o) => o['order-id'] === id)) throw new InvalidUpdateError(`no sort order with id ${u['sort-order-id']}`);
        m['default-sort-order-id'] = id;
        break;
      }
      case 'add-snapshot': {
        const s = u.snapshot;
        if (m.snapshots.some((x) => x['snapshot-id'] === s['snapshot-id'])) throw new InvalidUpdateError(`snapshot ${s['snapshot-id']} already exists`);
        if (s['sequence-number'] <= m['last-sequence-number'] && m.snapshots.length > 0) {
          throw new InvalidUpdateError(`cannot add snapshot with sequence number ${s['sequence-number']} older than last sequence number ${m['last-sequence-number']}`);
        }
        m.snapshots = [...m.snapshots, s];
        m['last-sequence-number'] = Math.max(m['last-sequence-number'], s['sequence-number']);
        m['last-updated-ms'] = s['timestamp-ms'];
        break;
      }
      case 'set-snapshot-ref': {
        const { action: _a, 'ref-name': name, ...ref } = u;
        if (!m.snapshots.some((s) => s['snapshot-id'] === ref['snapshot-id'])) throw new InvalidUpdateError(`cannot set ${name} to unknown snapshot ${ref['snapshot-id']}`);
        m.refs = { ...m.refs, [name]: ref };
        if (name === MAIN_BRANCH) {
          m['current-snapshot-id'] = ref['snapshot-id'];
          changedRefs.add(name);
        }
        break;
      }
      case 'remove-snapshots': {
        const gone = new Set(u['snapshot-ids']);
        m.snapshots = m.snapshots.filter((s) => !gone.has(s['snapshot-id']));
        m['snapshot-log'] = m['snapshot-log'].filter((e) => !gone.has(e['snapshot-id']));
        m.refs = Object.fromEntries(Object.entries(m.refs).filter(([, r]) => !gone.has(r['snapshot-id'])));
        if (m['current-snapshot-id'] !== undefined && gone.has(m['current-snapshot-id'])) delete m['current-snapshot-id'];
        break;
      }
      case 'remove-snapshot-ref': {
        const { [u['ref-name']]: _gone, ...rest } = m.refs;
        m.refs = rest;
        if (u['ref-name'] === MAIN_BRANCH) delete m['current-snapshot-id'];
        break;
      }
      case 'set-location':
        m.location = u.location.replace(/\/+$/, '');
        break;
      case 'set-properties':
        m.properties = { ...m.properties, ...u.updates };
        break;
      case 'remove-properties': {
        const props = { ...m.properties };
        for (const k of u.removals) delete props[k];
        m.properties = props;
        break;
      }
      default:
        throw new InvalidUpdateError(`unknown update ${(u as { action: string }).action}`);
    }
  }
  if (changedRefs.has(MAIN_BRANCH) && m['current-snapshot-id'] !== undefined) {
    const s = m.snapshots.find((x) => x['snapshot-id'] === m['current-snapshot-id']);
    m['snapshot-log'] = [...m['snapshot-log'], { 'snapshot-id': m['current-snapshot-id'], 'timestamp-ms': s?.['timestamp-ms'] ?? now }];
  }
  m['last-updated-ms'] = Math.max(m['last-updated-ms'], now);
  if (m.schemas.length === 0 || m['partition-specs'].length === 0 || m['sort-orders'].length === 0) {
    throw new InvalidUpdateError('a table needs a schema, a partition spec and a sort order');
  }
  return m;
}

/** The metadata to write as the next version after `previous` (whose file was `previousFile`). */
export function withMetadataLog(m: TableMetadata, previous: TableMetadata, previousFile: string): TableMetadata {
  const max = Number(m.properties['write.metadata.previous-versions-max'] ?? DEFAULT_PREVIOUS_VERSIONS_MAX);
  const log = [...m['metadata-log'], { 'metadata-file': previousFile, 'timestamp-ms': previous['last-updated-ms'] }];
  return { ...m, 'metadata-log': log.slice(Math.max(0, log.length - max)) };
}

export function currentSchema(m: TableMetadata): IcebergSchema {
  const s = m.schemas.find((x) => x['schema-id'] === m['current-schema-id']);
  if (s === undefined) throw new InvalidUpdateError(`metadata names current schema ${m['current-schema-id']}, which it does not hold`);
  return s;
}

export function defaultSpec(m: TableMetadata): PartitionSpec {
  const s = m['partition-specs'].find((x) => x['spec-id'] === m['default-spec-id']);
  if (s === undefined) throw new InvalidUpdateError(`metadata names default spec ${m['default-spec-id']}, which it does not hold`);
  return s;
}

export function currentSnapshot(m: TableMetadata): Snapshot | null {
  const id = m.refs[MAIN_BRANCH]?.['snapshot-id'] ?? m['current-snapshot-id'];
  return id === undefined ? null : (m.snapshots.find((s) => s['snapshot-id'] === id) ?? null);
}

/** A positive 63-bit snapshot id, as Java's SnapshotIdGeneratorUtil makes from a UUID. */
export function newSnapshotId(): number {
  // JSON numbers above 2^53 lose precision in JavaScript (and in many JSON
  // readers), so ids stay within Number.MAX_SAFE_INTEGER.
  const bytes = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  return Number(bytes.readBigUInt64BE(0) & BigInt(Number.MAX_SAFE_INTEGER)) || 1;
}

function sameStruct(a: IcebergSchema, b: IcebergSchema): boolean {
  return JSON.stringify(a.fields) === JSON.stringify(b.fields) && JSON.stringify(a['identifier-field-ids'] ?? []) === JSON.stringify(b['identifier-field-ids'] ?? []);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
