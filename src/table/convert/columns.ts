// Column accumulators: rows go in as plain values, Arrow data comes out,
// with the statistics an Iceberg manifest carries gathered on the way (value,
// null and NaN counts for every leaf column; lower/upper bounds for leaves
// that are not inside a list or map, as Iceberg's writers keep them).
//
// Written here rather than with apache-arrow's builders: those dispatch per
// value through generic setters and allocate a BigInt per 64-bit value; these
// append straight into typed buffers, which is where conversion spends its
// time (ISSUE 6 asks ≥ 50 MiB/s per core).

import { isUtf8 } from 'node:buffer';
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Field,
  FixedSizeBinary,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  Map_,
  Struct,
  TimeMicrosecond,
  TimestampMicrosecond,
  Utf8,
  type Data,
} from 'apache-arrow';
import { crc32c } from '../../protocol/records/crc32c.js';
import { compareSingleValues, encodeSingleValue, type PrimitiveValue } from '../iceberg/single-value.js';
import { isList, isMap, isStruct, type IcebergType, type NestedField, type PrimitiveType, type StructType } from '../iceberg/types.js';

/** The Parquet field id key parquet-wasm (arrow-rs) reads from Arrow field metadata. */
export const PARQUET_FIELD_ID = 'PARQUET:field_id';

export interface ColumnStats {
  valueCount: number;
  nullCount: number;
  nanCount: number;
  lower: PrimitiveValue | null;
  upper: PrimitiveValue | null;
}

/** Values sampled per column to choose Parquet dictionaries (PrimitiveColumn.repeats), and the fewest worth a choice. */
const DICTIONARY_SAMPLE = 1024;
const DICTIONARY_MIN_SAMPLE = 64;

/** Bounds of strings and binaries are truncated to this many characters/bytes, as Iceberg's default metrics mode truncate(16). */
const BOUND_TRUNCATE = 16;

export interface Column {
  readonly type: IcebergType;
  length: number;
  /** Approximate bytes held, for the target file size. */
  bytes: number;
  push(v: unknown): void;
  /**
   * Drops the values past the first `length` (a row that failed halfway
   * through, see avro-decode.ts). Counts are exact again afterwards; bounds
   * may stay wider than the values left, which still bounds them.
   */
  truncate(length: number): void;
  /**
   * Empty again, bounds and counts forgotten, keeping the buffers it grew:
   * the next file's rows go into memory already faulted in, with no
   * doubling and copying on the way up to its size.
   */
  reset(): void;
  finish(): Data;
  arrowType(): DataType;
  collectStats(out: Map<number, ColumnStats>, bounds: boolean): void;
}

class Bytes {
  buf: Uint8Array;
  length = 0;
  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
  }
  ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** A validity bitmap that is only materialized once a null arrives. */
class Validity {
  private bits: Bytes | null = null;
  nulls = 0;
  push(valid: boolean, index: number): void {
    if (!valid) {
      if (this.bits === null) {
        this.bits = new Bytes(Math.max(64, (index >> 3) + 1));
        this.bits.buf.fill(0xff);
      }
      this.nulls++;
    }
    if (this.bits === null) return;
    const byte = index >> 3;
    if (byte >= this.bits.length) {
      const grow = byte + 1 - this.bits.length;
      this.bits.ensure(grow);
      this.bits.buf.fill(0xff, this.bits.length, byte + 1);
      this.bits.length = byte + 1;
    }
    if (!valid) this.bits.buf[byte] &= ~(1 << (index & 7));
  }
  bitmap(): Uint8Array | undefined {
    return this.bits?.view();
  }
  isValid(index: number): boolean {
    return this.bits === null || (this.bits.buf[index >> 3] & (1 << (index & 7))) !== 0;
  }
  reset(): void {
    this.bits = null;
    this.nulls = 0;
  }
  /** Forgets entries [length, before): their nulls uncounted, their bits set again for the entries that will take their place. */
  truncate(length: number, before: number): void {
    if (this.bits === null) return;
    const buf = this.bits.buf;
    for (let i = length; i < before; i++) {
      const mask = 1 << (i & 7);
      if ((buf[i >> 3] & mask) === 0) {
        this.nulls--;
        buf[i >> 3] |= mask;
      }
    }
  }
}

