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
// Two readers: `scanRecords` walks the structure for validation without
// allocating per record; `decodeRecords` returns full records for the few
// paths that need their contents (timestamp lookups, table conversion).

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

/** Calls `visit(offsetDelta, timestampDelta, index)` for each record; throws DecodeError on bad structure. */
export function scanRecords(
  buf: Buffer,
  start: number,
  end: number,
  count: number,
  visit: (offsetDelta: number, timestampDelta: number, index: number) => void,
): void {
  const r = new Reader(buf, start, end);
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    if (length < 0 || length > r.remaining) throw new DecodeError(`record ${i} has invalid length ${length}`);
    const recordEnd = r.pos + length;
    const rr = new Reader(buf, r.pos, recordEnd);
    rr.int8();
    const timestampDelta = rr.varlong();
    const offsetDelta = rr.varint();
    skipNullableBytes(rr, 'key');
    skipNullableBytes(rr, 'value');
    const headers = rr.varint();
    if (headers < 0) throw new DecodeError(`record ${i} has invalid header count ${headers}`);
    rr.checkCount(headers, 'headers');
    for (let h = 0; h < headers; h++) {
      const keyLen = rr.varint();
      if (keyLen < 0) throw new DecodeError(`record ${i} has a null header key`);
      rr.skip(keyLen);
      skipNullableBytes(rr, 'header value');
    }
    if (rr.pos !== recordEnd) {
      throw new DecodeError(`record ${i}: expected ${length} bytes of record payload, read ${rr.pos - (recordEnd - length)}`);
    }
    r.pos = recordEnd;
    visit(offsetDelta, timestampDelta, i);
  }
  if (r.pos !== end) throw new DecodeError(`${end - r.pos} bytes left after ${count} records`);
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
  const r = new Reader(buf);
  r.checkCount(count, 'records');
  const out: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    if (length < 0 || length > r.remaining) throw new DecodeError(`record ${i} has invalid length ${length}`);
    const rr = r.sub(length);
    const attributes = rr.int8();
    const timestampDelta = rr.varlong();
    const offsetDelta = rr.varint();
    const key = readNullableBytes(rr, 'key');
    const value = readNullableBytes(rr, 'value');
    const n = rr.varint();
    if (n < 0) throw new DecodeError(`record ${i} has invalid header count ${n}`);
    rr.checkCount(n, 'headers');
    const headers: RecordHeader[] = [];
    for (let h = 0; h < n; h++) {
      const keyLen = rr.varint();
      if (keyLen < 0) throw new DecodeError(`record ${i} has a null header key`);
      headers.push({ key: rr.utf8(keyLen), value: readNullableBytes(rr, 'header value') });
    }
    out.push({ attributes, offsetDelta, timestampDelta, key, value, headers });
  }
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
