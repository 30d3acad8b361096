import { createConnection, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { readIntoUserBuffers } from '../../../src/network/user-buffer.js';

describe('reads into chosen buffers on an accepted socket', () => {
  it('is available on this Node, reads every byte into the buffers given, and stops and resumes with pause()', async () => {
    const given = new Set<Buffer>();
    let received = Buffer.alloc(0);
    let reads = 0;
    let foreign = 0;
    let accepted!: Socket;
    let attached = false;
    const sent = Buffer.from(Array.from({ length: 1_000_000 }, (_, i) => (i * 7) & 0xff));
    const ended = new Promise<void>((resolve) => {
      const server = createServer({ pauseOnConnect: true }, (socket) => {
        accepted = socket;
        attached = readIntoUserBuffers(
          socket,
          () => {
            const b = Buffer.alloc(10_000 + given.size);
            given.add(b);
            return b;
          },
          (n, buf) => {
            if (!given.has(buf)) foreign++;
            received = Buffer.concat([received, buf.subarray(0, n)]);
            reads++;
            // Reading stops at half way until resumed.
            if (received.length >= sent.length / 2 && reads > 0 && !paused) {
              paused = true;
              socket.pause();
              setTimeout(() => {
                pausedAt = received.length;
                socket.resume();
              }, 100);
            }
            return true;
          },
        );
        socket.on('end', () => {
          socket.end();
          server.close(() => resolve());
        });
        socket.resume();
      });
      let paused = false;
      server.listen(0, '127.0.0.1', () => {
        const port = (server.address() as { port: number }).port;
        const client = createConnection(port, '127.0.0.1', () => client.end(sent));
      });
    });
    let pausedAt = -1;
    await ended;
    expect(attached).toBe(true);
    expect(foreign).toBe(0);
    expect(received.equals(sent)).toBe(true);
    // While paused nothing was read: reading resumed from where it stopped.
    expect(pausedAt).toBeGreaterThanOrEqual(sent.length / 2);
    expect(pausedAt).toBeLessThan(sent.length / 2 + 10_000 + given.size);
    expect(accepted.destroyed || accepted.readableEnded).toBe(true);
  });

  it('changes nothing on a socket that is already reading', async () => {
    await new Promise<void>((resolve) => {
      const server = createServer((socket) => {
        expect(readIntoUserBuffers(socket, () => Buffer.alloc(10), () => true)).toBe(false);
        socket.on('data', () => {});
        socket.on('end', () => {
          socket.end();
          server.close(() => resolve());
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const client = createConnection((server.address() as { port: number }).port, '127.0.0.1', () => client.end('x'));
      });
    });
  });
});