/** Arrow value offsets (starting at 0), grown by doubling. */
class Offsets {
  private a = new Int32Array(256);
  put(index: number, value: number): void {
    if (index >= this.a.length) {
      const next = new Int32Array(this.a.length * 2);
      next.set(this.a);
      this.a = next;
    }
    this.a[index] = value;
  }
  get(index: number): number {
    return this.a[index];
  }
  /** The offsets of the first `length` values. */
  view(length: number): Int32Array {
    return this.a.subarray(0, length + 1);
  }
}

type Kind = 'bool' | 'i32' | 'i64' | 'f32' | 'f64' | 'utf8' | 'binary' | 'fixed' | 'decimal';

function kindOf(t: PrimitiveType): { kind: Kind; width: number } {
  switch (t) {
    case 'boolean':
      return { kind: 'bool', width: 0 };
    case 'int':
    case 'date':
      return { kind: 'i32', width: 4 };
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return { kind: 'i64', width: 8 };
    case 'float':
      return { kind: 'f32', width: 4 };
    case 'double':
      return { kind: 'f64', width: 8 };
    case 'string':
      return { kind: 'utf8', width: 0 };
    case 'binary':
      return { kind: 'binary', width: 0 };
    case 'uuid':
      return { kind: 'fixed', width: 16 };
    default: {
      const fixed = /^fixed\[(\d+)\]$/.exec(t);
      if (fixed !== null) return { kind: 'fixed', width: Number(fixed[1]) };
      if (t.startsWith('decimal(')) return { kind: 'decimal', width: 16 };
      throw new Error(`no column for type ${t}`);
    }
  }
}

const TWO_32 = 4294967296;

export class PrimitiveColumn implements Column {
  length = 0;
  bytes = 0;
  private readonly kind: Kind;
  private readonly width: number;
  private readonly validity = new Validity();
  private readonly values: Bytes;
  private readonly offsets = new Offsets();
  private view: DataView;
  /** The values as a Buffer, for its UTF-8 writer; follows `values` when it grows. */
  private buffer: Buffer;
  private nan = 0;
  private lower: PrimitiveValue | null = null;
  private upper: PrimitiveValue | null = null;
  /** Strings and binaries: the bounds as bytes, compared in place against what was just written. */
  private readonly lowerBytes: ByteBound | null;
  private readonly upperBytes: ByteBound | null;
  private boundsSeen = false;

  constructor(
    readonly type: PrimitiveType,
    private readonly fieldId: number,
  ) {
    const k = kindOf(type);
    this.kind = k.kind;
    this.width = k.width;
    this.values = new Bytes(k.kind === 'bool' ? 64 : 1024);
    this.view = new DataView(this.values.buf.buffer);
    this.buffer = Buffer.from(this.values.buf.buffer);
    const bytewise = k.kind === 'utf8' || k.kind === 'binary';
    // Fixed values are bounded bytewise too, in place, with no Buffer per value.
    this.lowerBytes = bytewise || k.kind === 'fixed' ? new ByteBound() : null;
    this.upperBytes = bytewise || k.kind === 'fixed' ? new ByteBound() : null;
    // The commonest kinds get a push of their own: no switch per value, and type feedback of one kind of value.
    this.push = bytewise ? this.pushBytes : k.kind === 'i32' ? this.pushInt32 : k.kind === 'i64' ? this.pushInt64 : k.kind === 'f64' || k.kind === 'f32' ? this.pushFloat : this.pushAny;
  }

  readonly push: (v: unknown) => void;

  private pushInt32(v: unknown): void {
    const valid = v !== null && v !== undefined;
    this.validity.push(valid, this.length);
    this.reserve(4);
    const n = valid ? Number(v) : 0;
    this.view.setInt32(this.values.length, n, true);
    this.values.length += 4;
    if (valid) {
      if (this.lower === null || n < (this.lower as number)) this.lower = n;
      if (this.upper === null || n > (this.upper as number)) this.upper = n;
    }
    this.length++;
    this.bytes = this.values.length + this.length;
  }

  /** Longs and the micros-based temporals: numbers (safe integers) as avsc decodes them, or bigints. */
  private pushInt64(v: unknown): void {
    const valid = v !== null && v !== undefined;
    this.validity.push(valid, this.length);
    this.reserve(8);
    if (typeof v === 'bigint') {
      this.view.setBigInt64(this.values.length, v, true);
      this.bound(v);
    } else {
      // Split a safe-integer number into 32-bit halves: no BigInt per value.
      const n = valid ? Number(v) : 0;
      const hi = Math.floor(n / TWO_32);
      this.view.setUint32(this.values.length, n - hi * TWO_32, true);
      this.view.setInt32(this.values.length + 4, hi, true);
      if (valid) {
        if (typeof this.lower !== 'bigint' && typeof this.upper !== 'bigint') {
          if (this.lower === null || n < (this.lower as number)) this.lower = n;
          if (this.upper === null || n > (this.upper as number)) this.upper = n;
        } else this.bound(n);
      }
    }
    this.values.length += 8;
    this.length++;
    this.bytes = this.values.length + this.length;
  }

