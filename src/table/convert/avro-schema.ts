// Avro schemas to Iceberg types, per the Iceberg spec's Avro mapping
// (Appendix A): primitives; decimal, date, time, timestamp (local-timestamp-*)
// and timestamptz (timestamp-*), in millis or micros; uuid; fixed; enum as
// string; record as struct; array as list; map as map<string, V>; [null, T]
// as an optional T; any other union as a struct of optional branches named
// field0..fieldN (with an int `tag` saying which branch is set, as Trino and
// Iceberg's Avro readers lay non-option unions out).
//
// It walks the schema JSON itself, rather than avsc's Types, because avsc
// drops the logicalType attributes that decide date, time and timestamps.
// Field ids are fresh, in Iceberg's order: a struct's fields first, then
// what each field's type needs.

import type { IcebergType, NestedField, StructType } from '../iceberg/types.js';
import { decimalType, fixedType, isList, isMap, isStruct } from '../iceberg/types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

export class UnsupportedSchemaError extends Error {
  override readonly name = 'UnsupportedSchemaError';
}

const PRIMITIVES: Record<string, IcebergType> = {
  boolean: 'boolean',
  int: 'int',
  long: 'long',
  float: 'float',
  double: 'double',
  bytes: 'binary',
  string: 'string',
};

/** Named types (record, enum, fixed) by full name, as the walk defines them. */
type Names = Map<string, Obj>;

