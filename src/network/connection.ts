// One client connection: frames in, requests decoded, handed to the
// dispatcher, responses written back in request order.
//
// Kafka processes one request per connection at a time. Floe does the same,
// with one exception a handler can opt into: once a Produce request's batches
// have been given offsets and queued in the WAL, the handler releases the
// connection's ordering, so pipelined produce requests share one flush
// instead of waiting for one each. Responses still go out in request order.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { bufferPool } from '../memory/buffer-pool.js';
import { decodeRequest, UnanswerableRequestError, type DecodedRequest } from '../protocol/frame.js';
import { DecodeError } from '../protocol/primitives.js';
import { FrameDecoder, FrameTooLargeError } from './frame-decoder.js';
import { Outbox } from './outbox.js';
import { readIntoUserBuffers } from './user-buffer.js';

/**
 * Reads between frames go to chunks of this size (from the buffer pool): a frame that fits
 * is a view of its chunk, and a larger one is copied only as far as this
 * before the rest of it is read in place (FrameDecoder.readTarget); after a
 * frame larger than this, only the next one's first bytes are read into a
 * chunk (FrameDecoder.chunkReadBytes).
 */
const READ_CHUNK_BYTES = 16 * 1024;

/**
 * Frames up to this size are read in place once their size is known, so
 * their buffer is allocated before their bytes arrive: this much per
 * connection at most. Kafka producers send requests of up to
 * max.request.size, 1 MiB by default; larger frames are assembled from
 * chunks as they come.
 */
const DIRECT_READ_MAX_BYTES = 1024 * 1024;

/**
 * Responses go to the socket this many bytes per event-loop turn. One
 * write of a whole fetch response (up to fetch.max.bytes, 50 MiB) keeps
 * the event loop in the kernel's copy for as long as the client drains the
 * socket: on loopback, 9–16 ms stretches in a profile of a catch-up read,
 * while other connections' produce requests waited. Between slices the loop
 * polls, so they get in.
 */
const WRITE_SLICE_BYTES = 256 * 1024;

export interface RequestContext {
  readonly connectionId: string;
  readonly remoteAddress: string;
  /** Lets the next request on this connection start before this one completes. */
  releaseOrdering(): void;
  /** Closes the connection once this request's turn to respond comes (Kafka does this for failed acks=0 produces). */
  closeAfterResponse(): void;
  /**
   * Runs `fn` once this request's response is written to the socket (the
   * kernel has it, so none of its buffers are in use), or, for a request
   * without a response, once its handler is done. Never run if the
   * connection closes first: what it would release is then left to the
   * garbage collector.
   */
  afterResponse(fn: () => void): void;
  /**
   * The handler keeps nothing of the request's frame past its response but
   * what it retained in the buffer pool itself: the frame may be reused once
   * the response is written.
   */
  recycleFrame(): void;
}

export interface Dispatcher {
  /** Encoded response frame (size-prefixed, as buffers), or null when the request gets no response. */
  dispatch(request: DecodedRequest, ctx: RequestContext): Promise<Buffer[] | null>;
}

export interface ConnectionOptions {
  readonly maxFrameBytes: number;
  readonly maxInflightRequests: number;
  readonly idleTimeoutMs: number;
  /** Stop reading while this many response bytes wait in the socket. */
  readonly maxPendingWriteBytes: number;
}

interface ResponseSlot {
  done: boolean;
  response: Buffer[] | null;
  close: boolean;
  after: (() => void)[];
}

export class Connection {
  private readonly decoder: FrameDecoder;
  private readonly frames: Buffer[] = [];
  private readonly slots: ResponseSlot[] = [];
  private processing = false;
  private closed = false;
  private paused = false;
  /** Whether the socket's current read buffer is the decoder's readTarget (else a fresh chunk). */
  private readingTarget = false;
  /** Response parts not yet handed to the socket. */
  private readonly outbox = new Outbox();
  /** Whether a slice is being written or is due: the next one follows it. */
  private sending = false;
  private endWhenSent = false;

