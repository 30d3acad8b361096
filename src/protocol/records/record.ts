// Records inside a v2 batch (after decompression, if any):
//
//  length: varint            bytes that follow
//  attributes: int8
//  timestampDelta: varlong
//  offsetDelta: varint
//  keyLength: varint, key     (-1 = null)
//  valueLength: varint, value (-1 = null)
//  headers: varint count, then [keyLength varint, key, valueLength varint, value]
//
// One reader, RecordCursor, checks the structure and gives each record's
// fields and the spans of its key and value in place, allocating nothing
// per record. `scanRecords` (produce validation) and `decodeRecords` (full
// records, for the paths that need few of them) are loops over it.

import { DecodeError, Reader, Writer } from '../primitives.js';

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface DecodedRecord {
  readonly attributes: number;
  readonly offsetDelta: number;
  readonly timestampDelta: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

/** Calls `visit(offsetDelta, timestampDelta, index)` for each record of buf[start, end); throws DecodeError on bad structure. */
export function scanRecords(
  buf: Buffer,
  start: number,
  end: number,
  count: number,
  visit: (offsetDelta: number, timestampDelta: number, index: number) => void,
): void {
  const cursor = new RecordCursor(buf, count, start, end);
  for (let i = 0; cursor.next(); i++) visit(cursor.offsetDelta, cursor.timestampDelta, i);
}

/**
 * The records of a batch payload, one at a time, into this object's fields:
 * no object, Buffer or array per record (a partition's conversion reads
 * hundreds of thousands a second). The key and value are spans of `buf`,
 * length -1 for null; headers are read only when asked for. Bad structure
 * throws DecodeError from next(), after the records before it were read.
 */
export class RecordCursor {
  attributes = 0;
  timestampDelta = 0;
  offsetDelta = 0;
  keyStart = 0;
  keyLength = -1;
  valueStart = 0;
  valueLength = -1;
  headerCount = 0;
  private headersStart = 0;
  private recordEnd = 0;
  private index = 0;
  private readonly r: Reader;
  private readonly rr: Reader;

  constructor(
    readonly buf: Buffer,
    private readonly count: number,
    start = 0,
    end = buf.length,
  ) {
    this.r = new Reader(buf, start, end);
    this.rr = new Reader(buf, start, end);
    this.r.checkCount(count, 'records');
  }

  /** Moves to the next record; false after the last one (and the payload ended with it). */
  next(): boolean {
    const r = this.r;
    const i = this.index;
    if (i === this.count) {
      if (r.pos !== r.end) throw new DecodeError(`${r.end - r.pos} bytes left after ${this.count} records`);
      return false;
    }
    const length = r.varint();
    if (length < 0 || length > r.remaining) throw new DecodeError(`record ${i} has invalid length ${length}`);
    const recordEnd = r.pos + length;
    // One reader for every record's fields, bounded by the record: produce
    // validation walks every record of every uncompressed batch.
    const rr = this.rr;
    rr.reset(r.pos, recordEnd);
    this.attributes = rr.int8();
    this.timestampDelta = rr.varlong();
    this.offsetDelta = rr.varint();
    this.keyLength = nullableLength(rr, 'key');
    this.keyStart = rr.pos;
    if (this.keyLength > 0) rr.skip(this.keyLength);
    this.valueLength = nullableLength(rr, 'value');
    this.valueStart = rr.pos;
    if (this.valueLength > 0) rr.skip(this.valueLength);
    const headers = rr.varint();
    if (headers < 0) throw new DecodeError(`record ${i} has invalid header count ${headers}`);
    rr.checkCount(headers, 'headers');
    this.headerCount = headers;
    this.headersStart = rr.pos;
    for (let h = 0; h < headers; h++) {
      const keyLen = rr.varint();
      if (keyLen < 0) throw new DecodeError(`record ${i} has a null header key`);
      rr.skip(keyLen);
      skipNullableBytes(rr, 'header value');
    }
    if (rr.pos !== recordEnd) throw new DecodeError(`record ${i}: expected ${length} bytes of record payload, read ${rr.pos - (recordEnd - length)}`);
    r.pos = recordEnd;
    this.recordEnd = recordEnd;
    this.index = i + 1;
    return true;
  }

  key(): Buffer | null {
    return this.keyLength < 0 ? null : this.buf.subarray(this.keyStart, this.keyStart + this.keyLength);
  }

  value(): Buffer | null {
    return this.valueLength < 0 ? null : this.buf.subarray(this.valueStart, this.valueStart + this.valueLength);
  }

  headers(): RecordHeader[] {
    const rr = new Reader(this.buf, this.headersStart, this.recordEnd);
    const out: RecordHeader[] = [];
    // next() checked the structure already.
    for (let h = 0; h < this.headerCount; h++) out.push({ key: rr.utf8(rr.varint()), value: readNullableBytes(rr, 'header value') });
    return out;
  }

  /** The current record as an object, for the paths that are not per record. */
  record(): DecodedRecord {
    return { attributes: this.attributes, offsetDelta: this.offsetDelta, timestampDelta: this.timestampDelta, key: this.key(), value: this.value(), headers: this.headers() };
  }
}

function nullableLength(r: Reader, what: string): number {
  const n = r.varint();
  if (n < -1) throw new DecodeError(`invalid ${what} length ${n}`);
  return n;
}

function skipNullableBytes(r: Reader, what: string): void {
  const n = r.varint();
  if (n < -1) throw new DecodeError(`invalid ${what} length ${n}`);
  if (n > 0) r.skip(n);
}

function readNullableBytes(r: Reader, what: string): Buffer | null {
  const n = r.varint();
  if (n < -1) throw new DecodeError(`invalid ${what} length ${n}`);
  return n === -1 ? null : r.bytes(n);
}

export function decodeRecords(buf: Buffer, count: number): DecodedRecord[] {
  const cursor = new RecordCursor(buf, count);
  const out: DecodedRecord[] = [];
  while (cursor.next()) out.push(cursor.record());
  return out;
}

/** Encodes records (the payload of a batch, before compression). Used by tests, tools and the bench client. */
export function encodeRecords(
  records: readonly {
    offsetDelta: number;
    timestampDelta: number;
    key: Buffer | null;
    value: Buffer | null;
    headers?: readonly RecordHeader[];
  }[],
): Buffer {
  const out = new Writer(1024);
  for (const rec of records) {
    const body = new Writer(64 + (rec.value?.length ?? 0));
    body.int8(0);
    body.varlong(rec.timestampDelta);
    body.varint(rec.offsetDelta);
    writeNullable(body, rec.key);
    writeNullable(body, rec.value);
    const headers = rec.headers ?? [];
    body.varint(headers.length);
    for (const h of headers) {
      const k = Buffer.from(h.key, 'utf8');
      body.varint(k.length);
      body.raw(k);
      writeNullable(body, h.value);
    }
    const bytes = body.toBuffer();
    out.varint(bytes.length);
    out.raw(bytes);
  }
  return out.toBuffer();
}

function writeNullable(w: Writer, b: Buffer | null): void {
  if (b === null) {
    w.varint(-1);
    return;
  }
  w.varint(b.length);
  w.raw(b);
}
