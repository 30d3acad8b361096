// The operator's endpoint: Prometheus text at /metrics, liveness at /healthz,
// readiness at /readyz (ready once the Kafka listener accepts, not while
// shutting down), and JSON status routes (/table-topics). A few fixed GET
// routes, so node:http is enough here.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BrokerMetrics } from './metrics.js';

export class MetricsServer {
  private readonly server: Server;
  ready = false;

  constructor(
    private readonly metrics: BrokerMetrics,
    private readonly log: Logger,
    /** More GET routes answering JSON (e.g. /table-topics). */
    private readonly json: Readonly<Record<string, () => unknown>> = {},
  ) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        this.metrics.text().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
          (err: unknown) => {
            this.log.error({ err }, 'collecting metrics failed');
            res.writeHead(500).end();
          },
        );
      } else if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (Object.hasOwn(this.json, path)) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.json[path]()));
      } else if (path === '/readyz') {
        res.writeHead(this.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(this.ready ? 'ready\n' : 'not ready\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
    this.server.keepAliveTimeout = 5000;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.ready = false;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