  constructor(
    readonly id: string,
    private readonly socket: Socket,
    private readonly dispatcher: Dispatcher,
    private readonly opts: ConnectionOptions,
    private readonly log: Logger,
    private readonly onClose: (c: Connection) => void,
  ) {
    // Frames come from the one pool the WAL, the caches and the handlers count their holds in.
    this.decoder = new FrameDecoder(opts.maxFrameBytes, DIRECT_READ_MAX_BYTES, bufferPool);
    socket.setNoDelay(true);
    if (opts.idleTimeoutMs > 0) socket.setTimeout(opts.idleTimeoutMs);
    // The server accepts sockets paused, so that they can be switched to reads into chosen buffers before the first byte.
    const direct = readIntoUserBuffers(
      socket,
      () => this.nextReadBuffer(),
      (n, buf) => this.onRead(n, buf),
    );
    if (!direct) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.close('idle timeout'));
    socket.on('error', (err) => this.log.debug({ conn: this.id, err: err.message }, 'socket error'));
    socket.on('close', () => {
      this.closed = true;
      this.onClose(this);
    });
    socket.on('drain', () => this.maybeResume());
    socket.resume();
  }

  /** The buffer the socket reads into next: the rest of a frame under way, or a fresh chunk. */
  private nextReadBuffer(): Buffer {
    const target = this.closed ? null : this.decoder.readTarget();
    this.readingTarget = target !== null;
    if (target !== null) return target;
    const chunk = bufferPool.allocate(READ_CHUNK_BYTES);
    // After a large frame, only the next one's first bytes: the rest is then read in place, not copied (FrameDecoder).
    const size = this.decoder.chunkReadBytes(READ_CHUNK_BYTES);
    return size < chunk.length ? chunk.subarray(0, size) : chunk;
  }

  /** n bytes read into the buffer nextReadBuffer gave; false stops reading. */
  private onRead(n: number, buf: Buffer): boolean {
    if (this.closed) return false;
    if (this.readingTarget) return this.accept(() => this.decoder.filled(n));
    return this.accept(() => this.decoder.push(buf.subarray(0, n)));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.accept(() => this.decoder.push(chunk));
  }

  /** Frames the decoder completed, queued for handling; false (and the connection closed) for an oversized frame. */
  private accept(decode: () => Buffer[]): boolean {
    let frames: Buffer[];
    try {
      frames = decode();
    } catch (err) {
      if (err instanceof FrameTooLargeError) {
        this.log.warn({ conn: this.id, remote: this.socket.remoteAddress, reason: err.message }, 'closing connection: oversized frame');
        this.close(err.message);
        return false;
      }
      throw err;
    }
    for (const f of frames) this.frames.push(f);
    this.maybePause();
    void this.pump();
    return true;
  }

  private maybePause(): void {
    const busy =
      this.frames.length + this.slots.length >= this.opts.maxInflightRequests ||
      this.pendingWriteBytes() >= this.opts.maxPendingWriteBytes;
    if (busy && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.closed) return;
    if (this.frames.length + this.slots.length < this.opts.maxInflightRequests && this.pendingWriteBytes() < this.opts.maxPendingWriteBytes) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private async pump(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed && this.frames.length > 0) {
        const frame = this.frames.shift() as Buffer;
        await this.handle(frame);
        this.maybeResume();
      }
    } finally {
      this.processing = false;
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    let request: DecodedRequest;
    try {
      request = decodeRequest(frame);
    } catch (err) {
      if (err instanceof DecodeError || err instanceof UnanswerableRequestError) {
        const header = err instanceof UnanswerableRequestError ? err.header : undefined;
        this.log.warn(
          { conn: this.id, remote: this.socket.remoteAddress, apiKey: header?.apiKey, apiVersion: header?.apiVersion, reason: err.message },
          'closing connection: request cannot be parsed or is not supported',
        );
        this.close(err.message);
        return;
      }
      throw err;
    }
    const slot: ResponseSlot = { done: false, response: null, close: false, after: [] };
    this.slots.push(slot);
    let recycled = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const ctx: RequestContext = {
      connectionId: this.id,
      remoteAddress: this.socket.remoteAddress ?? '',
      releaseOrdering: release,
      closeAfterResponse: () => {
        slot.close = true;
      },
      afterResponse: (fn) => {
        slot.after.push(fn);
      },
      recycleFrame: () => {
        if (recycled) return;
        recycled = true;
        slot.after.push(() => bufferPool.release(frame));
      },
    };
    const done = this.dispatcher.dispatch(request, ctx).then(
      (response) => {
        slot.response = response;
        slot.done = true;
        this.writeResponses();
      },
      (err: unknown) => {
        this.log.error({ conn: this.id, err, apiKey: request.header.apiKey, apiVersion: request.header.apiVersion }, 'request failed; closing connection');
        this.close('handler failure');
      },
    );
    await Promise.race([done, released]);
  }

  private pendingWriteBytes(): number {
    return this.socket.writableLength + this.outbox.bytes;
  }

  private writeResponses(): void {
    while (this.slots.length > 0 && this.slots[0].done) {
      const slot = this.slots.shift() as ResponseSlot;
      if (this.closed) return;
      if (slot.response !== null && slot.response.length > 0) {
        const after = slot.after;
        // Once the last part is written, every part is out of our hands.
        this.outbox.push(slot.response, after.length > 0 ? () => runAll(after) : null);
      } else {
        runAll(slot.after);
      }
      if (slot.close) {
        this.close('closed after an acks=0 produce error');
        return;
      }
    }
    this.scheduleSend();
    // Fewer requests in flight: with nothing to send (acks=0 produces answer nothing), reading resumes here, not after a send.
    if (!this.sending) this.maybeResume();
  }

  /**
   * Responses that complete in the same tick (every produce request a WAL
   * commit acknowledges) leave in one write, not one system call each: the
   * outbox is sent on the next tick.
   */
  private scheduleSend(): void {
    if (this.sending || this.outbox.length === 0) return;
    this.sending = true;
    process.nextTick(() => this.sendSlice());
  }

  /** Up to WRITE_SLICE_BYTES of the outbox in one writev; the rest after the socket has taken it and the loop has polled. */
  private sendSlice(): void {
    if (this.socket.destroyed) {
      this.sending = false;
      return;
    }
    const slice = this.outbox.take(WRITE_SLICE_BYTES);
    if (slice.length === 0) {
      this.sending = false;
      return;
    }
    const more = this.outbox.length > 0;
    this.socket.cork();
    for (let i = 0; i < slice.length - 1; i++) this.socket.write(slice[i].part, slice[i].done ?? undefined);
    const { part, done } = slice[slice.length - 1];
    // Write callbacks run in order, and also when the socket fails.
    this.socket.write(part, (err) => {
      done?.();
      if (!more) return;
      if (err) this.sending = false;
      // After the poll phase: other connections' requests get in between slices.
      else setImmediate(() => this.sendSlice());
    });
    this.socket.uncork();
    if (this.outbox.length === 0) {
      // Sent for now: a response that completes later starts a new send, after this one in the socket's order.
      this.sending = false;
      if (this.endWhenSent) this.endSocket();
      this.maybePause(); // a consumer that does not read its responses stops being read from
      this.maybeResume();
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug({ conn: this.id, reason }, 'connection closed');
    if (this.outbox.length > 0) {
      // Responses already queued (an acks=0 produce error's predecessors) still go out first, as socket.end() would let them.
      this.endWhenSent = true;
      this.scheduleSend();
    } else this.endSocket();
  }

  private endSocket(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

function runAll(fns: readonly (() => void)[]): void {
  for (const fn of fns) fn();
}
