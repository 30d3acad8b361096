// Avro schemas: parsed and validated by avsc; compatibility by the Avro
// specification's schema-resolution rules, written out here (rather than
// asking avsc's createResolver) so that every problem is reported with its
// path and kind, as Confluent's verbose compatibility check does. The unit
// tests cross-check these rules against avsc's resolver.

import avro from 'avsc';
import { incompatibility, InvalidSchemaError, type ParsedSchema, type ResolvedReference, type SchemaFormat } from './format.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

class AvroSchema implements ParsedSchema {
  readonly schemaType = 'AVRO' as const;
  constructor(
    readonly json: Json,
    readonly type: avro.Type,
  ) {}

  canonical(normalize: boolean): string {
    return JSON.stringify(normalize ? normalized(this.json, '') : compact(this.json));
  }
}

/** `{"type":"string"}` is `"string"`; everything else as written, without whitespace. */
function compact(s: Json): Json {
  if (Array.isArray(s)) return s.map(compact);
  if (s === null || typeof s !== 'object') return s;
  const keys = Object.keys(s);
  if (keys.length === 1 && keys[0] === 'type' && typeof s.type === 'string' && PRIMITIVES.has(s.type)) return s.type;
  const out: { [k: string]: Json } = {};
  for (const k of keys) out[k] = k === 'type' || k === 'items' || k === 'values' || k === 'fields' ? compact(s[k]) : s[k];
  return out;
}

const KEY_ORDER = ['type', 'name', 'namespace', 'doc', 'fields', 'symbols', 'items', 'values', 'size', 'default', 'order', 'aliases', 'logicalType', 'precision', 'scale'];

function fullName(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

/**
 * normalize=true: named types by full name (no namespace attribute), type
 * references by full name, attributes in one fixed order, so that schemas
 * that differ only in how they are written get one id.
 */
function normalized(s: Json, namespace: string): Json {
  if (typeof s === 'string') return PRIMITIVES.has(s) ? s : fullName(s, namespace);
  if (Array.isArray(s)) return s.map((b) => normalized(b, namespace));
  if (s === null || typeof s !== 'object') return s;
  const keys = Object.keys(s);
  if (keys.length === 1 && typeof s.type === 'string' && PRIMITIVES.has(s.type)) return s.type;
  let ns = namespace;
  let name: string | undefined;
  if (typeof s.name === 'string' && (s.type === 'record' || s.type === 'error' || s.type === 'enum' || s.type === 'fixed')) {
    name = fullName(s.name, typeof s.namespace === 'string' ? s.namespace : namespace);
    ns = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '';
  }
  const ordered = [...KEY_ORDER.filter((k) => k in s), ...keys.filter((k) => !KEY_ORDER.includes(k)).sort()];
  const result: { [k: string]: Json } = {};
  for (const k of ordered) {
    if (k === 'namespace') continue;
    if (k === 'name' && name !== undefined) result.name = name;
    else if (k === 'type' || k === 'items' || k === 'values') result[k] = normalized(s[k], ns);
    else if (k === 'fields' && Array.isArray(s.fields)) result.fields = s.fields.map((f) => normalizedField(f, ns));
    else result[k] = s[k];
  }
  return result;
}

function normalizedField(f: Json, namespace: string): Json {
  if (f === null || typeof f !== 'object' || Array.isArray(f)) return f;
  const ordered = [...KEY_ORDER.filter((k) => k in f), ...Object.keys(f).filter((k) => !KEY_ORDER.includes(k)).sort()];
  const out: { [k: string]: Json } = { name: f.name };
  for (const k of ordered) if (k !== 'name') out[k] = k === 'type' ? normalized(f.type, namespace) : f[k];
  return out;
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new InvalidSchemaError(`Invalid schema: ${(err as Error).message}`);
  }
}

export const AVRO: SchemaFormat = {
  schemaType: 'AVRO',

  parse(schema: string, references: readonly ResolvedReference[]): ParsedSchema {
    const registry: Record<string, avro.Type> = {};
    const json = parseJson(schema);
    try {
      for (const ref of references) avro.Type.forSchema(parseJson(ref.schema) as avro.Schema, { registry });
      return new AvroSchema(json, avro.Type.forSchema(json as avro.Schema, { registry }));
    } catch (err) {
      if (err instanceof InvalidSchemaError) throw err;
      throw new InvalidSchemaError(`Invalid schema ${schema}, details: ${(err as Error).message}`);
    }
  },

  readErrors(reader: ParsedSchema, writer: ParsedSchema): string[] {
    return avroReadErrors((reader as AvroSchema).type, (writer as AvroSchema).type);
  },
};

/** Avro types as avsc models them, seen through the few properties resolution needs. */
interface AnyType {
  readonly typeName: string;
  readonly name?: string;
  readonly aliases?: readonly string[];
  readonly types?: readonly AnyType[];
  readonly fields?: readonly { readonly name: string; readonly aliases: readonly string[]; readonly type: AnyType; defaultValue(): unknown }[];
  readonly symbols?: readonly string[];
  readonly default?: unknown;
  readonly size?: number;
  readonly itemsType?: AnyType;
  readonly valuesType?: AnyType;
}

