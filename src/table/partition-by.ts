// automq.table.topic.partition.by, as AutoMQ writes it:
//   [bucket(name, 16), month(ts), truncate(code, 4), day(_kafka_metadata.timestamp), region]
// Each entry is a transform applied to a column (a dotted path for nested
// fields); a bare column is identity. The parser is strict: hostile or
// mistyped values are refused when the config is set, not when data arrives.

import type { PartitionField as SpecField, PartitionSpec } from './iceberg/metadata.js';
import { transformName, type Transform } from './iceberg/transforms.js';
import { fieldByPath, type StructType } from './iceberg/types.js';

export interface PartitionField {
  /** The source column, dotted for nested fields. */
  readonly source: string;
  readonly transform: Transform;
}

export class PartitionByError extends Error {
  override readonly name = 'PartitionByError';
}

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const MAX_FIELDS = 32;

function positiveInt(raw: string, what: string): number {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > 2147483647) throw new PartitionByError(`${what} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function parsePartitionBy(value: string): PartitionField[] {
  const text = value.trim();
  if (text === '' || text === '[]') return [];
  if (!text.startsWith('[') || !text.endsWith(']')) throw new PartitionByError('expected a list in brackets, e.g. [bucket(name, 16), month(ts)]');
  const body = text.slice(1, -1).trim();
  if (body === '') return [];
  // Entries are separated by commas outside parentheses.
  const entries: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '(') depth++;
    else if (c === ')') {
      if (--depth < 0) throw new PartitionByError(`unbalanced ) at ${i}`);
    } else if (c === ',' && depth === 0) {
      entries.push(body.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new PartitionByError('unbalanced (');
  entries.push(body.slice(start));
  if (entries.length > MAX_FIELDS) throw new PartitionByError(`at most ${MAX_FIELDS} partition fields`);

  const fields = entries.map((raw): PartitionField => {
    const e = raw.trim();
    const call = /^([a-z]+)\s*\(\s*([^,()]+?)\s*(?:,\s*([^,()]+?)\s*)?\)$/.exec(e);
    if (call === null) {
      if (!COLUMN.test(e)) throw new PartitionByError(`not a column or transform: ${JSON.stringify(e)}`);
      return { source: e, transform: { kind: 'identity' } };
    }
    const [, fn, column, arg] = call;
    if (!COLUMN.test(column)) throw new PartitionByError(`not a column: ${JSON.stringify(column)}`);
    switch (fn) {
      case 'bucket':
        if (arg === undefined) throw new PartitionByError('bucket(column, N) needs N');
        return { source: column, transform: { kind: 'bucket', n: positiveInt(arg, 'bucket N') } };
      case 'truncate':
        if (arg === undefined) throw new PartitionByError('truncate(column, W) needs W');
        return { source: column, transform: { kind: 'truncate', width: positiveInt(arg, 'truncate W') } };
      case 'year':
      case 'month':
      case 'day':
      case 'hour':
      case 'identity':
        if (arg !== undefined) throw new PartitionByError(`${fn}(column) takes one argument`);
        return { source: column, transform: { kind: fn } };
      default:
        throw new PartitionByError(`unknown transform ${fn}: use identity, year, month, day, hour, bucket or truncate`);
    }
  });
  const seen = new Set<string>();
  for (const f of fields) {
    const key = `${f.source}/${f.transform.kind}`;
    if (seen.has(key)) throw new PartitionByError(`${f.source} is partitioned by ${f.transform.kind} twice`);
    seen.add(key);
  }
  return fields;
}

/**
 * The partition spec a partition.by value asks for over `schema` (spec id 0:
 * the table's metadata numbers it). A field the table already had, same
 * source and transform, keeps its field id; new ones follow `lastPartitionId`.
 */
export function partitionSpecFor(schema: StructType, partitionBy: string, previous: readonly SpecField[], lastPartitionId: number): PartitionSpec {
  let nextId = lastPartitionId;
  const fields = parsePartitionBy(partitionBy).map((w) => {
    const source = fieldByPath(schema, w.source);
    if (source === null) throw new Error(`partition.by names column ${w.source}, which the table does not have`);
    const transform = transformName(w.transform);
    const same = previous.find((f) => f['source-id'] === source.id && f.transform === transform);
    // Iceberg's default partition field names; dots would not be valid Avro names in manifests.
    const base = w.source.replace(/\./g, '_');
    const suffix = { identity: '', bucket: '_bucket', truncate: '_trunc', year: '_year', month: '_month', day: '_day', hour: '_hour', void: '_null' }[w.transform.kind];
    return { 'source-id': source.id, 'field-id': same?.['field-id'] ?? ++nextId, name: base + suffix, transform };
  });
  return { 'spec-id': 0, fields };
}