  private pushFloat(v: unknown): void {
    const valid = v !== null && v !== undefined;
    this.validity.push(valid, this.length);
    this.reserve(this.width);
    const n = valid ? Number(v) : 0;
    if (this.kind === 'f32') this.view.setFloat32(this.values.length, n, true);
    else this.view.setFloat64(this.values.length, n, true);
    this.values.length += this.width;
    if (valid) {
      // NaN is counted, and kept out of the bounds (Iceberg's rule).
      if (Number.isNaN(n)) this.nan++;
      else {
        if (this.lower === null || n < (this.lower as number)) this.lower = n;
        if (this.upper === null || n > (this.upper as number)) this.upper = n;
      }
    }
    this.length++;
    this.bytes = this.values.length + this.length;
  }

  private pushBytes(v: unknown): void {
    const valid = v !== null && v !== undefined;
    this.validity.push(valid, this.length);
    if (valid) {
      const start = this.values.length;
      if (typeof v === 'string') this.writeString(v);
      else {
        const b = v as Uint8Array;
        this.reserve(b.length);
        this.values.buf.set(b, this.values.length);
        this.values.length += b.length;
      }
      this.boundBytes(start, this.values.length);
    }
    this.offsets.put(this.length + 1, this.values.length);
    this.length++;
    this.bytes = this.values.length + this.length;
  }

  /**
   * A string's, binary's or fixed's bytes straight from an Avro payload.
   * UTF-8 is checked rather than decoded (Avro strings are UTF-8 on the wire,
   * as Parquet stores them); a value that does not fit throws before
   * anything is written. With `lossy`, bytes that are not UTF-8 become
   * text with replacement characters instead (Kafka keys and string
   * values, as a Java StringDeserializer reads them). `words`, a DataView of
   * src from its first byte, lets short values be copied 4 bytes at a time.
   */
  pushSlice(src: Uint8Array, start: number, end: number, lossy = false, words: DataView | null = null): void {
    const n = end - start;
    if (this.kind === 'fixed' && n !== this.width) throw new TypeError(`value of ${n} bytes for ${this.type}`);
    if (this.kind !== 'utf8' && this.kind !== 'binary' && this.kind !== 'fixed') throw new TypeError(`bytes for a ${this.type} column`);
    this.reserve(n);
    const buf = this.values.buf;
    const at = this.values.length;
    let ascii: boolean;
    if (n <= 32) {
      // Short values by hand: cheaper than set() and subarray(), and the ASCII check comes for free.
      let high = 0;
      let i = 0;
      if (words !== null) {
        const view = this.view;
        for (; i + 4 <= n; i += 4) {
          const w = words.getUint32(start + i);
          high |= w;
          view.setUint32(at + i, w);
        }
      }
      for (; i < n; i++) {
        const c = src[start + i];
        high |= c;
        buf[at + i] = c;
      }
      ascii = (high & 0x80808080) === 0;
    } else {
      buf.set(src.subarray(start, end), at);
      ascii = false;
    }
    if (this.kind === 'utf8' && !ascii && !(n <= 32 ? isUtf8Short(buf, at, at + n) : isUtf8(buf.subarray(at, at + n)))) {
      if (!lossy) throw new TypeError('string is not valid UTF-8');
      this.push(Buffer.from(src.buffer, src.byteOffset + start, n).toString('utf8'));
      return;
    }
    this.validity.push(true, this.length);
    this.values.length = at + n;
    this.boundBytes(at, at + n);
    if (this.kind !== 'fixed') this.offsets.put(this.length + 1, this.values.length);
    this.length++;
    this.bytes = this.values.length + this.length;
  }

