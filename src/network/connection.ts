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
import { decodeRequest, UnanswerableRequestError, type DecodedRequest } from '../protocol/frame.js';
import { DecodeError } from '../protocol/primitives.js';
import { FrameDecoder, FrameTooLargeError } from './frame-decoder.js';

export interface RequestContext {
  readonly connectionId: string;
  readonly remoteAddress: string;
  /** Lets the next request on this connection start before this one completes. */
  releaseOrdering(): void;
  /** Closes the connection once this request's turn to respond comes (Kafka does this for failed acks=0 produces). */
  closeAfterResponse(): void;
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
}

export class Connection {
  private readonly decoder: FrameDecoder;
  private readonly frames: Buffer[] = [];
  private readonly slots: ResponseSlot[] = [];
  private processing = false;
  private closed = false;
  private paused = false;

  constructor(
    readonly id: string,
    private readonly socket: Socket,
    private readonly dispatcher: Dispatcher,
    private readonly opts: ConnectionOptions,
    private readonly log: Logger,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
    socket.setNoDelay(true);
    if (opts.idleTimeoutMs > 0) socket.setTimeout(opts.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.close('idle timeout'));
    socket.on('error', (err) => this.log.debug({ conn: this.id, err: err.message }, 'socket error'));
    socket.on('close', () => {
      this.closed = true;
      this.onClose(this);
    });
    socket.on('drain', () => this.maybeResume());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      if (err instanceof FrameTooLargeError) {
        this.log.warn({ conn: this.id, remote: this.socket.remoteAddress, reason: err.message }, 'closing connection: oversized frame');
        this.close(err.message);
        return;
      }
      throw err;
    }
    for (const f of frames) this.frames.push(f);
    this.maybePause();
    void this.pump();
  }

  private maybePause(): void {
    const busy =
      this.frames.length + this.slots.length >= this.opts.maxInflightRequests ||
      this.socket.writableLength >= this.opts.maxPendingWriteBytes;
    if (busy && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.closed) return;
    if (this.frames.length + this.slots.length < this.opts.maxInflightRequests && this.socket.writableLength < this.opts.maxPendingWriteBytes) {
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
    const slot: ResponseSlot = { done: false, response: null, close: false };
    this.slots.push(slot);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const ctx: RequestContext = {
      connectionId: this.id,
      remoteAddress: this.socket.remoteAddress ?? '',
      releaseOrdering: release,
      closeAfterResponse: () => {
        slot.close = true;
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

  private writeResponses(): void {
    while (this.slots.length > 0 && this.slots[0].done) {
      const slot = this.slots.shift() as ResponseSlot;
      if (this.closed) return;
      if (slot.response !== null) {
        this.socket.cork();
        for (const b of slot.response) this.socket.write(b);
        this.socket.uncork();
        this.maybePause(); // a consumer that does not read its responses stops being read from
      }
      if (slot.close) {
        this.close('closed after an acks=0 produce error');
        return;
      }
    }
    if (this.socket.writableLength < this.opts.maxPendingWriteBytes) this.maybeResume();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug({ conn: this.id, reason }, 'connection closed');
    this.socket.end();
    this.socket.destroySoon();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