const isUnion = (t: AnyType) => t.typeName.startsWith('union');
const shortName = (n: string | undefined) => (n === undefined ? '' : n.slice(n.lastIndexOf('.') + 1));

/** Promotions the Avro specification allows a reader to apply to a writer's value. */
const PROMOTIONS: Record<string, readonly string[]> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

/** Why data written with `writer` cannot be read as `reader`, per the Avro spec's resolution rules. */
export function avroReadErrors(reader: avro.Type, writer: avro.Type): string[] {
  const inProgress = new Map<AnyType, Set<AnyType>>();
  const errors: string[] = [];

  const namesMatch = (r: AnyType, w: AnyType) =>
    shortName(r.name) === shortName(w.name) || (r.aliases ?? []).some((a) => a === w.name || shortName(a) === shortName(w.name));

  const check = (r: AnyType, w: AnyType, path: string): void => {
    // Recursive types: a pair already being checked further up is assumed to match.
    let seen = inProgress.get(r);
    if (seen?.has(w)) return;
    if (seen === undefined) inProgress.set(r, (seen = new Set()));
    seen.add(w);
    try {
      if (isUnion(w)) {
        (w.types ?? []).forEach((branch, i) => check(r, branch, `${path}/${i}`));
        return;
      }
      if (isUnion(r)) {
        const match = (r.types ?? []).some((branch) => quietlyReadable(branch, w));
        if (!match) errors.push(incompatibility('MISSING_UNION_BRANCH', `The new schema is missing a type inside a union field at path '${path}' in the old schema`, `reader union lacking writer type: ${w.typeName.toUpperCase()}`));
        return;
      }
      if (r.typeName !== w.typeName) {
        if (!(PROMOTIONS[w.typeName] ?? []).includes(r.typeName)) {
          errors.push(incompatibility('TYPE_MISMATCH', `The type (path '${path}') of a field in the new schema does not match with the old schema`, `reader type: ${r.typeName.toUpperCase()} not compatible with writer type: ${w.typeName.toUpperCase()}`));
        }
        return;
      }
      switch (r.typeName) {
        case 'record':
        case 'error':
          if (!namesMatch(r, w)) {
            errors.push(incompatibility('NAME_MISMATCH', `The name of the schema has changed (path '${path}/name')`, `expected: ${w.name}`));
            return;
          }
          (r.fields ?? []).forEach((rf, i) => {
            const wf = (w.fields ?? []).find((f) => f.name === rf.name || rf.aliases.includes(f.name));
            if (wf !== undefined) check(rf.type, wf.type, `${path}/fields/${i}/type`);
            else if (rf.defaultValue() === undefined) {
              errors.push(incompatibility('READER_FIELD_MISSING_DEFAULT_VALUE', `The field '${rf.name}' at path '${path}/fields/${i}' in the new schema has no default value and is missing in the old schema`, rf.name));
            }
          });
          return;
        case 'enum': {
          if (!namesMatch(r, w)) {
            errors.push(incompatibility('NAME_MISMATCH', `The name of the schema has changed (path '${path}/name')`, `expected: ${w.name}`));
            return;
          }
          const missing = (w.symbols ?? []).filter((s) => !(r.symbols ?? []).includes(s));
          if (missing.length > 0 && r.default === undefined) {
            errors.push(incompatibility('MISSING_ENUM_SYMBOLS', `The new schema is missing enum symbols '[${missing.join(', ')}]' at path '${path}/symbols' in the old schema`, `[${missing.join(', ')}]`));
          }
          return;
        }
        case 'fixed':
          if (!namesMatch(r, w)) errors.push(incompatibility('NAME_MISMATCH', `The name of the schema has changed (path '${path}/name')`, `expected: ${w.name}`));
          else if (r.size !== w.size) errors.push(incompatibility('FIXED_SIZE_MISMATCH', `The size of FIXED type field at path '${path}/size' in the old schema does not match with the new schema`, `expected: ${w.size}, found: ${r.size}`));
          return;
        case 'array':
          check(r.itemsType as AnyType, w.itemsType as AnyType, `${path}/items`);
          return;
        case 'map':
          check(r.valuesType as AnyType, w.valuesType as AnyType, `${path}/values`);
          return;
        default:
          return; // the same primitive
      }
    } finally {
      seen.delete(w);
    }
  };

  /** Whether one union branch can read the writer type, without reporting. */
  const quietlyReadable = (r: AnyType, w: AnyType): boolean => {
    const before = errors.length;
    check(r, w, '');
    const ok = errors.length === before;
    errors.length = before;
    return ok;
  };

  check(reader as unknown as AnyType, writer as unknown as AnyType, '');
  return errors;
}