  /** A decimal's unscaled value as Avro holds it: big-endian two's complement, in as many bytes as it took. */
  pushUnscaled(src: Uint8Array, s: number, end: number): void {
    if (this.kind !== 'decimal') throw new TypeError(`a decimal for a ${this.type} column`);
    // Leading bytes that only extend the sign (writers that use a fixed width) change nothing.
    let start = s;
    while (end - start > 1 && ((src[start] === 0 && src[start + 1] < 0x80) || (src[start] === 0xff && src[start + 1] >= 0x80))) start++;
    const n = end - start;
    if (n > 16) throw new TypeError(`decimal of ${n} bytes does not fit 128 bits`);
    if (n > 6) {
      let big = 0n;
      for (let i = start; i < end; i++) big = (big << 8n) | BigInt(src[i]);
      this.pushAny(BigInt.asIntN(n * 8, big));
      return;
    }
    // Up to 48 bits: a number, split into 32-bit halves and sign-extended, with no BigInt.
    let x = 0;
    for (let i = start; i < end; i++) x = x * 256 + src[i];
    if (n > 0 && src[start] >= 0x80) x -= 2 ** (8 * n);
    this.validity.push(true, this.length);
    this.reserve(16);
    const hi = Math.floor(x / TWO_32);
    const sign = x < 0 ? -1 : 0;
    this.view.setUint32(this.values.length, x - hi * TWO_32, true);
    this.view.setInt32(this.values.length + 4, hi, true);
    this.view.setInt32(this.values.length + 8, sign, true);
    this.view.setInt32(this.values.length + 12, sign, true);
    this.values.length += 16;
    if (this.lower === null || x < (this.lower as number)) this.lower = x;
    if (this.upper === null || x > (this.upper as number)) this.upper = x;
    this.length++;
    this.bytes = this.values.length + this.length;
  }

  /**
   * Whether the values repeat enough for a Parquet dictionary to pay: in an
   * evenly spread sample of the non-null values, a quarter or more are
   * repeats. Strings and binaries only (see parquet.ts).
   */
  repeats(): boolean {
    if (this.kind !== 'utf8' && this.kind !== 'binary') return false;
    const step = Math.max(1, Math.floor(this.length / DICTIONARY_SAMPLE));
    // Values are told apart by their CRC32C and length, not as strings: with
    // 1 KiB values a sample made a megabyte of strings per column, in the
    // commit's burst of work. A collision only counts a value as a repeat.
    const seen = new Set<number>();
    let sampled = 0;
    for (let i = 0; i < this.length && sampled < DICTIONARY_SAMPLE; i += step) {
      if (!this.validity.isValid(i)) continue;
      const start = this.offsets.get(i);
      const length = this.offsets.get(i + 1) - start;
      seen.add((length % 2 ** 20) * 2 ** 32 + crc32c(this.buffer.subarray(start, start + length)));
      sampled++;
    }
    return sampled >= DICTIONARY_MIN_SAMPLE && seen.size * 4 <= sampled * 3;
  }

  reset(): void {
    this.validity.reset();
    this.values.length = 0;
    this.nan = 0;
    this.lower = null;
    this.upper = null;
    this.boundsSeen = false;
    this.length = 0;
    this.bytes = 0;
  }

  truncate(length: number): void {
    if (length >= this.length) return;
    this.validity.truncate(length, this.length);
    if (this.kind === 'bool') {
      this.values.length = (length + 7) >> 3;
      if ((length & 7) !== 0) this.values.buf[length >> 3] &= (1 << (length & 7)) - 1;
    } else if (this.kind === 'utf8' || this.kind === 'binary') {
      this.values.length = this.offsets.get(length);
    } else {
      if (this.kind === 'f32' || this.kind === 'f64') {
        for (let i = length; i < this.length; i++) {
          const x = this.kind === 'f32' ? this.view.getFloat32(i * 4, true) : this.view.getFloat64(i * 8, true);
          if (Number.isNaN(x)) this.nan--;
        }
      }
      this.values.length = length * this.width;
    }
    this.length = length;
    this.bytes = this.values.length + this.length;
  }

