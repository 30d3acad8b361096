// A minimal Kafka client over one socket, built on Floe's own codec, for
// tests that need exact requests (bad input, specific versions, error codes).
// It checks what the broker sent back, so it exercises the broker, not itself.
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/network/frame-decoder.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/frame.js';
import type { ApiSpec, Decoded, Encodable } from '../../src/protocol/spec.js';

export class RawClient {
  private readonly frames = new FrameDecoder(0x7fffffff);
  private waiters: ((frame: Buffer) => void)[] = [];
  private correlation = 1;
  closed = false;
  /** Response frames received, including those no request() waited for. */
  framesReceived = 0;
  private closeWaiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      for (const frame of this.frames.push(d)) {
        this.framesReceived++;
        this.waiters.shift()?.(frame);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.closeWaiters) w();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Resolves with the next response frame (without size). */
  nextFrame(timeoutMs = 10000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no response')), timeoutMs);
      this.waiters.push((f) => {
        clearTimeout(t);
        resolve(f);
      });
    });
  }

  waitClosed(timeoutMs = 10000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async request<A extends ApiSpec>(api: A, version: number, body: Encodable<A['request']>): Promise<Decoded<A['response']>> {
    const correlationId = this.correlation++;
    const frame = this.nextFrame();
    this.socket.write(encodeRequest(api, version, correlationId, 'raw-client', body));
    const res = decodeResponse(api, api.response, version, await frame);
    if (res.correlationId !== correlationId) throw new Error(`correlation id ${res.correlationId}, expected ${correlationId}`);
    return res.body as Decoded<A['response']>;
  }

  close(): void {
    this.socket.destroy();
  }
}
