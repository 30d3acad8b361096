// Avro payloads to row objects for a table schema: the path rows take when
// they cannot be decoded straight into columns (avro-decode.ts), that is a
// partition source inside a wider union, and the check of records already
// in the table that may still owe the dead-letter table a row. avsc decodes (with
// wrapped unions, so a branch is always known, and logical types that turn
// millis into the micros Iceberg stores and decimal bytes into bigints); a
// reader compiled once per (writer schema, table schema) pair then maps the
// decoded value onto the table's fields by name, as Iceberg resolves
// columns: fields the writer lacks are null, fields the table lacks cannot
// occur (the table schema is evolved first). Where the decoded value already
// has the table's shape (records, lists, optional values) the reader is the
// identity and nothing is copied.

import avro from 'avsc';
import type { IcebergType, StructType } from '../iceberg/types.js';
import { isList, isMap, isStruct } from '../iceberg/types.js';

export class ConversionError extends Error {
  override readonly name = 'ConversionError';
}

type Reader = (v: unknown) => unknown;

/**
 * The reader of a value that already has the table's shape: avsc's record
 * objects go to the columns as decoded, with no copy per row (the columns
 * read fields by name and take a missing field as null).
 */
const same: Reader = (v) => v;

/** Logical types whose stored form differs from Iceberg's: scaled to micros, or bytes to an unscaled bigint. */
export class ScaledLong extends avro.types.LogicalType {
  override _fromValue(v: unknown): unknown {
    return (v as number) * 1000;
  }
  override _toValue(v: unknown): unknown {
    return Math.floor((v as number) / 1000);
  }
}

export class UnscaledDecimal extends avro.types.LogicalType {
  override _fromValue(v: unknown): unknown {
    const b = v as Buffer;
    if (b.length === 0) return 0n;
    let n = 0n;
    for (const byte of b) n = (n << 8n) | BigInt(byte);
    return BigInt.asIntN(b.length * 8, n);
  }
  override _toValue(v: unknown): unknown {
    return v;
  }
}

const LOGICAL_TYPES = {
  'timestamp-millis': ScaledLong,
  'local-timestamp-millis': ScaledLong,
  'time-millis': ScaledLong,
  decimal: UnscaledDecimal,
} as unknown as Record<string, new (...args: unknown[]) => avro.types.LogicalType>;

/**
 * [null, T] decodes unwrapped (null or the T value itself, no object per
 * value); every other union wrapped, so its branch is always known.
 */
function unwrapOptional(schema: avro.Schema, opts: avro.ForSchemaOptions): avro.Type | undefined {
  if (!Array.isArray(schema) || schema.length !== 2) return undefined;
  const isNull = (s: unknown) => s === 'null' || (typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'null');
  if (schema.filter(isNull).length !== 1) return undefined;
  return new avro.types.UnwrappedUnionType(schema, opts);
}

/** Parses a registry schema (with its references' schemas) into an avsc Type for decoding. */
export function avroType(schema: string, references: readonly string[]): avro.Type {
  const registry: Record<string, avro.Type> = {};
  const opts = () => ({ registry, wrapUnions: true, logicalTypes: LOGICAL_TYPES, typeHook: unwrapOptional });
  for (const ref of references) avro.Type.forSchema(JSON.parse(ref) as avro.Schema, opts());
  return avro.Type.forSchema(JSON.parse(schema) as avro.Schema, opts());
}

/** Decodes one Avro datum that must span all of `payload`. */
export function decodeAvro(type: avro.Type, payload: Buffer): unknown {
  try {
    return type.fromBuffer(payload);
  } catch (err) {
    throw new ConversionError(`Avro payload does not match its schema: ${(err as Error).message}`);
  }
}

/** Compiles the mapping of a decoded `writer` value to the table's `table` struct. */
export function compileStructReader(writer: avro.Type, table: StructType): (v: unknown) => Record<string, unknown> {
  const w = underlying(writer);
  if (w.typeName !== 'record' && w.typeName !== 'error') {
    // A non-record value is one column named value (avroToIceberg's rule).
    const inner = compile(writer, table.fields.find((f) => f.name === 'value')?.type ?? 'binary');
    return (v) => ({ value: inner(v) });
  }
  return compile(writer, table) as (v: unknown) => Record<string, unknown>;
}

function underlying(t: avro.Type): avro.Type {
  return t instanceof avro.types.LogicalType ? t.underlyingType : t;
}

function compile(writer: avro.Type, table: IcebergType): Reader {
  const w = underlying(writer);
  if (w instanceof avro.types.WrappedUnionType) return compileUnion(w, table);
  if (w instanceof avro.types.UnwrappedUnionType) {
    // Only [null, T] is unwrapped (unwrapOptional): null, or T's value as is.
    const inner = compile(w.types.find((t) => t.typeName !== 'null')!, table);
    return inner === same ? same : (v) => (v === null || v === undefined ? null : inner(v));
  }
  if (isStruct(table)) {
    if (!(w instanceof avro.types.RecordType)) throw new ConversionError(`expected a record for a struct, got ${w.typeName}`);
    const byName = new Map(w.fields.map((f) => [f.name, f]));
    const parts = table.fields.map((f) => {
      const wf = byName.get(f.name);
      return { name: f.name, writerName: wf?.name, read: wf === undefined ? null : compile(wf.type, f.type) };
    });
    if (parts.every((p) => p.read === null || p.read === same)) return same;
    return (v) => {
      if (v === null || v === undefined) return null;
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const p of parts) out[p.name] = p.read === null ? null : p.read(o[p.writerName!]);
      return out;
    };
  }
  if (isList(table)) {
    if (!(w instanceof avro.types.ArrayType)) throw new ConversionError(`expected an array for a list, got ${w.typeName}`);
    const el = compile(w.itemsType, table.element);
    if (el === same) return same;
    return (v) => (v === null || v === undefined ? null : (v as unknown[]).map(el));
  }
  if (isMap(table)) {
    if (!(w instanceof avro.types.MapType)) throw new ConversionError(`expected a map, got ${w.typeName}`);
    const val = compile(w.valuesType, table.value);
    return (v) => (v === null || v === undefined ? null : Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, val(x)]));
  }
  // Primitives arrive as Iceberg holds them (enum symbols as strings, fixed/bytes as Buffers).
  return same;
}

/** Unions other than [null, T] (a single-branch [T] too) read as the {tag, field0..N} struct avroToIceberg lays out. */
function compileUnion(u: avro.types.WrappedUnionType, table: IcebergType): Reader {
  const branches = u.types.filter((t) => t.typeName !== 'null');
  const branchName = (t: avro.Type) => (t as unknown as { branchName: string }).branchName;
  if (!isStruct(table)) throw new ConversionError(`a union of ${branches.length} types needs a struct column`);
  const byBranch = new Map(
    branches.map((b, i) => {
      const field = table.fields.find((f) => f.name === `field${i}`);
      return [branchName(b), { index: i, name: `field${i}`, read: field === undefined ? null : compile(b, field.type) }];
    }),
  );
  return (v) => {
    if (v === null || v === undefined) return null;
    const [name, inner] = Object.entries(v as Record<string, unknown>)[0];
    const b = byBranch.get(name);
    if (b === undefined) return null;
    const out: Record<string, unknown> = { tag: b.index };
    for (let i = 0; i < branches.length; i++) out[`field${i}`] = null;
    out[b.name] = b.read === null ? null : b.read(inner);
    return out;
  };
}
