// JSON Schema: parsed and validated by Ajv (drafts 06, 07, 2019-09 and
// 2020-12; draft-04 schemas compile without their meta-schema check).
// Compatibility follows Confluent's documented JSON Schema rules: the
// differences from the writer's schema to the reader's are named as Confluent
// names them, and a reader can read a writer when every difference is one of
// the compatible kinds (for example, a property added to an open content model
// is not: old data may already carry that property with another type).

import { Ajv, type AnySchema } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { incompatibility, InvalidSchemaError, type ParsedSchema, type ResolvedReference, type SchemaFormat } from './format.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const require = createRequire(import.meta.url);
const DRAFT_06 = require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>;
// ajv-formats is CommonJS with its function as the default export.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

class JsonSchema implements ParsedSchema {
  readonly schemaType = 'JSON' as const;
  constructor(
    readonly json: Json,
    /** Referenced documents by every name they can be reached under. */
    readonly documents: ReadonlyMap<string, Json>,
  ) {}

  canonical(normalize: boolean): string {
    return JSON.stringify(normalize ? sortKeys(this.json) : this.json);
  }
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Obj = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
  return out;
}

function newAjv(schema: Json): { ajv: Ajv; checkMeta: boolean } {
  const dialect = typeof schema === 'object' && schema !== null && !Array.isArray(schema) && typeof schema.$schema === 'string' ? schema.$schema : '';
  const opts = { strict: false, logger: false as const, allowUnionTypes: true, validateFormats: true };
  let ajv: Ajv;
  if (dialect.includes('2020-12')) ajv = new Ajv2020(opts) as unknown as Ajv;
  else if (dialect.includes('2019-09')) ajv = new Ajv2019(opts) as unknown as Ajv;
  else {
    ajv = new Ajv(opts);
    if (dialect.includes('draft-06')) ajv.addMetaSchema(DRAFT_06);
  }
  addFormats(ajv);
  return { ajv, checkMeta: !dialect.includes('draft-04') && !dialect.includes('draft-03') };
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new InvalidSchemaError(`Invalid JSON ${text.length > 200 ? `${text.slice(0, 200)}...` : text}, details: ${(err as Error).message}`);
  }
}

const withoutDialect = (s: Json): Json => {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return s;
  const { $schema: _, ...rest } = s;
  return rest;
};

export const JSON_SCHEMA: SchemaFormat = {
  schemaType: 'JSON',

  parse(schema: string, references: readonly ResolvedReference[]): ParsedSchema {
    const json = parseJson(schema);
    if (typeof json !== 'boolean' && (json === null || typeof json !== 'object' || Array.isArray(json))) {
      throw new InvalidSchemaError('Invalid schema: a JSON Schema is an object or a boolean');
    }
    const { ajv, checkMeta } = newAjv(json);
    const base = typeof json === 'object' && typeof json.$id === 'string' ? json.$id : null;
    const documents = new Map<string, Json>();
    try {
      for (const ref of references) {
        const doc = parseJson(ref.schema);
        const names = new Set([ref.name]);
        if (base !== null) {
          try {
            names.add(new URL(ref.name, base).href);
          } catch {
            // a name that is no URL relative to the base: reachable by its own name only
          }
        }
        for (const name of names) {
          documents.set(name, doc);
          // Under its reference name only; its own $id, if any, would collide with these names.
          ajv.addSchema(withoutId(withoutDialect(doc)) as AnySchema, name);
        }
      }
      if (checkMeta) {
        if (!ajv.validateSchema(json as AnySchema)) throw new InvalidSchemaError(`Invalid schema: ${ajv.errorsText(ajv.errors)}`);
        ajv.compile(json as AnySchema);
      } else {
        ajv.compile(withoutDialect(json) as AnySchema);
      }
    } catch (err) {
      if (err instanceof InvalidSchemaError) throw err;
      throw new InvalidSchemaError(`Invalid schema: ${(err as Error).message}`);
    }
    return new JsonSchema(json, documents);
  },

  readErrors(reader: ParsedSchema, writer: ParsedSchema): string[] {
    const r = reader as JsonSchema;
    const w = writer as JsonSchema;
    return new JsonDiff(w, r).run();
  },
};

