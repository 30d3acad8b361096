// Iceberg's type model as the table spec writes it in metadata JSON
// ("Schemas and Data Types", Appendix C): primitives are strings, nested
// types are objects, and every field, list element and map key/value has an
// id. Values are plain immutable data, as in iceberg-rust and PyIceberg.

export type PrimitiveType =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'string'
  | 'uuid'
  | 'binary'
  | `decimal(${number}, ${number})`
  | `fixed[${number}]`;

export interface NestedField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergType;
  readonly doc?: string;
}

export interface StructType {
  readonly type: 'struct';
  readonly fields: readonly NestedField[];
}

export interface ListType {
  readonly type: 'list';
  readonly 'element-id': number;
  readonly element: IcebergType;
  readonly 'element-required': boolean;
}

export interface MapType {
  readonly type: 'map';
  readonly 'key-id': number;
  readonly key: IcebergType;
  readonly 'value-id': number;
  readonly value: IcebergType;
  readonly 'value-required': boolean;
}

export type IcebergType = PrimitiveType | StructType | ListType | MapType;

/** A table schema: a struct with a schema id (metadata's `schemas` entries). */
export interface IcebergSchema extends StructType {
  readonly 'schema-id': number;
  readonly 'identifier-field-ids'?: readonly number[];
}

export const decimalType = (precision: number, scale: number): PrimitiveType => `decimal(${precision}, ${scale})`;
export const fixedType = (length: number): PrimitiveType => `fixed[${length}]`;

export const isStruct = (t: IcebergType): t is StructType => typeof t === 'object' && t.type === 'struct';
export const isList = (t: IcebergType): t is ListType => typeof t === 'object' && t.type === 'list';
export const isMap = (t: IcebergType): t is MapType => typeof t === 'object' && t.type === 'map';

/** The highest id a type assigns (fields, elements, keys and values), for the metadata's last-column-id. */
export function maxFieldId(t: IcebergType): number {
  if (isStruct(t)) return t.fields.reduce((m, f) => Math.max(m, f.id, maxFieldId(f.type)), 0);
  if (isList(t)) return Math.max(t['element-id'], maxFieldId(t.element));
  if (isMap(t)) return Math.max(t['key-id'], t['value-id'], maxFieldId(t.key), maxFieldId(t.value));
  return 0;
}

/** The field at a dotted path of struct fields (`address.city`), or null. */
export function fieldByPath(t: StructType, path: string): NestedField | null {
  let struct: IcebergType = t;
  let found: NestedField | null = null;
  for (const name of path.split('.')) {
    if (!isStruct(struct)) return null;
    found = struct.fields.find((f) => f.name === name) ?? null;
    if (found === null) return null;
    struct = found.type;
  }
  return found;
}

/** The names leading to field `id` through structs, and its type (null if no struct field has that id). */
export function fieldPath(t: IcebergType, id: number): { names: string[]; type: IcebergType } | null {
  if (!isStruct(t)) return null;
  for (const f of t.fields) {
    if (f.id === id) return { names: [f.name], type: f.type };
    const inner = fieldPath(f.type, id);
    if (inner !== null) return { names: [f.name, ...inner.names], type: inner.type };
  }
  return null;
}
