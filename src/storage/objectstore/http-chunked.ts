// An HTTP/1.1 chunked body (RFC 9112 §7.1), decoded as its bytes arrive:
// sans-IO, so the direct client (direct-http.ts) feeds it whatever each read
// brought. Only small bodies are read this way: S3's error responses, which
// it often sends chunked, and a PUT's (empty) answer. A block's body is never
// chunked here: it must land in a block sized from its Content-Length.
//
// Written for hostile bytes: a size line is at most MAX_LINE bytes of hex
// digits (extensions after ';' skipped), the data is bounded by `maxBytes`,
// every chunk must end in CRLF, and trailer lines are bounded too.

/** A size line or a trailer line longer than this is not HTTP we take. */
const MAX_LINE = 4096;
/** Trailer fields after the last chunk, at most. */
const MAX_TRAILERS = 64;

/** The chunked framing is broken: the connection cannot be trusted. */
export class ChunkedFramingError extends Error {
  override readonly name = 'ChunkedFramingError';
}

/** The body is longer than the reader takes. */
export class ChunkedTooLongError extends Error {
  override readonly name = 'ChunkedTooLongError';
}

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

export class ChunkedBody {
  private state: State = 'size';
  /** The current size or trailer line, so far (without its CRLF). */
  private line = '';
  private left = 0;
  private trailers = 0;
  private readonly parts: Buffer[] = [];
  private length = 0;
  /** Bytes of the CRLF after a chunk's data seen so far. */
  private crlf = 0;

  constructor(private readonly maxBytes: number) {}

  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Takes the next bytes of the message; returns how many of them belong to
   * the body (all of them until the end is reached; any after it are the
   * next message's). The data is copied out: `bytes` may be reused.
   */
  push(bytes: Buffer): number {
    let at = 0;
    while (at < bytes.length && this.state !== 'done') {
      switch (this.state) {
        case 'size':
        case 'trailer': {
          const lf = bytes.indexOf(10, at);
          const end = lf < 0 ? bytes.length : lf;
          this.line += bytes.toString('latin1', at, end);
          if (this.line.length > MAX_LINE + 1) throw new ChunkedFramingError('chunk size or trailer line too long');
          at = lf < 0 ? bytes.length : lf + 1;
          if (lf >= 0) this.endLine();
          break;
        }
        case 'data': {
          const n = Math.min(this.left, bytes.length - at);
          this.parts.push(Buffer.from(bytes.subarray(at, at + n)));
          this.left -= n;
          at += n;
          if (this.left === 0) this.state = 'data-end';
          break;
        }
        case 'data-end': {
          if (bytes[at] !== (this.crlf === 0 ? 13 : 10)) throw new ChunkedFramingError('chunk data not followed by CRLF');
          at++;
          if (++this.crlf === 2) {
            this.crlf = 0;
            this.state = 'size';
          }
          break;
        }
      }
    }
    return at;
  }

  /** The body's bytes (once done). */
  body(): Buffer {
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.length);
  }

  private endLine(): void {
    if (!this.line.endsWith('\r')) throw new ChunkedFramingError('line not ended by CRLF');
    const line = this.line.slice(0, -1);
    this.line = '';
    if (this.state === 'trailer') {
      if (line === '') this.state = 'done';
      else if (++this.trailers > MAX_TRAILERS) throw new ChunkedFramingError('too many trailer fields');
      return;
    }
    const semi = line.indexOf(';');
    const hex = (semi < 0 ? line : line.slice(0, semi)).trimEnd();
    if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new ChunkedFramingError(`bad chunk size ${JSON.stringify(hex.slice(0, 20))}`);
    const size = Number.parseInt(hex, 16);
    if (size === 0) {
      this.state = 'trailer';
      return;
    }
    this.length += size;
    if (this.length > this.maxBytes) throw new ChunkedTooLongError(`chunked body over ${this.maxBytes} bytes`);
    this.left = size;
    this.state = 'data';
  }
}