function withoutId(s: Json): Json {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return s;
  const { $id: _, ...rest } = s;
  return rest;
}

/** Confluent's names of changes a reader can take (the others break it). */
const COMPATIBLE = new Set([
  'TYPE_EXTENDED',
  'MAX_LENGTH_INCREASED',
  'MAX_LENGTH_REMOVED',
  'MIN_LENGTH_DECREASED',
  'MIN_LENGTH_REMOVED',
  'PATTERN_REMOVED',
  'MAXIMUM_INCREASED',
  'MAXIMUM_REMOVED',
  'MINIMUM_DECREASED',
  'MINIMUM_REMOVED',
  'EXCLUSIVE_MAXIMUM_INCREASED',
  'EXCLUSIVE_MAXIMUM_REMOVED',
  'EXCLUSIVE_MINIMUM_DECREASED',
  'EXCLUSIVE_MINIMUM_REMOVED',
  'MULTIPLE_OF_REDUCED',
  'MULTIPLE_OF_REMOVED',
  'REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED',
  'REQUIRED_ATTRIBUTE_REMOVED',
  'MAX_PROPERTIES_INCREASED',
  'MAX_PROPERTIES_REMOVED',
  'MIN_PROPERTIES_DECREASED',
  'MIN_PROPERTIES_REMOVED',
  'ADDITIONAL_PROPERTIES_ADDED',
  'ADDITIONAL_PROPERTIES_EXTENDED',
  'PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL',
  'OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL',
  'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL',
  'PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
  'MAX_ITEMS_INCREASED',
  'MAX_ITEMS_REMOVED',
  'MIN_ITEMS_DECREASED',
  'MIN_ITEMS_REMOVED',
  'UNIQUE_ITEMS_REMOVED',
  'ENUM_ARRAY_EXTENDED',
  'SUM_TYPE_EXTENDED',
  'SCHEMA_REMOVED',
]);

const NUMBER_BOUNDS: readonly [string, 'upper' | 'lower', string][] = [
  ['maxLength', 'upper', 'MAX_LENGTH'],
  ['minLength', 'lower', 'MIN_LENGTH'],
  ['maximum', 'upper', 'MAXIMUM'],
  ['minimum', 'lower', 'MINIMUM'],
  ['exclusiveMaximum', 'upper', 'EXCLUSIVE_MAXIMUM'],
  ['exclusiveMinimum', 'lower', 'EXCLUSIVE_MINIMUM'],
  ['maxProperties', 'upper', 'MAX_PROPERTIES'],
  ['minProperties', 'lower', 'MIN_PROPERTIES'],
  ['maxItems', 'upper', 'MAX_ITEMS'],
  ['minItems', 'lower', 'MIN_ITEMS'],
];

const JSON_TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'];