const isObj = (v: Json): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function fullName(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

export interface IdAllocator {
  next(): number;
}

export function idsFrom(first: number): IdAllocator {
  let n = first;
  return { next: () => n++ };
}

interface Walk {
  readonly names: Names;
  readonly ids: IdAllocator;
  /** Full names of the records being converted (Iceberg has no recursive types). */
  readonly open: Set<string>;
}

/** What a schema is, with nullability: `[null, T]` is an optional T. */
function unwrapOptional(s: Json): { schema: Json; optional: boolean } {
  if (Array.isArray(s)) {
    const nonNull = s.filter((b) => b !== 'null' && !(isObj(b) && b.type === 'null'));
    if (nonNull.length === 1 && s.length === 2) return { schema: nonNull[0], optional: true };
    // A wider union with a null branch is a struct that may itself be null.
    return { schema: s, optional: nonNull.length < s.length };
  }
  return { schema: s, optional: false };
}

function logicalType(s: Obj): IcebergType | null {
  const lt = s.logicalType;
  switch (lt) {
    case 'decimal': {
      const precision = s.precision;
      const scale = s.scale ?? 0;
      if (typeof precision !== 'number' || typeof scale !== 'number' || precision < 1 || precision > 38 || scale < 0 || scale > precision) return null;
      return decimalType(precision, scale);
    }
    case 'date':
      return s.type === 'int' ? 'date' : null;
    case 'time-millis':
      return s.type === 'int' ? 'time' : null;
    case 'time-micros':
      return s.type === 'long' ? 'time' : null;
    case 'timestamp-millis':
    case 'timestamp-micros':
      // The spec's adjust-to-utc=false marks a timestamp without zone written as timestamp-*.
      return s.type === 'long' ? (s['adjust-to-utc'] === false ? 'timestamp' : 'timestamptz') : null;
    case 'local-timestamp-millis':
    case 'local-timestamp-micros':
      return s.type === 'long' ? 'timestamp' : null;
    case 'uuid':
      return s.type === 'string' || (s.type === 'fixed' && s.size === 16) ? 'uuid' : null;
    default:
      return null; // unknown logical types read as their underlying type, as the Avro spec says
  }
}

function convert(s: Json, namespace: string, w: Walk): IcebergType {
  if (typeof s === 'string') {
    const p = PRIMITIVES[s];
    if (p !== undefined) return p;
    if (s === 'null') throw new UnsupportedSchemaError('a null type has no Iceberg column type');
    const named = w.names.get(fullName(s, namespace)) ?? w.names.get(s);
    if (named === undefined) throw new UnsupportedSchemaError(`unknown Avro type name ${s}`);
    return convertNamed(named, w, true);
  }
  if (Array.isArray(s)) return unionStruct(s, namespace, w);
  if (!isObj(s)) throw new UnsupportedSchemaError(`not an Avro schema: ${JSON.stringify(s)}`);
  const logical = logicalType(s);
  if (logical !== null) return logical;
  const t = s.type;
  if (typeof t === 'string' && t in PRIMITIVES) return PRIMITIVES[t];
  switch (t) {
    case 'record':
    case 'error':
    case 'enum':
    case 'fixed': {
      const name = fullName(String(s.name), typeof s.namespace === 'string' ? s.namespace : namespace);
      w.names.set(name, { ...s, name, namespace: name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '' });
      return convertNamed(w.names.get(name) as Obj, w, false);
    }
    case 'array': {
      const { schema, optional } = unwrapOptional(s.items);
      const id = w.ids.next();
      return { type: 'list', 'element-id': id, element: convert(schema, namespace, w), 'element-required': !optional };
    }
    case 'map': {
      const { schema, optional } = unwrapOptional(s.values);
      const keyId = w.ids.next();
      const valueId = w.ids.next();
      return { type: 'map', 'key-id': keyId, key: 'string', 'value-id': valueId, value: convert(schema, namespace, w), 'value-required': !optional };
    }
    default:
      if (isObj(s) && (typeof t === 'object' || Array.isArray(t))) return convert(t, namespace, w);
      throw new UnsupportedSchemaError(`unsupported Avro type ${JSON.stringify(t)}`);
  }
}

function convertNamed(s: Obj, w: Walk, byReference: boolean): IcebergType {
  const name = String(s.name);
  const namespace = typeof s.namespace === 'string' ? s.namespace : '';
  switch (s.type) {
    case 'enum':
      return 'string';
    case 'fixed':
      return typeof s.size === 'number' ? fixedType(s.size) : 'binary';
    default: {
      if (w.open.has(name)) throw new UnsupportedSchemaError(`recursive record ${name}: Iceberg has no recursive types`);
      if (byReference && !Array.isArray(s.fields)) throw new UnsupportedSchemaError(`record ${name} has no fields`);
      w.open.add(name);
      try {
        return structOf(Array.isArray(s.fields) ? s.fields : [], namespace, w);
      } finally {
        w.open.delete(name);
      }
    }
  }
}

function structOf(fields: readonly Json[], namespace: string, w: Walk): StructType {
  // Iceberg's order: this struct's field ids first, then the ids their types need.
  const ids = fields.map(() => w.ids.next());
  const out: NestedField[] = fields.map((f, i) => {
    if (!isObj(f) || typeof f.name !== 'string') throw new UnsupportedSchemaError('a record field needs a name');
    const { schema, optional } = unwrapOptional(f.type);
    const field: NestedField = { id: ids[i], name: f.name, required: !optional, type: convert(schema, namespace, w) };
    return typeof f.doc === 'string' ? { ...field, doc: f.doc } : field;
  });
  return { type: 'struct', fields: out };
}

/** A non-option union: an int tag plus one optional field per non-null branch. */
function unionStruct(branches: readonly Json[], namespace: string, w: Walk): StructType {
  const members = branches.filter((b) => b !== 'null' && !(isObj(b) && b.type === 'null'));
  const ids = [w.ids.next(), ...members.map(() => w.ids.next())];
  return {
    type: 'struct',
    fields: [
      { id: ids[0], name: 'tag', required: true, type: 'int' },
      ...members.map((b, i): NestedField => ({ id: ids[i + 1], name: `field${i}`, required: false, type: convert(b, namespace, w) })),
    ],
  };
}

/**
 * The Iceberg struct for an Avro record schema (named types from
 * `references` first, dependencies before dependents), with ids from `firstId`.
 */
export function avroToIceberg(schema: string, references: readonly string[] = [], firstId = 1): { struct: StructType; lastId: number } {
  const names: Names = new Map();
  let next = firstId;
  const ids: IdAllocator = { next: () => next++ };
  const w: Walk = { names, ids, open: new Set() };
  // References only define names; their ids are not used.
  for (const ref of references) convert(JSON.parse(ref) as Json, '', { names, ids: idsFrom(0), open: new Set() });
  const { schema: body, optional } = unwrapOptional(JSON.parse(schema) as Json);
  const named = typeof body === 'string' ? names.get(body) : undefined;
  const isRecord = (isObj(body) && (body.type === 'record' || body.type === 'error')) || named?.type === 'record';
  let struct: StructType;
  if (isRecord) struct = convert(body, '', w) as StructType;
  else {
    // A value that is not a record becomes one column named value.
    const id = ids.next();
    struct = { type: 'struct', fields: [{ id, name: 'value', required: !optional, type: convert(body, '', w) }] };
  }
  for (const f of struct.fields) refuseEmptyStructs(f.type, f.name);
  return { struct, lastId: next - 1 };
}

/** Parquet has no empty groups: a record with no fields cannot be a column (the top-level record can, its fields being the columns). */
export function refuseEmptyStructs(t: IcebergType, path: string): void {
  if (isStruct(t)) {
    if (t.fields.length === 0) throw new UnsupportedSchemaError(`${path} is a record with no fields, which Parquet cannot store`);
    for (const f of t.fields) refuseEmptyStructs(f.type, `${path}.${f.name}`);
  } else if (isList(t)) refuseEmptyStructs(t.element, `${path}.element`);
  else if (isMap(t)) refuseEmptyStructs(t.value, `${path}.value`);
}
