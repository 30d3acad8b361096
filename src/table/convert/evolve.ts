// Schema evolution for table topics (issue 6 §6): the table's schema is the
// union of every value schema seen, matched by field name. A field keeps its
// id forever; a new field (nested too) gets ids above last-column-id and is
// optional; int→long, float→double and a wider decimal precision are
// promoted as Iceberg allows; a field a newer schema lacks becomes optional
// (old and new records both fit). Anything else (string→int, struct→list) is
// not a legal Iceberg change and is refused.

import type { IcebergType, NestedField, StructType } from '../iceberg/types.js';
import { isList, isMap, isStruct } from '../iceberg/types.js';

export class IncompatibleSchemaError extends Error {
  override readonly name = 'IncompatibleSchemaError';
}

interface Ids {
  last: number;
}

/** `incoming` merged into `current`; ids of new parts come after `lastColumnId`. */
export function mergeSchema(current: StructType, incoming: StructType, lastColumnId: number): { struct: StructType; lastColumnId: number; changed: boolean } {
  const ids: Ids = { last: lastColumnId };
  const struct = mergeStruct(current, incoming, ids, '');
  return { struct, lastColumnId: ids.last, changed: JSON.stringify(struct) !== JSON.stringify(current) };
}

function mergeStruct(current: StructType, incoming: StructType, ids: Ids, path: string): StructType {
  const byName = new Map(incoming.fields.map((f) => [f.name, f]));
  const fields: NestedField[] = current.fields.map((f) => {
    const inc = byName.get(f.name);
    // A field the new schema lacks stays, optional: older records still have it.
    if (inc === undefined) return f.required ? { ...f, required: false } : f;
    const type = mergeType(f.type, inc.type, ids, `${path}${f.name}`);
    return { ...f, type, required: f.required && inc.required };
  });
  const known = new Set(current.fields.map((f) => f.name));
  // New fields are added in two passes, as fresh ids are assigned: the fields, then what their types need.
  const added = incoming.fields.filter((f) => !known.has(f.name)).map((f) => ({ f, id: ++ids.last }));
  for (const { f, id } of added) fields.push({ ...f, id, required: false, type: reassign(f.type, ids) });
  return { type: 'struct', fields };
}

function mergeType(current: IcebergType, incoming: IcebergType, ids: Ids, path: string): IcebergType {
  if (isStruct(current) && isStruct(incoming)) return mergeStruct(current, incoming, ids, `${path}.`);
  if (isList(current) && isList(incoming)) {
    return { ...current, element: mergeType(current.element, incoming.element, ids, `${path}.element`), 'element-required': current['element-required'] && incoming['element-required'] };
  }
  if (isMap(current) && isMap(incoming)) {
    return {
      ...current,
      key: mergeType(current.key, incoming.key, ids, `${path}.key`),
      value: mergeType(current.value, incoming.value, ids, `${path}.value`),
      'value-required': current['value-required'] && incoming['value-required'],
    };
  }
  if (typeof current === 'string' && typeof incoming === 'string') {
    const wider = promote(current, incoming);
    if (wider !== null) return wider;
  }
  throw new IncompatibleSchemaError(`column ${path} cannot change from ${describe(current)} to ${describe(incoming)}`);
}

/** The type both values fit, if Iceberg's promotions allow one. */
function promote(current: string, incoming: string): IcebergType | null {
  if (current === incoming) return current as IcebergType;
  const pair = `${current}->${incoming}`;
  if (pair === 'int->long') return 'long';
  if (pair === 'long->int') return 'long';
  if (pair === 'float->double') return 'double';
  if (pair === 'double->float') return 'double';
  const a = /^decimal\((\d+), ?(\d+)\)$/.exec(current);
  const b = /^decimal\((\d+), ?(\d+)\)$/.exec(incoming);
  if (a !== null && b !== null && a[2] === b[2]) return Number(b[1]) > Number(a[1]) ? (incoming as IcebergType) : (current as IcebergType);
  return null;
}

/** A type with every id fresh (for a newly added field). */
function reassign(t: IcebergType, ids: Ids): IcebergType {
  if (isStruct(t)) {
    const fresh = t.fields.map(() => ++ids.last);
    return { type: 'struct', fields: t.fields.map((f, i) => ({ ...f, id: fresh[i], type: reassign(f.type, ids) })) };
  }
  if (isList(t)) {
    const id = ++ids.last;
    return { ...t, 'element-id': id, element: reassign(t.element, ids) };
  }
  if (isMap(t)) {
    const key = ++ids.last;
    const value = ++ids.last;
    return { ...t, 'key-id': key, 'value-id': value, key: reassign(t.key, ids), value: reassign(t.value, ids) };
  }
  return t;
}

const describe = (t: IcebergType): string => (typeof t === 'string' ? t : t.type);
