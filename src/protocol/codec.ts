// The generic, table-driven codec: a MessageSpec plus a version compiles once
// into a list of field readers/writers, cached per (spec, version). Nothing
// here knows about sockets or storage (sans-IO): bytes in, objects out.

import { DecodeError, Reader, Writer, ZERO_UUID } from './primitives.js';
import type { Decoded, Encodable, FieldSpec, MessageSpec, VersionRange } from './spec.js';
import { inRange, parseVersions } from './spec.js';

export class EncodeError extends Error {
  override readonly name = 'EncodeError';
}

type Value = unknown;
type Obj = Record<string, Value>;

interface FieldCodec {
  readonly key: string;
  readonly name: string;
  readonly tag: number;
  read(r: Reader): Value;
  write(w: Writer, v: Value): void;
  makeDefault(): Value;
  isDefault(v: Value): boolean;
}

export interface StructCodec {
  read(r: Reader): Obj;
  write(w: Writer, v: Obj | undefined): void;
  makeDefault(): Obj;
  isDefault(v: Obj | undefined): boolean;
}

const keyOf = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

interface Ctx {
  readonly version: number;
  readonly flexible: boolean;
  readonly path: string;
}

function primitiveDefault(type: string, f: FieldSpec, nullable: boolean): Value {
  if (f.default !== undefined) {
    if (f.default === 'null' || f.default === null) return null;
    if (type === 'bool') return f.default === true || f.default === 'true';
    if (type === 'string') return String(f.default);
    return Number(f.default);
  }
  switch (type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
      return nullable ? null : Buffer.alloc(0);
    case 'records':
      return null;
    default:
      return 0;
  }
}

interface PrimitiveCodec {
  read(r: Reader): Value;
  write(w: Writer, v: Value): void;
}

function numberWriter(fn: (w: Writer, v: number) => void, path: string) {
  return (w: Writer, v: Value) => {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new EncodeError(`${path}: expected a number, got ${String(v)}`);
    fn(w, v);
  };
}

function primitiveCodec(type: string, nullable: boolean, flexible: boolean, path: string): PrimitiveCodec {
  switch (type) {
    case 'bool':
      return { read: (r) => r.bool(), write: (w, v) => w.bool(Boolean(v)) };
    case 'int8':
      return { read: (r) => r.int8(), write: numberWriter((w, v) => w.int8(v), path) };
    case 'int16':
      return { read: (r) => r.int16(), write: numberWriter((w, v) => w.int16(v), path) };
    case 'uint16':
      return { read: (r) => r.uint16(), write: numberWriter((w, v) => w.uint16(v), path) };
    case 'int32':
      return { read: (r) => r.int32(), write: numberWriter((w, v) => w.int32(v), path) };
    case 'uint32':
      return { read: (r) => r.uint32(), write: numberWriter((w, v) => w.uint32(v), path) };
    case 'int64':
      return { read: (r) => r.int64(), write: numberWriter((w, v) => w.int64(v), path) };
    case 'float64':
      return { read: (r) => r.float64(), write: numberWriter((w, v) => w.float64(v), path) };
    case 'uuid':
      return { read: (r) => r.uuid(), write: (w, v) => w.uuid(String(v)) };
    case 'string':
      return stringCodec(nullable, flexible, path);
    case 'bytes':
    case 'records':
      return bytesCodec(nullable, flexible, path);
    default:
      throw new Error(`${path}: unknown type ${type}`);
  }
}

function stringCodec(nullable: boolean, flexible: boolean, path: string): PrimitiveCodec {
  return {
    read(r) {
      const len = flexible ? r.uvarint() - 1 : r.int16();
      if (len < 0) {
        if (len === -1 && nullable) return null;
        throw new DecodeError(`${path}: non-nullable string was serialized as null (length ${len})`);
      }
      return r.utf8(len);
    },
    write(w, v) {
      if (v === null || v === undefined) {
        if (!nullable) throw new EncodeError(`${path}: null for a non-nullable string`);
        if (flexible) w.uvarint(0);
        else w.int16(-1);
        return;
      }
      const s = String(v);
      const n = Buffer.byteLength(s, 'utf8');
      if (flexible) w.uvarint(n + 1);
      else {
        if (n > 0x7fff) throw new EncodeError(`${path}: string of ${n} bytes is too long`);
        w.int16(n);
      }
      w.utf8(s, n);
    },
  };
}

