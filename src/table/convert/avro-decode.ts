// Avro binary straight into columns. A decoder is compiled once per (writer
// schema, open file) from avsc's parsed Type and the file's column tree, and
// then reads each datum in place: strings and bytes are copied from the
// record batch into their column's buffer without becoming JS strings or
// Buffers, numbers go to typed arrays, and no object is made per record.
// Conversion spent most of its time in decoding to objects and walking them
// (ISSUE 6 asks ≥ 50 MiB/s per core), which is why this is written here
// rather than taken from avsc, whose decoders only produce objects.
//
// Field resolution is Iceberg's, by name: writer fields the table lacks are
// read and dropped, table fields the writer lacks get a null. Every read is
// bounded by the datum's end (a payload is a slice of a larger batch, so
// reading past it would not fail by itself), and counts and lengths are
// checked against what is left before anything is allocated. A datum that
// fails partway leaves some columns a value ahead: the caller truncates the
// row away (RowColumns.truncate).

import avro from 'avsc';
import { ConversionError, ScaledLong, UnscaledDecimal } from './avro-values.js';
import { type Column, ListColumn, MapColumn, PrimitiveColumn, StructColumn } from './columns.js';

/** Where the decoder is in one datum: buf[pos, end). */
export class AvroCursor {
  buf: Buffer = Buffer.alloc(0);
  /** buf as a DataView, for floats and doubles: Buffer's readDoubleLE copies byte by byte in JavaScript. */
  view = new DataView(this.buf.buffer, this.buf.byteOffset, 0);
  pos = 0;
  end = 0;

