// Kafka wire primitives: a bounds-checked reader and a chunking writer.
//
// Every read is checked against the end of the buffer it was given, so hostile
// lengths, counts and varints fail with a DecodeError instead of reading past
// the frame or allocating more than the frame itself holds.
//
// int64 values are carried as JS numbers: offsets, timestamps and producer ids
// stay far below 2^53 in practice, and numbers keep the hot paths free of
// BigInt allocations. Values beyond ±2^53 (only hostile input) lose precision.

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

const TWO_POW_32 = 0x1_0000_0000;

/** The Kafka string form of a Uuid: 16 bytes as unpadded base64url (22 chars). */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function uuidFromBytes(b: Buffer): string {
  return b.toString('base64url');
}

export function uuidToBytes(s: string): Buffer {
  const b = Buffer.from(s, 'base64url');
  if (b.length !== 16) throw new DecodeError(`invalid uuid ${JSON.stringify(s)}`);
  return b;
}

export class Reader {
  pos: number;

  end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** Points this reader at buf[start, end): one reader reused for many small spans. */
  reset(start: number, end: number): void {
    if (start < 0 || end > this.buf.length || start > end) throw new DecodeError(`invalid span [${start}, ${end}) of ${this.buf.length} bytes`);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new DecodeError(`truncated ${what}: need ${n} bytes at ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  int8(): number {
    this.need(1, 'int8');
    const b = this.buf[this.pos++];
    return (b << 24) >> 24;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): number {
    this.need(8, 'int64');
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_POW_32 + lo;
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  uuid(): string {
    this.need(16, 'uuid');
    const s = this.buf.toString('base64url', this.pos, this.pos + 16);
    this.pos += 16;
    return s;
  }

  /** Unsigned varint of at most 32 bits (5 bytes), as Kafka's ByteUtils.readUnsignedVarint. */
  uvarint(): number {
    // Records carry several varints each, most of one byte: that case first,
    // and integer shifts up to 28 bits (a power of two per byte showed as
    // three quarters of this function's time in table conversion profiles).
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    return this.uvarintLong();
  }

  private uvarintLong(): number {
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.end) throw new DecodeError('truncated varint');
      const b = buf[pos++];
      value |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return value;
      }
    }
    // The fifth byte holds bits 28-31 only.
    if (pos >= this.end) throw new DecodeError('truncated varint');
    const b = buf[pos++];
    if (b >= 0x80) throw new DecodeError('varint longer than 5 bytes');
    if (b > 0x0f) throw new DecodeError('varint overflows 32 bits');
    this.pos = pos;
    return value + b * 0x10000000;
  }

  /** Zig-zag signed varint (32 bits). */
  varint(): number {
    const u = this.uvarint();
    // u < 2^32, so >>> keeps every bit; the result is a signed 32-bit integer.
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zig-zag signed varlong (64 bits, up to 10 bytes), as a number. */
  varlong(): number {
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return (b >>> 1) ^ -(b & 1);
      }
    }
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError('truncated varlong');
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      }
      scale *= 128;
    }
    throw new DecodeError('varlong longer than 10 bytes');
  }

  /** A view of the next n bytes; no copy. */
  bytes(n: number): Buffer {
    if (n < 0) throw new DecodeError(`negative length ${n}`);
    this.need(n, 'bytes');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  utf8(n: number): string {
    if (n < 0) throw new DecodeError(`negative length ${n}`);
    this.need(n, 'string');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  skip(n: number): void {
    if (n < 0) throw new DecodeError(`negative skip ${n}`);
    this.need(n, 'skip');
    this.pos += n;
  }

  /** A reader over the next n bytes, advancing this one past them. */
  sub(n: number): Reader {
    if (n < 0) throw new DecodeError(`negative length ${n}`);
    this.need(n, 'tagged field');
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** Guard for element counts: each element takes at least one byte. */
  checkCount(count: number, what: string): void {
    if (count > this.end - this.pos) {
      throw new DecodeError(`${what} count ${count} exceeds the ${this.end - this.pos} bytes left`);
    }
  }
}

/** Buffers at least this big are referenced, not copied, by Writer.raw(). */
const BY_REFERENCE_BYTES = 1024;

/**
 * A growable writer that keeps large payloads (record batches) by reference,
 * so a Fetch response is a list of buffers handed to the socket as they are.
 */
export class Writer {
  private buf: Buffer;
  private pos = 0;
  private readonly chunks: Buffer[] = [];
  private chunkedBytes = 0;

  constructor(initialSize = 512) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.chunkedBytes + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const size = Math.max(this.buf.length * 2, this.pos + n);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
  }

  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  int64(v: number): void {
    this.ensure(8);
    writeInt64(this.buf, v, this.pos);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  uuid(s: string): void {
    this.ensure(16);
    const b = uuidToBytes(s);
    b.copy(this.buf, this.pos);
    this.pos += 16;
  }

  uvarint(v: number): void {
    this.ensure(5);
    let value = v >>> 0;
    while (value >= 0x80) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buf[this.pos++] = value;
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  varlong(v: number): void {
    // zig-zag in float arithmetic so values beyond 32 bits survive
    let value = v >= 0 ? v * 2 : -v * 2 - 1;
    this.ensure(10);
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.pos++] = value;
  }

  utf8(s: string, byteLength: number): void {
    this.ensure(byteLength);
    this.buf.write(s, this.pos, byteLength, 'utf8');
    this.pos += byteLength;
  }

  /** Appends bytes; large buffers are kept by reference (zero copy). */
  raw(b: Buffer): void {
    if (b.length >= BY_REFERENCE_BYTES) {
      if (this.pos > 0) {
        this.chunks.push(this.buf.subarray(0, this.pos));
        this.chunkedBytes += this.pos;
        this.buf = Buffer.allocUnsafe(Math.max(256, this.buf.length - this.pos));
        this.pos = 0;
      }
      this.chunks.push(b);
      this.chunkedBytes += b.length;
      return;
    }
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  /** Overwrites an int32 at an absolute position written earlier (frame sizes). */
  patchInt32(position: number, v: number): void {
    let base = 0;
    for (const c of this.chunks) {
      if (position < base + c.length) {
        c.writeInt32BE(v, position - base);
        return;
      }
      base += c.length;
    }
    this.buf.writeInt32BE(v, position - base);
  }

  /** The written bytes as a list of buffers, in order. */
  toBuffers(): Buffer[] {
    const out = this.chunks.slice();
    if (this.pos > 0) out.push(this.buf.subarray(0, this.pos));
    return out;
  }

  toBuffer(): Buffer {
    const parts = this.toBuffers();
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, this.length);
  }
}

export function writeInt64(buf: Buffer, v: number, pos: number): void {
  const hi = Math.floor(v / TWO_POW_32);
  const lo = v - hi * TWO_POW_32;
  buf.writeInt32BE(hi | 0, pos);
  buf.writeUInt32BE(lo >>> 0, pos + 4);
}

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

export function uvarintSize(v: number): number {
  let n = 1;
  let value = v >>> 0;
  while (value >= 0x80) {
    value >>>= 7;
    n++;
  }
  return n;
}