function bytesCodec(nullable: boolean, flexible: boolean, path: string): PrimitiveCodec {
  return {
    read(r) {
      const len = flexible ? r.uvarint() - 1 : r.int32();
      if (len < 0) {
        if (len === -1 && nullable) return null;
        throw new DecodeError(`${path}: invalid bytes length ${len}`);
      }
      return r.bytes(len);
    },
    write(w, v) {
      if (v === null || v === undefined) {
        if (!nullable) throw new EncodeError(`${path}: null for non-nullable bytes`);
        if (flexible) w.uvarint(0);
        else w.int32(-1);
        return;
      }
      const parts: readonly Buffer[] = Buffer.isBuffer(v) ? [v] : (v as readonly Buffer[]);
      let n = 0;
      for (const p of parts) n += p.length;
      if (flexible) w.uvarint(n + 1);
      else w.int32(n);
      for (const p of parts) w.raw(p);
    },
  };
}

function compileField(f: FieldSpec, ctx: Ctx): FieldCodec | null {
  const versions = parseVersions(f.versions);
  if (!inRange(versions, ctx.version)) return null;
  const path = `${ctx.path}.${f.name}`;
  const nullable = inRange(parseVersions(f.nullableVersions), ctx.version);
  const flexible = f.flexibleVersions !== undefined ? inRange(parseVersions(f.flexibleVersions), ctx.version) : ctx.flexible;
  const isArray = f.type.startsWith('[]');
  const elemType = isArray ? f.type.slice(2) : f.type;
  const key = keyOf(f.name);
  const tag = f.tag ?? -1;
  const fieldCtx: Ctx = { version: ctx.version, flexible, path };

  if (f.fields) {
    const struct = compileStruct(f.fields, fieldCtx);
    if (!isArray) {
      return {
        key,
        name: f.name,
        tag,
        read: (r) => {
          if (nullable) {
            const present = r.int8();
            if (present < 0) return null;
          }
          return struct.read(r);
        },
        write: (w, v) => {
          if (nullable) {
            if (v === null) {
              w.int8(-1);
              return;
            }
            w.int8(1);
          }
          struct.write(w, v as Obj | undefined);
        },
        makeDefault: () => (f.default === 'null' ? null : struct.makeDefault()),
        isDefault: (v) => v === undefined || (v === null ? f.default === 'null' : struct.isDefault(v as Obj)),
      };
    }
    return arrayField(key, f, tag, nullable, flexible, path, struct.read, (w, v) => struct.write(w, v as Obj));
  }
  const prim = primitiveCodec(elemType, isArray ? false : nullable, flexible, path);
  if (isArray) return arrayField(key, f, tag, nullable, flexible, path, prim.read, prim.write);
  const def = primitiveDefault(elemType, f, nullable);
  const isBuf = elemType === 'bytes' || elemType === 'records';
  return {
    key,
    name: f.name,
    tag,
    read: prim.read,
    write: (w, v) => prim.write(w, v === undefined ? def : v),
    makeDefault: () => def,
    isDefault: (v) =>
      v === undefined || v === def || (isBuf && Buffer.isBuffer(v) && v.length === 0 && Buffer.isBuffer(def)),
  };
}

function arrayField(
  key: string,
  f: FieldSpec,
  tag: number,
  nullable: boolean,
  flexible: boolean,
  path: string,
  readElem: (r: Reader) => Value,
  writeElem: (w: Writer, v: Value) => void,
): FieldCodec {
  const defaultNull = f.default === 'null' || f.default === null;
  return {
    key,
    name: f.name,
    tag,
    read(r) {
      const n = flexible ? r.uvarint() - 1 : r.int32();
      if (n < 0) {
        if (n === -1 && nullable) return null;
        throw new DecodeError(`${path}: non-nullable array was serialized as null (count ${n})`);
      }
      r.checkCount(n, path);
      const out = new Array<Value>(n);
      for (let i = 0; i < n; i++) out[i] = readElem(r);
      return out;
    },
    write(w, v) {
      if (v === undefined) v = defaultNull ? null : [];
      if (v === null) {
        if (!nullable) throw new EncodeError(`${path}: null for a non-nullable array`);
        if (flexible) w.uvarint(0);
        else w.int32(-1);
        return;
      }
      const arr = v as readonly Value[];
      if (flexible) w.uvarint(arr.length + 1);
      else w.int32(arr.length);
      for (const e of arr) writeElem(w, e);
    },
    makeDefault: () => (defaultNull ? null : []),
    isDefault: (v) => v === undefined || (v === null ? defaultNull : !defaultNull && (v as Value[]).length === 0),
  };
}