  /** Room for n more bytes: the check is small enough to be inlined into every push, the growth is not. */
  private reserve(n: number): void {
    if (this.values.length + n > this.values.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    this.values.ensure(n);
    this.view = new DataView(this.values.buf.buffer);
    this.buffer = Buffer.from(this.values.buf.buffer);
  }

  /** Every other kind: booleans, fixed, decimals. */
  private pushAny(v: unknown): void {
    const i = this.length;
    const valid = v !== null && v !== undefined;
    this.validity.push(valid, i);
    switch (this.kind) {
      case 'bool': {
        if (i >> 3 >= this.values.length) {
          this.reserve(1);
          this.values.buf[this.values.length++] = 0;
        }
        if (valid && v) this.values.buf[i >> 3] |= 1 << (i & 7);
        break;
      }
      case 'fixed': {
        this.reserve(this.width);
        if (valid) {
          const b = typeof v === 'string' ? Buffer.from(v.replace(/-/g, ''), 'hex') : (v as Uint8Array);
          if (b.length !== this.width) throw new TypeError(`value of ${b.length} bytes for ${this.type}`);
          this.values.buf.set(b, this.values.length);
          this.boundBytes(this.values.length, this.values.length + this.width);
        } else this.values.buf.fill(0, this.values.length, this.values.length + this.width);
        this.values.length += this.width;
        break;
      }
      case 'decimal': {
        this.reserve(16);
        const n = valid ? BigInt(v as bigint) : 0n;
        this.view.setBigUint64(this.values.length, BigInt.asUintN(64, n), true);
        this.view.setBigInt64(this.values.length + 8, BigInt.asIntN(64, n >> 64n), true);
        this.values.length += 16;
        break;
      }
    }
    if (valid && this.kind !== 'fixed') this.bound(v as PrimitiveValue);
    this.length++;
    this.bytes = this.values.length + this.length;
  }

  /** UTF-8 into the values: short ASCII strings (most keys, codes, names) by hand, anything else by Buffer's encoder. */
  private writeString(v: string): void {
    const n = v.length;
    this.reserve(n * 3);
    const buf = this.values.buf;
    let at = this.values.length;
    if (n <= 64) {
      let i = 0;
      for (; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === n) {
        this.values.length = at;
        return;
      }
      at = this.values.length;
    }
    this.values.length = at + this.buffer.write(v, at, 'utf8');
  }

  /** Lower/upper bounds of strings and binaries, by unsigned bytes (UTF-8 byte order is code point order, as Iceberg orders). */
  private boundBytes(start: number, end: number): void {
    const lower = this.lowerBytes!;
    const upper = this.upperBytes!;
    const buf = this.values.buf;
    if (!this.boundsSeen) {
      lower.set(buf, start, end);
      upper.set(buf, start, end);
      this.boundsSeen = true;
      return;
    }
    if (lower.compare(buf, this.view, start, end) < 0) lower.set(buf, start, end);
    else if (upper.compare(buf, this.view, start, end) > 0) upper.set(buf, start, end);
  }

  private bound(v: PrimitiveValue): void {
    let b: PrimitiveValue = v;
    if (this.kind === 'i64' || this.kind === 'decimal') b = typeof v === 'bigint' ? v : Number(v);
    if (this.lower === null || compareSingleValues(b, this.lower) < 0) this.lower = b;
    if (this.upper === null || compareSingleValues(b, this.upper) > 0) this.upper = b;
  }

  arrowType(): DataType {
    const t = this.type;
    switch (t) {
      case 'boolean':
        return new Bool();
      case 'int':
        return new Int32();
      case 'long':
        return new Int64();
      case 'float':
        return new Float32();
      case 'double':
        return new Float64();
      case 'date':
        return new DateDay();
      case 'time':
        return new TimeMicrosecond();
      case 'timestamp':
        return new TimestampMicrosecond();
      case 'timestamptz':
        return new TimestampMicrosecond('UTC');
      case 'string':
        return new Utf8();
      case 'binary':
        return new Binary();
      default: {
        if (this.kind === 'fixed') return new FixedSizeBinary(this.width);
        const m = /^decimal\((\d+), ?(\d+)\)$/.exec(t)!;
        return new Decimal(Number(m[2]), Number(m[1]), 128);
      }
    }
  }

  finish(): Data {
    const type = this.arrowType();
    const nullBitmap = this.validity.bitmap();
    const nullCount = this.validity.nulls;
    const data = this.values.view();
    if (this.kind === 'utf8' || this.kind === 'binary') {
      return makeData({ type: type as Utf8, length: this.length, nullCount, nullBitmap, valueOffsets: this.offsets.view(this.length), data });
    }
    return makeData({ type, length: this.length, nullCount, nullBitmap, data } as never);
  }

  collectStats(out: Map<number, ColumnStats>, bounds: boolean): void {
    if (this.boundsSeen) {
      const lower = Buffer.from(this.lowerBytes!.view());
      const upper = Buffer.from(this.upperBytes!.view());
      this.lower = this.kind === 'utf8' ? lower.toString('utf8') : lower;
      this.upper = this.kind === 'utf8' ? upper.toString('utf8') : upper;
    }
    const lower = bounds ? truncateLower(this.type, this.lower) : null;
    const upper = bounds ? truncateUpper(this.type, this.upper) : null;
    out.set(this.fieldId, { valueCount: this.length, nullCount: this.validity.nulls, nanCount: this.nan, lower, upper });
  }
}

/**
 * A string's or binary's running bound, as bytes. Values are compared with
 * it a 32-bit word at a time: a DataView reads big-endian, so words compare
 * as their bytes do unsigned, and values that share a long prefix with the
 * bound (ids, e-mail addresses, SKUs) take a quarter of the steps.
 */
class ByteBound {
  buf = new Uint8Array(64);
  private words = new DataView(this.buf.buffer);
  length = 0;

