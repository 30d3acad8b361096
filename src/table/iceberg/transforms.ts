// Iceberg partition transforms (spec: "Partition Transforms" and Appendix B):
// identity, year, month, day, hour, bucket[N] and truncate[W], over values as
// Iceberg stores them (date: days since 1970-01-01; time, timestamp,
// timestamptz: microseconds; decimal: the unscaled bigint).
//
// The 32-bit Murmur3 (x86, seed 0) is written here: it is a dozen lines,
// the bucket of every partitioned row depends on it matching Java's
// byte for byte, and the unit tests pin it to the spec's published vectors.

export type Transform =
  | { readonly kind: 'identity' }
  | { readonly kind: 'year' }
  | { readonly kind: 'month' }
  | { readonly kind: 'day' }
  | { readonly kind: 'hour' }
  | { readonly kind: 'void' }
  | { readonly kind: 'bucket'; readonly n: number }
  | { readonly kind: 'truncate'; readonly width: number };

/** The transform's name in table metadata: identity, bucket[16], truncate[10], ... */
export function transformName(t: Transform): string {
  if (t.kind === 'bucket') return `bucket[${t.n}]`;
  if (t.kind === 'truncate') return `truncate[${t.width}]`;
  return t.kind;
}

export function parseTransformName(name: string): Transform {
  const m = /^(bucket|truncate)\[(\d+)\]$/.exec(name);
  if (m !== null) {
    const n = Number(m[2]);
    if (n < 1 || n > 2147483647) throw new Error(`invalid transform ${name}`);
    return m[1] === 'bucket' ? { kind: 'bucket', n } : { kind: 'truncate', width: n };
  }
  if (['identity', 'year', 'month', 'day', 'hour', 'void'].includes(name)) return { kind: name } as Transform;
  throw new Error(`unknown transform ${name}`);
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 x86 32-bit, seed 0, as a signed 32-bit int (Java's and Iceberg's view). */
export function murmur3x86_32(data: Uint8Array): number {
  let h = 0;
  const blocks = data.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k = data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) | (data[o + 3] << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = data.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= data[tail + 2] << 16;
    if (rest >= 2) k ^= data[tail + 1] << 8;
    k ^= data[tail];
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** int, long, date, time and timestamps hash as an 8-byte little-endian long (Appendix B). */
export function hashLong(v: bigint | number): number {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64LE(BigInt(v));
  return murmur3x86_32(b);
}

/** A decimal hashes its unscaled value's minimal big-endian two's-complement bytes (Java's BigInteger.toByteArray()). */
export function hashDecimal(unscaled: bigint): number {
  return murmur3x86_32(minimalTwosComplement(unscaled));
}

export function minimalTwosComplement(v: bigint): Buffer {
  const bytes: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(x & 0xffn);
    bytes.unshift(byte);
    x >>= 8n;
    // Done once the rest is pure sign extension of this byte's top bit.
    if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

export const hashString = (s: string): number => murmur3x86_32(Buffer.from(s, 'utf8'));

/** A uuid hashes its 16 bytes, big-endian (as written: most significant first). */
export function hashUuid(uuid: string): number {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`invalid uuid ${uuid}`);
  return murmur3x86_32(Buffer.from(hex, 'hex'));
}

export const bucketOf = (hash: number, n: number): number => (hash & 0x7fffffff) % n;

const MICROS_PER_HOUR = 3_600_000_000n;
const MICROS_PER_DAY = 86_400_000_000n;

const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
};

/** Days since 1970-01-01 of a date (days) or timestamp (micros). */
function epochDays(value: bigint, fromTimestamp: boolean): number {
  return Number(fromTimestamp ? floorDiv(value, MICROS_PER_DAY) : value);
}

function civil(days: number): { year: number; month: number } {
  const d = new Date(days * 86_400_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() };
}

/** Years since 1970 (year transform), months since 1970-01 (month), days since epoch (day), hours since epoch (hour). */
export function temporal(kind: 'year' | 'month' | 'day' | 'hour', value: bigint | number, fromTimestamp: boolean): number {
  const v = BigInt(value);
  if (kind === 'hour') {
    if (!fromTimestamp) throw new Error('hour applies to timestamps only');
    return Number(floorDiv(v, MICROS_PER_HOUR));
  }
  const days = epochDays(v, fromTimestamp);
  if (kind === 'day') return days;
  const { year, month } = civil(days);
  return kind === 'year' ? year - 1970 : (year - 1970) * 12 + month;
}

/** truncate[W] of an int or long: the value rounded down to a multiple of W. */
export function truncateInteger(v: bigint, width: number): bigint {
  const w = BigInt(width);
  return v - (((v % w) + w) % w);
}

/** truncate[W] of a string: its first W code points (not UTF-16 units). */
export function truncateString(s: string, width: number): string {
  let out = '';
  let n = 0;
  for (const cp of s) {
    if (n++ === width) break;
    out += cp;
  }
  return out;
}

export const truncateBinary = (b: Buffer, width: number): Buffer => b.subarray(0, width);

/**
 * A transform applied to a value as the converter holds it (numbers or
 * bigints for integers and micros, strings, Buffers, bigint unscaled
 * decimals); null stays null. The result is the partition tuple's value.
 */
export function applyTransform(t: Transform, type: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  // String columns may hold their UTF-8 bytes as they came (Kafka keys): transforms take the text.
  if (type === 'string' && v instanceof Uint8Array) v = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  switch (t.kind) {
    case 'identity':
      return v;
    case 'void':
      return null;
    case 'year':
    case 'month':
    case 'day':
    case 'hour':
      return temporal(t.kind, v as number | bigint, type !== 'date');
    case 'bucket':
      return bucketOf(hashValue(type, v), t.n);
    case 'truncate':
      if (type === 'string') return truncateString(v as string, t.width);
      if (type === 'binary') return truncateBinary(v as Buffer, t.width);
      if (type === 'int' || type === 'long') {
        const r = truncateInteger(BigInt(v as number | bigint), t.width);
        return typeof v === 'bigint' ? r : Number(r);
      }
      if (type.startsWith('decimal(')) return truncateInteger(v as bigint, t.width);
      throw new Error(`truncate does not apply to ${type}`);
  }
}

function hashValue(type: string, v: unknown): number {
  if (type === 'int' || type === 'long' || type === 'date' || type === 'time' || type === 'timestamp' || type === 'timestamptz') return hashLong(v as number | bigint);
  if (type === 'string') return hashString(v as string);
  if (type === 'uuid') return typeof v === 'string' ? hashUuid(v) : murmur3x86_32(v as Buffer);
  if (type.startsWith('decimal(')) return hashDecimal(v as bigint);
  if (type === 'binary' || type.startsWith('fixed[')) return murmur3x86_32(v as Buffer);
  throw new Error(`bucket does not apply to ${type}`);
}