function compileStruct(fields: readonly FieldSpec[], ctx: Ctx): StructCodec {
  const regular: FieldCodec[] = [];
  const tagged: FieldCodec[] = [];
  const absent: { key: string; make: () => Value }[] = [];
  for (const f of fields) {
    const taggedRange: VersionRange = parseVersions(f.taggedVersions);
    const isTagged = f.taggedVersions !== undefined && inRange(taggedRange, ctx.version);
    const codec = compileField(f, ctx);
    if (codec === null || (f.taggedVersions !== undefined && !isTagged) || (isTagged && !ctx.flexible)) {
      absent.push({ key: keyOf(f.name), make: absentDefault(f) });
      continue;
    }
    if (isTagged) tagged.push(codec);
    else regular.push(codec);
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const taggedByTag = new Map<number, FieldCodec>(tagged.map((c) => [c.tag, c]));
  const flexible = ctx.flexible;

  return {
    read(r) {
      const obj: Obj = {};
      for (const c of regular) obj[c.key] = c.read(r);
      for (const c of tagged) obj[c.key] = c.makeDefault();
      for (const a of absent) obj[a.key] = a.make();
      if (flexible) {
        const n = r.uvarint();
        r.checkCount(n, `${ctx.path} tagged fields`);
        for (let i = 0; i < n; i++) {
          const tag = r.uvarint();
          const size = r.uvarint();
          const c = taggedByTag.get(tag);
          if (c === undefined) {
            r.skip(size); // unknown tagged fields are skipped, as Kafka does
            continue;
          }
          const sub = r.sub(size);
          obj[c.key] = c.read(sub);
        }
      }
      return obj;
    },
    write(w, v) {
      const obj = v ?? {};
      for (const c of regular) c.write(w, obj[c.key]);
      if (flexible) {
        const toWrite = tagged.filter((c) => !c.isDefault(obj[c.key]));
        w.uvarint(toWrite.length);
        for (const c of toWrite) {
          const tmp = new Writer(64);
          c.write(tmp, obj[c.key]);
          const bytes = tmp.toBuffer();
          w.uvarint(c.tag);
          w.uvarint(bytes.length);
          w.raw(bytes);
        }
      }
    },
    makeDefault() {
      const obj: Obj = {};
      for (const c of regular) obj[c.key] = c.makeDefault();
      for (const c of tagged) obj[c.key] = c.makeDefault();
      for (const a of absent) obj[a.key] = a.make();
      return obj;
    },
    isDefault(v) {
      if (v === undefined) return true;
      for (const c of regular) if (!c.isDefault(v[c.key])) return false;
      for (const c of tagged) if (!c.isDefault(v[c.key])) return false;
      return true;
    },
  };
}

/** Default for a field absent from a version: what Kafka's generated classes hold. */
function absentDefault(f: FieldSpec): () => Value {
  const isArray = f.type.startsWith('[]');
  const nullDefault = f.default === 'null' || f.default === null;
  if (isArray) return nullDefault ? () => null : () => [];
  if (f.fields) {
    const fields = f.fields;
    return () => {
      if (nullDefault) return null;
      const o: Obj = {};
      for (const sub of fields) o[keyOf(sub.name)] = absentDefault(sub)();
      return o;
    };
  }
  const d = primitiveDefault(f.type, f, nullDefault);
  return () => d;
}

const cache = new WeakMap<MessageSpec, Map<number, StructCodec>>();

export function structCodec(spec: MessageSpec, version: number): StructCodec {
  let byVersion = cache.get(spec);
  if (byVersion === undefined) {
    byVersion = new Map();
    cache.set(spec, byVersion);
  }
  let codec = byVersion.get(version);
  if (codec === undefined) {
    const valid = parseVersions(spec.validVersions);
    if (!inRange(valid, version)) throw new EncodeError(`${spec.name} has no version ${version}`);
    const flexible = inRange(parseVersions(spec.flexibleVersions), version);
    codec = compileStruct(spec.fields, { version, flexible, path: spec.name });
    byVersion.set(version, codec);
  }
  return codec;
}

export function decodeMessage<M extends MessageSpec>(spec: M, version: number, r: Reader): Decoded<M> {
  return structCodec(spec, version).read(r) as Decoded<M>;
}

export function encodeMessage<M extends MessageSpec>(spec: M, version: number, w: Writer, value: Encodable<M>): void {
  structCodec(spec, version).write(w, value as Obj);
}

const flexibleRanges = new WeakMap<MessageSpec, VersionRange>();

/** Whether `version` of `spec` uses the flexible (compact, tagged) encoding; asked on every request, so parsed once. */
export function isFlexible(spec: MessageSpec, version: number): boolean {
  let range = flexibleRanges.get(spec);
  if (range === undefined) {
    range = parseVersions(spec.flexibleVersions);
    flexibleRanges.set(spec, range);
  }
  return inRange(range, version);
}