  set(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n > this.buf.length) {
      this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
      this.words = new DataView(this.buf.buffer);
    }
    const buf = this.buf;
    // As pushSlice copies: by hand when short, with set() past that.
    if (n <= 32) for (let i = 0; i < n; i++) buf[i] = src[start + i];
    else buf.set(src.subarray(start, end));
    this.length = n;
  }

  /** Negative, zero or positive as src[start, end) sorts before, with or after the bound (`words` views src's buffer from byte 0). */
  compare(src: Uint8Array, words: DataView, start: number, end: number): number {
    const n = Math.min(end - start, this.length);
    const own = this.words;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const a = words.getUint32(start + i);
      const b = own.getUint32(i);
      if (a !== b) return a < b ? -1 : 1;
    }
    const buf = this.buf;
    for (; i < n; i++) {
      const d = src[start + i] - buf[i];
      if (d !== 0) return d;
    }
    return end - start - this.length;
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * UTF-8 validity of a short value, in place: node's isUtf8 is faster per
 * byte but needs a view made per call, which costs more than checking a
 * field of a few dozen bytes here. Overlongs, surrogates and code points
 * past U+10FFFF are invalid, as in isUtf8.
 */
function isUtf8Short(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return false;
    if (i + need >= end) return false;
    const second = b[i + 1];
    if (second < lo || second > hi) return false;
    for (let k = 2; k <= need; k++) if ((b[i + k] & 0xc0) !== 0x80) return false;
    i += need + 1;
  }
  return true;
}

function truncateLower(type: PrimitiveType, v: PrimitiveValue | null): PrimitiveValue | null {
  if (v === null) return null;
  if (type === 'string') return [...(v as string)].slice(0, BOUND_TRUNCATE).join('');
  if (type === 'binary') return (v as Buffer).subarray(0, BOUND_TRUNCATE);
  return v;
}

/** A truncated upper bound must still bound: the prefix with its last character incremented; none if that overflows. */
function truncateUpper(type: PrimitiveType, v: PrimitiveValue | null): PrimitiveValue | null {
  if (v === null) return null;
  if (type === 'string') {
    const cps = [...(v as string)];
    if (cps.length <= BOUND_TRUNCATE) return v;
    const prefix = cps.slice(0, BOUND_TRUNCATE);
    for (let i = prefix.length - 1; i >= 0; i--) {
      const next = prefix[i].codePointAt(0)! + 1;
      if (next <= 0x10ffff && !(next >= 0xd800 && next <= 0xdfff)) return prefix.slice(0, i).join('') + String.fromCodePoint(next);
    }
    return null;
  }
  if (type === 'binary') {
    const b = v as Buffer;
    if (b.length <= BOUND_TRUNCATE) return b;
    const prefix = Buffer.from(b.subarray(0, BOUND_TRUNCATE));
    for (let i = prefix.length - 1; i >= 0; i--) {
      if (prefix[i] !== 0xff) {
        prefix[i]++;
        return prefix.subarray(0, i + 1);
      }
    }
    return null;
  }
  return v;
}

/** Pushes each field of an object into its column; generated per struct so each property read is its own monomorphic access. */
type PushFields = (columns: readonly Column[], o: Record<string, unknown>) => void;

function compilePushFields(fields: readonly NestedField[]): PushFields {
  // Field names only ever appear as JSON string literals: no name can become code.
  const body = fields.map((f, i) => `c[${i}].push(o[${JSON.stringify(f.name)}]);`).join('\n');
  return new Function('c', 'o', body) as PushFields;
}

export class StructColumn implements Column {
  length = 0;
  readonly children: { field: NestedField; column: Column }[];
  private readonly columns: Column[];
  private readonly pushFields: PushFields;
  private readonly validity = new Validity();

  constructor(readonly type: StructType) {
    this.children = type.fields.map((f) => ({ field: f, column: columnFor(f.type, f.id) }));
    this.columns = this.children.map((c) => c.column);
    this.pushFields = compilePushFields(type.fields);
  }

