// The Kafka listener: a TCP server that turns sockets into Connections.

import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type ConnectionOptions, type Dispatcher } from './connection.js';

export class KafkaServer {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  private nextId = 0;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly opts: ConnectionOptions,
    private readonly log: Logger,
  ) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      // Paused: a Connection switches its socket to reads into chosen buffers before reading.
      const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
        const id = `${socket.remoteAddress}:${socket.remotePort}-${this.nextId++}`;
        const conn = new Connection(id, socket, this.dispatcher, this.opts, this.log, (c) => this.connections.delete(c));
        this.connections.add(conn);
      });
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.error({ err }, 'listener error'));
        this.server = server;
        resolve(server.address() as AddressInfo);
      });
    });
  }

  private closed: Promise<void> | null = null;

  /**
   * Stops accepting connections; existing ones keep being served. (Node calls
   * back from server.close() only once every connection has ended, so the
   * wait happens in close().)
   */
  stopListening(): void {
    const server = this.server;
    this.server = null;
    if (server) this.closed = new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    this.stopListening();
    for (const c of this.connections) c.destroy();
    this.connections.clear();
    await this.closed;
  }
}