  reset(buf: Buffer, start: number, end: number): void {
    // A batch's records share one buffer: one view per batch.
    if (buf !== this.buf) {
      this.buf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    this.pos = start;
    this.end = end;
  }
}

/** Decodes one value of the writer's type at the cursor into its column(s). */
export type Decode = (c: AvroCursor) => void;

function truncated(): never {
  throw new ConversionError('Avro payload is truncated');
}

/** A zigzag varint long: a number when it is a safe integer, else a bigint (a long column takes both). */
function readLong(c: AvroCursor): number | bigint {
  const buf = c.buf;
  const start = c.pos;
  let pos = start;
  if (pos >= c.end) truncated();
  let b = buf[pos++];
  let n = b & 0x7f;
  let k = 7;
  while (b >= 0x80 && k < 28) {
    if (pos >= c.end) truncated();
    b = buf[pos++];
    n |= (b & 0x7f) << k;
    k += 7;
  }
  if (b < 0x80) {
    c.pos = pos;
    return (n >>> 1) ^ -(n & 1);
  }
  // Past 28 bits: float arithmetic, exact below 2^53.
  let f = n;
  let scale = 2 ** 28;
  do {
    if (pos >= c.end) truncated();
    if (k >= 70) throw new ConversionError('Avro long is longer than 10 bytes');
    b = buf[pos++];
    f += (b & 0x7f) * scale;
    scale *= 128;
    k += 7;
  } while (b >= 0x80);
  c.pos = pos;
  if (f <= Number.MAX_SAFE_INTEGER) return (f % 2 === 1 ? -(f + 1) : f) / 2;
  let z = 0n;
  for (let i = pos - 1; i >= start; i--) z = (z << 7n) | BigInt(buf[i] & 0x7f);
  z = BigInt.asUintN(64, z);
  return BigInt.asIntN(64, (z >> 1n) ^ -(z & 1n));
}

/** A count, length or index: a non-negative safe integer. */
function readCount(c: AvroCursor, what: string): number {
  const n = readLong(c);
  if (typeof n !== 'number' || n < 0) throw new ConversionError(`Avro ${what} ${n} is out of range`);
  return n;
}

function readInt(c: AvroCursor): number {
  const n = readLong(c);
  if (typeof n !== 'number' || n > 2147483647 || n < -2147483648) throw new ConversionError(`Avro int ${n} is out of range`);
  return n;
}

/** The start of a length-prefixed string or bytes; the cursor moves past it. */
function readSpan(c: AvroCursor): number {
  const n = readCount(c, 'length');
  const start = c.pos;
  if (n > c.end - start) truncated();
  c.pos = start + n;
  return start;
}

/** The start of `size` bytes (a fixed); the cursor moves past them. */
function readFixed(c: AvroCursor, size: number): number {
  const start = c.pos;
  if (size > c.end - start) truncated();
  c.pos = start + size;
  return start;
}

/** A decimal's unscaled bytes, held as bytes (fixedSize < 0) or as a fixed. */
function readDecimalSpan(c: AvroCursor, fixedSize: number): number {
  return fixedSize >= 0 ? readFixed(c, fixedSize) : readSpan(c);
}

function readFloat(c: AvroCursor): number {
  const start = readFixed(c, 4);
  return c.view.getFloat32(start, true);
}

function readDouble(c: AvroCursor): number {
  const start = readFixed(c, 8);
  return c.view.getFloat64(start, true);
}

function readIndex(c: AvroCursor, count: number, what: string): number {
  const i = readLong(c);
  if (typeof i !== 'number' || i < 0 || i >= count) throw new ConversionError(`Avro ${what} index ${i} is out of range`);
  return i;
}

/** Millis to the micros Iceberg stores, past 2^53 as a bigint. */
function millisToMicros(v: number | bigint): number | bigint {
  return typeof v === 'number' && Math.abs(v) <= 9007199254740 ? v * 1000 : BigInt(v) * 1000n;
}

function decimalFixedSize(t: UnscaledDecimal): number {
  return t.underlyingType instanceof avro.types.FixedType ? t.underlyingType.size : -1;
}

/** An array or map block's item count (0 ends the value); a negative count is followed by the block's byte size. */
function readBlockCount(c: AvroCursor, zeroWidthItems: boolean): number {
  let n = readLong(c);
  if (typeof n !== 'number') throw new ConversionError('Avro block count is out of range');
  if (n < 0) {
    n = -n;
    readCount(c, 'block size');
  }
  // Items take at least a byte each, so a larger count is a lie; zero-width items are capped instead (per value, see compileArray).
  if (zeroWidthItems ? n > MAX_ZERO_WIDTH_ITEMS : n > c.end - c.pos) throw new ConversionError(`Avro block of ${n} items is longer than the payload`);
  return n;
}

/** Items that take no bytes (empty records) cost nothing to claim: an array holds at most this many. */
const MAX_ZERO_WIDTH_ITEMS = 1 << 16;

function underlying(t: avro.Type): avro.Type {
  return t instanceof avro.types.LogicalType ? t.underlyingType : t;
}

/** Whether a value of this type can take no bytes at all. */
function zeroWidth(t: avro.Type): boolean {
  const w = underlying(t);
  if (w.typeName === 'null') return true;
  if (w instanceof avro.types.FixedType) return w.size === 0;
  if (w instanceof avro.types.RecordType) return w.fields.every((f) => zeroWidth(f.type));
  return false;
}

function columnOf<T>(col: Column | null, cls: abstract new (...a: never[]) => T, what: string): T {
  if (!(col instanceof cls)) throw new ConversionError(`cannot read Avro ${what} into a ${JSON.stringify(col?.type)} column`);
  return col;
}

/** The column types each Avro primitive may be read into: its own, and Iceberg's promotions (int → long, float → double). */
const ACCEPTS: Record<string, (t: string) => boolean> = {
  boolean: (t) => t === 'boolean',
  int: (t) => t === 'int' || t === 'long' || t === 'date',
  long: (t) => t === 'long' || t === 'time' || t === 'timestamp' || t === 'timestamptz',
  float: (t) => t === 'float' || t === 'double',
  double: (t) => t === 'double',
  string: (t) => t === 'string' || t === 'uuid',
  bytes: (t) => t === 'binary',
  fixed: (t) => t.startsWith('fixed[') || t === 'uuid',
  enum: (t) => t === 'string',
  'scaled-long': (t) => t === 'long' || t === 'time' || t === 'timestamp' || t === 'timestamptz',
  decimal: (t) => t.startsWith('decimal('),
};

function primitiveOf(col: Column | null, what: string): PrimitiveColumn | null {
  if (col === null) return null;
  const p = columnOf(col, PrimitiveColumn, what);
  if (!(ACCEPTS[what]?.(p.type) ?? false)) throw new ConversionError(`cannot read Avro ${what} into a ${p.type} column`);
  return p;
}

/**
 * The decoder of an Avro value (the writer's schema) into the fields of a
 * struct column. With `ownsRow` false the struct is the table's row: the
 * caller adds the Kafka columns and ends the row; `fields` are then the
 * table's value fields, which the writer's fields are matched against.
 */
export function compileValueDecoder(writer: avro.Type, target: StructColumn, fields: readonly string[], ownsRow: boolean): Decode {
  const w = underlying(writer);
  if (!(w instanceof avro.types.RecordType)) {
    // A non-record value is one column named value (avroToIceberg's rule).
    const inner = compile(writer, target.child('value') ?? null);
    if (!ownsRow) return inner;
    return (c) => {
      inner(c);
      target.pushValid();
    };
  }
  return compileRecord(w, target, fields, ownsRow);
}

function compileRecord(w: avro.types.RecordType, struct: StructColumn, fields: readonly string[], ownsRow: boolean): Decode {
  const decoders = w.fields.map((f) => compile(f.type, struct.child(f.name) ?? null));
  const writerNames = new Set(w.fields.map((f) => f.name));
  const absent = fields.filter((name) => !writerNames.has(name)).map((name) => struct.child(name)!);
  const n = decoders.length;
  return (c) => {
    for (let i = 0; i < n; i++) decoders[i](c);
    for (let i = 0; i < absent.length; i++) absent[i].push(null);
    if (ownsRow) struct.pushValid();
  };
}

/** The decoder of one writer type into `col`, or a reader that drops the value when the table has no column for it. */
function compile(writer: avro.Type, col: Column | null): Decode {
  if (writer instanceof ScaledLong) {
    // Millis to the micros Iceberg stores.
    const p = primitiveOf(col, 'scaled-long');
    if (p === null) return (c) => void readLong(c);
    return (c) => p.push(millisToMicros(readLong(c)));
  }
  if (writer instanceof UnscaledDecimal) {
    const fixedSize = decimalFixedSize(writer);
    const p = primitiveOf(col, 'decimal');
    return (c) => {
      const start = readDecimalSpan(c, fixedSize);
      p?.pushUnscaled(c.buf, start, c.pos);
    };
  }
  const w = underlying(writer);
  if (w instanceof avro.types.UnwrappedUnionType) return compileOptional(w, col);
  if (w instanceof avro.types.WrappedUnionType) return compileUnion(w, col);
  if (w instanceof avro.types.RecordType) {
    if (col === null) return compileSkipRecord(w);
    const s = columnOf(col, StructColumn, 'record');
    return compileRecord(w, s, s.children.map((ch) => ch.field.name), true);
  }
  if (w instanceof avro.types.ArrayType) return compileArray(w, col === null ? null : columnOf(col, ListColumn, 'array'));
  if (w instanceof avro.types.MapType) return compileMap(w, col === null ? null : columnOf(col, MapColumn, 'map'));
  return compilePrimitive(w, primitiveOf(col, w.typeName));
}

function compileSkipRecord(w: avro.types.RecordType): Decode {
  const skips = w.fields.map((f) => compile(f.type, null));
  return (c) => {
    for (const s of skips) s(c);
  };
}

/** [null, T] (the only union avsc decodes unwrapped here): null, or T into the column. */
function compileOptional(u: avro.types.UnwrappedUnionType, col: Column | null): Decode {
  const nullIndex = u.types.findIndex((t) => t.typeName === 'null');
  const inner = compile(u.types[1 - nullIndex], col);
  return (c) => {
    if (readIndex(c, 2, 'union') === nullIndex) col?.push(null);
    else inner(c);
  };
}

/** Any other union (a single-branch [T] too) is the {tag, field0..N} struct avroToIceberg lays out. */
function compileUnion(u: avro.types.WrappedUnionType, col: Column | null): Decode {
  const branches = u.types.map((t, i) => ({ t, i })).filter((b) => b.t.typeName !== 'null');
  const count = u.types.length;
  const index = (c: AvroCursor): number => readIndex(c, count, 'union');
  if (col === null) {
    const skips = u.types.map((t) => compile(t, null));
    return (c) => skips[index(c)](c);
  }
  const s = columnOf(col, StructColumn, 'union');
  const tag = s.child('tag') ?? null;
  // Per writer branch: its field's column (null when the table has none) and decoder; null branches have neither.
  const fieldCols: (Column | null)[] = branches.map((_, j) => s.child(`field${j}`) ?? null);
  const byIndex: ({ j: number; decode: Decode } | null)[] = u.types.map(() => null);
  branches.forEach((b, j) => (byIndex[b.i] = { j, decode: compile(b.t, fieldCols[j]) }));
  return (c) => {
    const b = byIndex[index(c)];
    if (b === null) {
      s.push(null);
      return;
    }
    tag?.push(b.j);
    for (let j = 0; j < fieldCols.length; j++) {
      if (j === b.j) b.decode(c);
      else fieldCols[j]?.push(null);
    }
    s.pushValid();
  };
}

function compileArray(w: avro.types.ArrayType, list: ListColumn | null): Decode {
  const item = compile(w.itemsType, list === null ? null : list.element);
  const zero = zeroWidth(w.itemsType);
  return (c) => {
    let total = 0;
    for (let n = readBlockCount(c, zero); n !== 0; n = readBlockCount(c, zero)) {
      total += n;
      if (zero && total > MAX_ZERO_WIDTH_ITEMS) throw new ConversionError(`Avro array of more than ${MAX_ZERO_WIDTH_ITEMS} empty items`);
      for (let i = 0; i < n; i++) item(c);
    }
    list?.pushValid();
  };
}

function compileMap(w: avro.types.MapType, map: MapColumn | null): Decode {
  const keys = map === null ? null : primitiveOf(map.keys, 'string');
  const value = compile(w.valuesType, map === null ? null : map.values);
  return (c) => {
    // Every entry has at least its key's length byte.
    for (let n = readBlockCount(c, false); n !== 0; n = readBlockCount(c, false)) {
      for (let i = 0; i < n; i++) {
        const start = readSpan(c);
        keys?.pushSlice(c.buf, start, c.pos, false, c.view);
        value(c);
      }
    }
    map?.pushValid();
  };
}

/**
 * One function literal per type on purpose, although int, long, float and
 * double read alike: a shared closure calling a `read` it was given would
 * make that call site see every reader (V8 keeps feedback per literal), and
 * these run once per value of every row.
 */
function compilePrimitive(w: avro.Type, p: PrimitiveColumn | null): Decode {
  switch (w.typeName) {
    case 'null':
      return (c) => void c;
    case 'boolean':
      return (c) => {
        if (c.pos >= c.end) truncated();
        const b = c.buf[c.pos++];
        p?.push(b !== 0);
      };
    case 'int':
      return (c) => {
        const n = readInt(c);
        p?.push(n);
      };
    case 'long':
      return (c) => {
        const n = readLong(c);
        p?.push(n);
      };
    case 'float':
      return (c) => {
        const x = readFloat(c);
        p?.push(x);
      };
    case 'double':
      return (c) => {
        const x = readDouble(c);
        p?.push(x);
      };
    case 'string':
      // A uuid held as a string goes to its fixed[16] column as text, which the column parses.
      if (p !== null && p.type === 'uuid') {
        return (c) => {
          const start = readSpan(c);
          p.push(c.buf.toString('latin1', start, c.pos));
        };
      }
      return (c) => {
        const start = readSpan(c);
        p?.pushSlice(c.buf, start, c.pos, false, c.view);
      };
    case 'bytes':
      return (c) => {
        const start = readSpan(c);
        p?.pushSlice(c.buf, start, c.pos, false, c.view);
      };
    case 'fixed': {
      const size = (w as avro.types.FixedType).size;
      return (c) => {
        const start = readFixed(c, size);
        p?.pushSlice(c.buf, start, c.pos, false, c.view);
      };
    }
    case 'enum': {
      // Symbols as the UTF-8 bytes their column holds, encoded once.
      const symbols = (w as avro.types.EnumType).symbols.map((s) => Buffer.from(s, 'utf8'));
      return (c) => {
        const s = symbols[readIndex(c, symbols.length, 'enum')];
        p?.pushSlice(s, 0, s.length);
      };
    }
    default:
      throw new ConversionError(`unsupported Avro type ${w.typeName}`);
  }
}

/** Reads one value at the cursor as a partition transform takes it (see iceberg/transforms.ts). */
type Extract = (c: AvroCursor) => unknown;

/**
 * The reader of the value at `path` (field names from the writer's record
 * down) for a partition source, skipping the fields before it: a
 * partitioned table must know a row's partition before the row is decoded
 * into that partition's file. Null on the way (an optional record, a field
 * the writer lacks) reads as null. Returns null for a path it cannot follow
 * (through a wider union), which the caller converts through objects.
 */
export function compileExtractor(writer: avro.Type, path: readonly string[]): Extract | null {
  const w = underlying(writer);
  if (w instanceof avro.types.UnwrappedUnionType) {
    const nullIndex = w.types.findIndex((t) => t.typeName === 'null');
    const inner = compileExtractor(w.types[1 - nullIndex], path);
    if (inner === null) return null;
    return (c) => (readIndex(c, 2, 'union') === nullIndex ? null : inner(c));
  }
  if (path.length === 0) return compileLeaf(writer);
  if (!(w instanceof avro.types.RecordType)) return null;
  const at = w.fields.findIndex((f) => f.name === path[0]);
  if (at < 0) return () => null;
  const skips = w.fields.slice(0, at).map((f) => compile(f.type, null));
  const inner = compileExtractor(w.fields[at].type, path.slice(1));
  if (inner === null) return null;
  return (c) => {
    for (const skip of skips) skip(c);
    return inner(c);
  };
}

function compileLeaf(writer: avro.Type): Extract | null {
  if (writer instanceof ScaledLong) return (c) => millisToMicros(readLong(c));
  if (writer instanceof UnscaledDecimal) {
    const fixedSize = decimalFixedSize(writer);
    return (c) => {
      const start = readDecimalSpan(c, fixedSize);
      let n = 0n;
      for (let i = start; i < c.pos; i++) n = (n << 8n) | BigInt(c.buf[i]);
      return c.pos === start ? 0n : BigInt.asIntN((c.pos - start) * 8, n);
    };
  }
  const w = underlying(writer);
  switch (w.typeName) {
    case 'boolean':
      return (c) => {
        if (c.pos >= c.end) truncated();
        return c.buf[c.pos++] !== 0;
      };
    case 'int':
      return readInt;
    case 'long':
      return readLong;
    case 'float':
      return readFloat;
    case 'double':
      return readDouble;
    case 'string':
      return (c) => {
        const start = readSpan(c);
        return c.buf.toString('utf8', start, c.pos);
      };
    case 'bytes':
      return (c) => {
        const start = readSpan(c);
        return Buffer.from(c.buf.subarray(start, c.pos));
      };
    case 'fixed': {
      const size = (w as avro.types.FixedType).size;
      return (c) => {
        const start = readFixed(c, size);
        return Buffer.from(c.buf.subarray(start, c.pos));
      };
    }
    case 'enum': {
      const symbols = (w as avro.types.EnumType).symbols;
      return (c) => symbols[readIndex(c, symbols.length, 'enum')];
    }
    default:
      return null;
  }
}