  get bytes(): number {
    let n = this.length >> 3;
    for (const c of this.children) n += c.column.bytes;
    return n;
  }

  push(v: unknown): void {
    const valid = v !== null && v !== undefined;
    this.validity.push(valid, this.length);
    if (valid) this.pushFields(this.columns, v as Record<string, unknown>);
    else for (const c of this.columns) c.push(null);
    this.length++;
  }

  /** The column of a field, for decoders that push into the children themselves. */
  child(name: string): Column | undefined {
    return this.children.find((c) => c.field.name === name)?.column;
  }

  /** Ends a row whose children were pushed one by one. */
  pushValid(): void {
    this.validity.push(true, this.length);
    this.length++;
  }

  reset(): void {
    this.validity.reset();
    for (const c of this.columns) c.reset();
    this.length = 0;
  }

  truncate(length: number): void {
    if (length >= this.length) {
      // Children may be ahead of a struct whose row failed before pushValid().
      for (const c of this.columns) c.truncate(length);
      return;
    }
    this.validity.truncate(length, this.length);
    for (const c of this.columns) c.truncate(length);
    this.length = length;
  }

  arrowType(): DataType {
    return new Struct(this.children.map((c) => arrowField(c.field.name, c.column, !c.field.required, c.field.id)));
  }

  finish(): Data {
    return makeData({
      type: this.arrowType() as Struct,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.bitmap(),
      children: this.children.map((c) => c.column.finish()),
    });
  }

  collectStats(out: Map<number, ColumnStats>, bounds: boolean): void {
    for (const c of this.children) c.column.collectStats(out, bounds);
  }
}

export class ListColumn implements Column {
  length = 0;
  readonly element: Column;
  private readonly validity = new Validity();
  private readonly offsets = new Offsets();

  constructor(readonly type: Extract<IcebergType, { type: 'list' }>) {
    this.element = columnFor(type.element, type['element-id']);
  }

  get bytes(): number {
    return this.length * 4 + this.element.bytes;
  }

  push(v: unknown): void {
    const valid = v !== null && v !== undefined;
    this.validity.push(valid, this.length);
    if (valid) for (const e of v as unknown[]) this.element.push(e);
    this.offsets.put(++this.length, this.element.length);
  }

  /** Ends a list whose elements were pushed one by one. */
  pushValid(): void {
    this.validity.push(true, this.length);
    this.offsets.put(++this.length, this.element.length);
  }

  reset(): void {
    this.validity.reset();
    this.element.reset();
    this.length = 0;
  }

  truncate(length: number): void {
    // Elements may be ahead of a list whose row failed before pushValid().
    this.element.truncate(this.offsets.get(Math.min(length, this.length)));
    if (length >= this.length) return;
    this.validity.truncate(length, this.length);
    this.length = length;
  }

  arrowType(): DataType {
    return new List(arrowField('element', this.element, !this.type['element-required'], this.type['element-id']));
  }

  finish(): Data {
    return makeData({
      type: this.arrowType() as List,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.bitmap(),
      valueOffsets: this.offsets.view(this.length),
      child: this.element.finish(),
    });
  }

  collectStats(out: Map<number, ColumnStats>): void {
    this.element.collectStats(out, false);
  }
}

export class MapColumn implements Column {
  length = 0;
  readonly keys: Column;
  readonly values: Column;
  private readonly validity = new Validity();
  private readonly offsets = new Offsets();

  constructor(readonly type: Extract<IcebergType, { type: 'map' }>) {
    this.keys = columnFor(type.key, type['key-id']);
    this.values = columnFor(type.value, type['value-id']);
  }

  get bytes(): number {
    return this.length * 4 + this.keys.bytes + this.values.bytes;
  }

  push(v: unknown): void {
    const valid = v !== null && v !== undefined;
    this.validity.push(valid, this.length);
    if (valid) {
      const entries = v instanceof Map ? [...v] : Array.isArray(v) ? (v as [unknown, unknown][]) : Object.entries(v as object);
      for (const [k, val] of entries) {
        this.keys.push(k);
        this.values.push(val);
      }
    }
    this.offsets.put(++this.length, this.keys.length);
  }

  /** Ends a map whose keys and values were pushed one by one. */
  pushValid(): void {
    this.validity.push(true, this.length);
    this.offsets.put(++this.length, this.keys.length);
  }

  reset(): void {
    this.validity.reset();
    this.keys.reset();
    this.values.reset();
    this.length = 0;
  }

