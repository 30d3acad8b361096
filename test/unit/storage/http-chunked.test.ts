// The chunked-body decoder the direct S3 client reads small bodies with, fed
// well-formed and hostile bytes in every split.
import { describe, expect, it } from 'vitest';
import { ChunkedBody, ChunkedFramingError, ChunkedTooLongError } from '../../../src/storage/objectstore/http-chunked.js';

/** Feeds `message` in pieces of `step` bytes; the body and how many bytes of the message were the body's. */
function decode(message: Buffer, step: number, max = 1 << 20): { body: Buffer; used: number; done: boolean } {
  const chunked = new ChunkedBody(max);
  let used = 0;
  for (let at = 0; at < message.length && !chunked.done; at += step) {
    const piece = Buffer.from(message.subarray(at, at + step));
    used += chunked.push(piece);
    piece.fill(0x58); // the caller's buffer is reused: what was taken must have been copied
  }
  return { body: chunked.done ? chunked.body() : Buffer.alloc(0), used, done: chunked.done };
}

const XML = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

describe('chunked bodies', () => {
  const message = Buffer.from(`1a\r\n${XML.slice(0, 26)}\r\n${(XML.length - 26).toString(16).toUpperCase()};ext=1\r\n${XML.slice(26)}\r\n0\r\nx-amz-trailer: a\r\n\r\n`);

  it('decodes a body however its bytes are split, and stops at its end', () => {
    for (const step of [1, 2, 3, 7, 64, message.length]) {
      const withNext = Buffer.concat([message, Buffer.from('HTTP/1.1 200 OK\r\n')]);
      const got = decode(withNext, step);
      expect(got.done).toBe(true);
      expect(got.body.toString()).toBe(XML);
      expect(got.used).toBe(message.length);
    }
  });

  it('decodes an empty body', () => {
    const got = decode(Buffer.from('0\r\n\r\n'), 1);
    expect(got).toMatchObject({ done: true, used: 5 });
    expect(got.body.length).toBe(0);
  });

  it('waits for more while the body is incomplete', () => {
    for (let cut = 0; cut < message.length; cut++) expect(decode(message.subarray(0, cut), 5).done).toBe(false);
  });

  it('refuses broken framing', () => {
    for (const bad of [
      'zz\r\nab\r\n0\r\n\r\n', // not hex
      '\r\n', // no size
      '-1\r\nab\r\n0\r\n\r\n',
      '2\nab\r\n0\r\n\r\n', // bare LF
      '2\r\nabc\r\n0\r\n\r\n', // data longer than its size
      '2\r\nab\r0\r\n\r\n',
      '123456789\r\n', // a size over 8 hex digits
      `${'0'.repeat(5000)}1\r\n`, // a size line past MAX_LINE
      `0\r\n${'x-t: v\r\n'.repeat(65)}\r\n`, // too many trailers
      `0\r\n${'x'.repeat(5000)}\r\n\r\n`, // a trailer line past MAX_LINE
    ]) {
      expect(() => decode(Buffer.from(bad), 3), JSON.stringify(bad.slice(0, 30))).toThrow(ChunkedFramingError);
    }
  });

  it('refuses a body longer than it takes, from the size line on', () => {
    expect(() => decode(Buffer.from('10\r\n'), 64, 15)).toThrow(ChunkedTooLongError);
    expect(() => decode(Buffer.from('8\r\n12345678\r\n8\r\n'), 64, 15)).toThrow(ChunkedTooLongError);
    expect(decode(Buffer.from('8\r\n12345678\r\n7\r\n1234567\r\n0\r\n\r\n'), 64, 15).body.toString()).toBe('123456781234567');
  });
});