class JsonDiff {
  private readonly problems: string[] = [];
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly writer: JsonSchema,
    private readonly reader: JsonSchema,
  ) {}

  run(): string[] {
    this.diff(this.writer.json, this.reader.json, '#/');
    return this.problems;
  }

  private report(type: string, path: string): void {
    if (!COMPATIBLE.has(type)) this.problems.push(incompatibility(type, `A change of kind ${type} at path '${path}' is not backward compatible`, path));
  }

  /** Follows local (#/...) and referenced-document $refs. */
  private resolve(s: Json, root: JsonSchema): Json {
    for (let hops = 0; hops < 32 && s !== null && typeof s === 'object' && !Array.isArray(s) && typeof s.$ref === 'string'; hops++) {
      const ref = s.$ref;
      const hash = ref.indexOf('#');
      const docName = hash < 0 ? ref : ref.slice(0, hash);
      const pointer = hash < 0 ? '' : ref.slice(hash + 1);
      let doc: Json | undefined = docName === '' ? root.json : root.documents.get(docName);
      if (doc === undefined) {
        for (const [name, d] of root.documents) if (name.endsWith(`/${docName}`) || docName.endsWith(`/${name}`)) doc = d;
      }
      if (doc === undefined) return true; // unknown target: anything
      s = pointer === '' ? doc : follow(doc, pointer);
    }
    return s;
  }

  private diff(w0: Json, r0: Json, path: string): void {
    const w = this.resolve(w0, this.writer);
    const r = this.resolve(r0, this.reader);
    const key = `${path}|${JSON.stringify(w0)}|${JSON.stringify(r0)}`;
    if (this.inProgress.has(key)) return;
    this.inProgress.add(key);
    try {
      this.diffResolved(w, r, path);
    } finally {
      this.inProgress.delete(key);
    }
  }

  private diffResolved(w: Json, r: Json, path: string): void {
    if (isDeepStrictEqual(w, r)) return;
    if (r === true || isEmptySchema(r)) {
      this.report('SCHEMA_REMOVED', path);
      return;
    }
    if (r === false) {
      this.report('TYPE_NARROWED', path);
      return;
    }
    if (w === false) return; // the writer wrote nothing here
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return;
    const wo: Obj = w === true || typeof w !== 'object' || w === null || Array.isArray(w) ? {} : w;

    if (this.diffCombined(wo, r, path)) return;

    const wt = typesOf(wo);
    const rt = typesOf(r);
    if (rt !== null) {
      const accepted = (t: string) => rt.includes(t) || (t === 'integer' && rt.includes('number'));
      const writerTypes = wt ?? JSON_TYPES;
      if (!writerTypes.every(accepted)) this.report(wt === null || writerTypes.some((t) => rt.includes(t)) ? 'TYPE_NARROWED' : 'TYPE_CHANGED', path);
      else if (wt !== null && rt.length > wt.length) this.report('TYPE_EXTENDED', path);
    }

    for (const [kw, bound, name] of NUMBER_BOUNDS) {
      const wv = typeof wo[kw] === 'number' ? (wo[kw] as number) : undefined;
      const rv = typeof r[kw] === 'number' ? (r[kw] as number) : undefined;
      if (wv === rv) continue;
      if (rv === undefined) this.report(`${name}_REMOVED`, `${path}${kw}`);
      else if (wv === undefined) this.report(`${name}_ADDED`, `${path}${kw}`);
      else if (bound === 'upper') this.report(rv > wv ? `${name}_INCREASED` : `${name}_DECREASED`, `${path}${kw}`);
      else this.report(rv < wv ? `${name}_DECREASED` : `${name}_INCREASED`, `${path}${kw}`);
    }
    if (wo.multipleOf !== r.multipleOf) {
      if (r.multipleOf === undefined) this.report('MULTIPLE_OF_REMOVED', `${path}multipleOf`);
      else if (typeof wo.multipleOf === 'number' && typeof r.multipleOf === 'number' && wo.multipleOf % r.multipleOf === 0) this.report('MULTIPLE_OF_REDUCED', `${path}multipleOf`);
      else this.report(wo.multipleOf === undefined ? 'MULTIPLE_OF_ADDED' : 'MULTIPLE_OF_CHANGED', `${path}multipleOf`);
    }
    if (wo.pattern !== r.pattern) this.report(r.pattern === undefined ? 'PATTERN_REMOVED' : wo.pattern === undefined ? 'PATTERN_ADDED' : 'PATTERN_CHANGED', `${path}pattern`);
    if (r.uniqueItems === true && wo.uniqueItems !== true) this.report('UNIQUE_ITEMS_ADDED', `${path}uniqueItems`);
    else if (wo.uniqueItems === true && r.uniqueItems !== true) this.report('UNIQUE_ITEMS_REMOVED', `${path}uniqueItems`);
    this.diffEnum(wo, r, path);
    if (!isDeepStrictEqual(wo.not, r.not)) this.report('NOT_TYPE_CHANGED', `${path}not`);
    this.diffObject(wo, r, path);
    this.diffArray(wo, r, path);
  }

  private diffEnum(w: Obj, r: Obj, path: string): void {
    const values = (s: Obj): Json[] | null => (Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const] : null);
    const wv = values(w);
    const rv = values(r);
    if (rv === null || isDeepStrictEqual(wv, rv)) return;
    if (wv === null) this.report('ENUM_ARRAY_NARROWED', `${path}enum`);
    else if (!wv.every((v) => rv.some((x) => isDeepStrictEqual(v, x)))) this.report(rv.some((x) => wv.some((v) => isDeepStrictEqual(v, x))) ? 'ENUM_ARRAY_NARROWED' : 'ENUM_ARRAY_CHANGED', `${path}enum`);
    else this.report('ENUM_ARRAY_EXTENDED', `${path}enum`);
  }

  /** oneOf/anyOf in the reader: each of the writer's alternatives must be accepted by one of the reader's. */
  private diffCombined(w: Obj, r: Obj, path: string): boolean {
    const rAlts = (Array.isArray(r.oneOf) ? r.oneOf : Array.isArray(r.anyOf) ? r.anyOf : null) as Json[] | null;
    const wAlts = (Array.isArray(w.oneOf) ? w.oneOf : Array.isArray(w.anyOf) ? w.anyOf : null) as Json[] | null;
    if (rAlts === null && wAlts === null) {
      if (!isDeepStrictEqual(w.allOf, r.allOf)) {
        const rAll = (Array.isArray(r.allOf) ? r.allOf : []) as Json[];
        rAll.forEach((branch, i) => this.diff(w, branch, `${path}allOf/${i}/`));
        if (!Array.isArray(r.allOf) && Array.isArray(w.allOf)) this.report('PRODUCT_TYPE_NARROWED', `${path}allOf`);
      }
      return false;
    }
    const writerAlts = wAlts ?? [w];
    const readerAlts = rAlts ?? [r];
    writerAlts.forEach((alt, i) => {
      const ok = readerAlts.some((ra) => this.quietly(() => this.diff(alt, ra, `${path}${i}/`)));
      if (!ok) this.report(rAlts === null ? 'COMBINED_TYPE_CHANGED' : 'SUM_TYPE_NARROWED', `${path}${Array.isArray(r.oneOf) ? 'oneOf' : 'anyOf'}`);
    });
    if (readerAlts.length > writerAlts.length && rAlts !== null) this.report('SUM_TYPE_EXTENDED', path);
    return true;
  }

  private quietly(run: () => void): boolean {
    const before = this.problems.length;
    run();
    const ok = this.problems.length === before;
    this.problems.length = before;
    return ok;
  }

  private diffObject(w: Obj, r: Obj, path: string): void {
    const wProps = (isObj(w.properties) ? w.properties : {}) as Obj;
    const rProps = (isObj(r.properties) ? r.properties : {}) as Obj;
    const wRequired = new Set((Array.isArray(w.required) ? w.required : []) as string[]);
    const rRequired = new Set((Array.isArray(r.required) ? r.required : []) as string[]);
    // true (open), false (closed), or a schema extra properties must match (partially open).
    const wOpen = w.additionalProperties ?? true;
    const rOpen = r.additionalProperties ?? true;

    for (const [name, rp] of Object.entries(rProps)) {
      const p = `${path}properties/${name}/`;
      if (name in wProps) {
        this.diff(wProps[name], rp, p);
        if (rRequired.has(name) && !wRequired.has(name)) this.report(hasDefault(rp) ? 'REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED' : 'REQUIRED_ATTRIBUTE_ADDED', p);
        continue;
      }
      if (wOpen === true) {
        // Old data may already hold this property, with any value.
        if (!(rp === true || isEmptySchema(rp))) this.report('PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL', p);
      } else if (wOpen !== false) {
        if (this.quietly(() => this.diff(wOpen, rp, p))) this.report('PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL', p);
        else this.report('PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL', p);
      } else if (rRequired.has(name)) {
        this.report(hasDefault(rp) ? 'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL' : 'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL', p);
      } else {
        this.report('OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL', p);
      }
    }
    for (const [name, wp] of Object.entries(wProps)) {
      if (name in rProps) continue;
      const p = `${path}properties/${name}/`;
      if (rOpen === true) this.report('PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL', p);
      else if (rOpen === false) this.report('PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', p);
      else if (this.quietly(() => this.diff(wp, rOpen, p))) this.report('PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL', p);
      else this.report('PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL', p);
    }
    for (const name of rRequired) if (!(name in rProps) && !wRequired.has(name)) this.report('REQUIRED_ATTRIBUTE_ADDED', `${path}required/${name}`);
    for (const name of wRequired) if (!rRequired.has(name) && name in rProps) this.report('REQUIRED_ATTRIBUTE_REMOVED', `${path}required/${name}`);

    if (!isDeepStrictEqual(wOpen, rOpen)) {
      const p = `${path}additionalProperties`;
      if (rOpen === true) this.report('ADDITIONAL_PROPERTIES_ADDED', p);
      else if (rOpen === false) this.report('ADDITIONAL_PROPERTIES_REMOVED', p);
      else if (wOpen === false) this.report('ADDITIONAL_PROPERTIES_EXTENDED', p);
      else if (wOpen === true) this.report('ADDITIONAL_PROPERTIES_NARROWED', p);
      else this.diff(wOpen, rOpen, `${p}/`);
    }
  }

  private diffArray(w: Obj, r: Obj, path: string): void {
    if (isDeepStrictEqual(w.items, r.items)) return;
    if (Array.isArray(w.items) || Array.isArray(r.items)) {
      const wi = (Array.isArray(w.items) ? w.items : []) as Json[];
      const ri = (Array.isArray(r.items) ? r.items : []) as Json[];
      if (wi.length !== ri.length) this.report(ri.length > wi.length ? 'ITEM_ADDED_TO_OPEN_CONTENT_MODEL' : 'ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL', `${path}items`);
      for (let i = 0; i < Math.min(wi.length, ri.length); i++) this.diff(wi[i], ri[i], `${path}items/${i}/`);
      return;
    }
    if (r.items === undefined) this.report('SCHEMA_REMOVED', `${path}items`);
    else this.diff(w.items ?? true, r.items, `${path}items/`);
  }
}

const isObj = (v: Json | undefined): v is Obj => v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);

const ANNOTATIONS = new Set(['$schema', '$id', 'id', 'title', 'description', '$comment', 'examples', 'default', 'definitions', '$defs']);
const isEmptySchema = (s: Json): boolean => isObj(s) && Object.keys(s).every((k) => ANNOTATIONS.has(k));

const hasDefault = (s: Json): boolean => isObj(s) && 'default' in s;

function typesOf(s: Obj): string[] | null {
  if (typeof s.type === 'string') return [s.type];
  if (Array.isArray(s.type)) return s.type.filter((t): t is string => typeof t === 'string');
  return null;
}

/** A JSON Pointer (RFC 6901) into a document; undefined targets read as the empty schema. */
function follow(doc: Json, pointer: string): Json {
  let cur: Json = doc;
  for (const raw of pointer.split('/').slice(1)) {
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      // a stray % in a hostile pointer: read it as written
    }
    const part = decoded.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = cur[Number(part)] ?? true;
    else if (isObj(cur)) cur = cur[part] ?? true;
    else return true;
  }
  return cur;
}