  truncate(length: number): void {
    const entries = this.offsets.get(Math.min(length, this.length));
    this.keys.truncate(entries);
    this.values.truncate(entries);
    if (length >= this.length) return;
    this.validity.truncate(length, this.length);
    this.length = length;
  }

  private entriesType(): Struct {
    return new Struct([arrowField('key', this.keys, false, this.type['key-id']), arrowField('value', this.values, !this.type['value-required'], this.type['value-id'])]);
  }

  arrowType(): DataType {
    return new Map_(new Field('entries', this.entriesType(), false), false);
  }

  finish(): Data {
    const entries = makeData({ type: this.entriesType(), length: this.keys.length, nullCount: 0, children: [this.keys.finish(), this.values.finish()] });
    return makeData({
      type: this.arrowType() as Map_,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.bitmap(),
      valueOffsets: this.offsets.view(this.length),
      child: entries,
    });
  }

  collectStats(out: Map<number, ColumnStats>): void {
    this.keys.collectStats(out, false);
    this.values.collectStats(out, false);
  }
}

function arrowField(name: string, column: Column, nullable: boolean, id: number): Field {
  return new Field(name, column.arrowType(), nullable, new Map([[PARQUET_FIELD_ID, String(id)]]));
}

export function columnFor(type: IcebergType, fieldId: number): Column {
  if (isStruct(type)) return new StructColumn(type);
  if (isList(type)) return new ListColumn(type);
  if (isMap(type)) return new MapColumn(type);
  return new PrimitiveColumn(type, fieldId);
}

/** A table's rows: one column per top-level field, as a struct whose rows are never null. */
export class RowColumns {
  /** The rows' struct: decoders push into its children and end each row with pushValid(). */
  readonly root: StructColumn;

  constructor(readonly schema: StructType) {
    this.root = new StructColumn(schema);
  }

  get length(): number {
    return this.root.length;
  }

  get bytes(): number {
    return this.root.bytes;
  }

  push(row: Record<string, unknown>): void {
    this.root.push(row);
  }

  /** Back to the first `length` rows, dropping a row that failed partway. */
  truncate(length: number): void {
    this.root.truncate(length);
  }

  /** No rows, for the next file of the same schema (see Column.reset). */
  reset(): void {
    this.root.reset();
  }

  fields(): Field[] {
    return (this.root.arrowType() as Struct).children;
  }

  /** Top-level string and binary columns whose values repeat (PrimitiveColumn.repeats), by name. */
  repeatingColumns(): string[] {
    return this.root.children.filter((c) => c.column instanceof PrimitiveColumn && c.column.repeats()).map((c) => c.field.name);
  }

  finish(): Data<Struct> {
    return this.root.finish() as Data<Struct>;
  }

  /** Per-field-id statistics, bounds already in Iceberg's single-value encoding. */
  stats(): { valueCounts: Map<number, number>; nullValueCounts: Map<number, number>; nanValueCounts: Map<number, number>; lowerBounds: Map<number, Buffer>; upperBounds: Map<number, Buffer> } {
    const all = new Map<number, ColumnStats>();
    this.root.collectStats(all, true);
    const types = leafTypes(this.schema);
    const out = { valueCounts: new Map<number, number>(), nullValueCounts: new Map<number, number>(), nanValueCounts: new Map<number, number>(), lowerBounds: new Map<number, Buffer>(), upperBounds: new Map<number, Buffer>() };
    for (const [id, s] of all) {
      out.valueCounts.set(id, s.valueCount);
      out.nullValueCounts.set(id, s.nullCount);
      const t = types.get(id);
      if (t === 'float' || t === 'double') out.nanValueCounts.set(id, s.nanCount);
      if (t !== undefined && s.lower !== null) out.lowerBounds.set(id, encodeSingleValue(t, s.lower));
      if (t !== undefined && s.upper !== null) out.upperBounds.set(id, encodeSingleValue(t, s.upper));
    }
    return out;
  }
}

/** Every primitive field's type by id (struct fields, list elements, map keys and values). */
export function leafTypes(t: IcebergType, out = new Map<number, PrimitiveType>(), id = 0): Map<number, PrimitiveType> {
  if (isStruct(t)) for (const f of t.fields) leafTypes(f.type, out, f.id);
  else if (isList(t)) leafTypes(t.element, out, t['element-id']);
  else if (isMap(t)) {
    leafTypes(t.key, out, t['key-id']);
    leafTypes(t.value, out, t['value-id']);
  } else out.set(id, t);
  return out;
}
