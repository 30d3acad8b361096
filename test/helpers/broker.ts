// Real brokers for tests: in-process (fast) or as a `floe start` child
// process (for kill -9 and the CLI). Both use a fresh data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { startBroker, type RunningBroker } from '../../src/broker/broker.js';
import { BrokerConfig } from '../../src/config/broker-config.js';
import { BROKER_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { recordSpawned } from './spawned.js';
import { tempDir } from './tmp.js';

/** bin/floe.js of the checkout: found upwards, so the benchmarks' compiled copy of this helper finds it too. */
export const FLOE_BIN = ((): string => {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const bin = new URL('bin/floe.js', dir);
    if (existsSync(bin)) return fileURLToPath(bin);
    if (dir.pathname === '/') throw new Error('bin/floe.js not found above test/helpers');
  }
})();

export interface TestBroker extends RunningBroker {
  readonly bootstrap: string;
  readonly dataDir: string;
  /** Stops the broker and removes its data directory. */
  cleanup(): Promise<void>;
}

export async function startTestBroker(overrides: Record<string, string> = {}, dataDir?: string, logger?: Logger): Promise<TestBroker> {
  const dir = dataDir === undefined ? tempDir() : { path: dataDir, cleanup: () => {} };
  const config = BrokerConfig.load({
    overrides: { 'data.dir': dir.path, listeners: 'PLAINTEXT://127.0.0.1:0', 'metrics.port': '0', 'schema.registry.port': '0', 'iceberg.catalog.port': '0', 'log.level': 'silent', ...overrides },
  });
  // FLOE_TEST_LOG=debug shows the in-process broker's log while debugging a test.
  const log = logger ?? (process.env.FLOE_TEST_LOG ? createLogger(process.env.FLOE_TEST_LOG) : silentLogger());
  const broker = await startBroker(config, log);
  return {
    ...broker,
    bootstrap: `127.0.0.1:${broker.port}`,
    dataDir: dir.path,
    async cleanup() {
      await broker.stop();
      dir.cleanup();
    },
  };
}

/**
 * A port below the kernel's ephemeral range that is free now. A port that
 * `listen(0)` hands out is in that range, where any outgoing connection of a
 * parallel test may take it before the broker binds it (seen: EADDRINUSE on
 * a restart); below the range, only another test's pick can, and
 * spawnBroker retries that.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const base = Math.max(1024, low - 20000);
  for (let tries = 0; ; tries++) {
    const port = base + Math.floor(Math.random() * (low - base));
    if (await canListen(port)) return port;
    if (tries === 100) throw new Error(`no free port in [${base}, ${low})`);
  }
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low > 2048) return [low, high];
  } catch {
    // not Linux: IANA's dynamic range
  }
  return [49152, 65535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface BrokerProcess {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly bootstrap: string;
  readonly output: () => string;
  /** The metrics endpoint's base URL, from the broker's start log line. */
  metricsUrl(): Promise<string>;
  /** The schema registry's base URL, from the broker's start log line. */
  registryUrl(): Promise<string>;
  /** The built-in Iceberg REST catalog's base URL. */
  readonly catalogUrl: string;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * How the child is started: `node` with the V8 flags of `npm start` (the
 * default), bin/floe.js run as an executable (its shebang), or bare `node`.
 */
export type Launch = 'flags' | 'shebang' | 'bare';

/** Starts `floe start` as a child process and waits until it listens. */
export async function spawnBroker(args: string[], opts: SpawnOptions = {}): Promise<BrokerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnOnce(args, opts);
    } catch (err) {
      // A port taken between our pick and the broker's bind: the ports we chose are chosen again; one the test named is waited for.
      if (!(err instanceof PortTaken) || attempt === 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

interface SpawnOptions {
  env?: Record<string, string>;
  port?: number;
  timeoutMs?: number;
  launch?: Launch;
}

class PortTaken extends Error {}

async function spawnOnce(args: string[], opts: SpawnOptions): Promise<BrokerProcess> {
  const port = opts.port ?? (await freePort());
  // A known registry port, so its URL does not depend on the log level.
  const registryPort = opts.env?.FLOE_SCHEMA_REGISTRY_PORT ?? String(await freePort());
  const catalogPort = opts.env?.FLOE_ICEBERG_CATALOG_PORT ?? String(await freePort());
  const startArgs = ['start', '--host', '127.0.0.1', '--port', String(port), ...args];
  const launch = opts.launch ?? 'flags';
  const [command, argv] =
    launch === 'shebang' ? [FLOE_BIN, startArgs] : [process.execPath, [...(launch === 'flags' ? BROKER_NODE_FLAGS : []), FLOE_BIN, ...startArgs]];
  const proc = spawn(command, argv, {
    // The metrics endpoint on a free port, so brokers of parallel tests never collide on 9464.
    env: { ...process.env, FLOE_LOG_LEVEL: 'info', FLOE_METRICS_PORT: '0', ...opts.env, FLOE_SCHEMA_REGISTRY_PORT: registryPort, FLOE_ICEBERG_CATALOG_PORT: catalogPort },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const running = () => proc.exitCode === null && proc.signalCode === null;
  recordSpawned(`broker pid ${proc.pid} on port ${port}`, () => out, running);
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // Ready once the broker's own socket listens on the port (whatever the log level).
  const deadline = Date.now() + (opts.timeoutMs ?? 20000);
  for (;;) {
    if (proc.exitCode !== null) {
      const message = `broker exited with ${proc.exitCode} before starting:\n${out}`;
      throw /EADDRINUSE/.test(out) ? new PortTaken(message) : new Error(message);
    }
    // Someone accepting there is not enough: a port taken after our pick would
    // accept for its holder while our broker fails to bind it.
    if (listensOn(proc.pid!, port) ?? (await canConnect(port))) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`broker did not start within ${opts.timeoutMs ?? 20000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  /** An endpoint named in the broker's start line, which may reach us a moment after the listener accepts. */
  const endpointOf = async (field: string): Promise<string> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const m = /"msg":"Floe broker started"/.test(out) ? new RegExp(`"${field}":"([^"]+)"`).exec(out) : null;
      if (m !== null) return `http://${m[1]}`;
      if (Date.now() > deadline) throw new Error(`no ${field} endpoint in the broker's start line:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    proc,
    port,
    bootstrap: `127.0.0.1:${port}`,
    output: () => out,
    metricsUrl: () => endpointOf('metrics'),
    registryUrl: async () => `http://127.0.0.1:${registryPort}`,
    catalogUrl: `http://127.0.0.1:${catalogPort}`,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!running()) return;
      proc.kill(signal);
      await exited;
    },
  };
}

/** A logger that keeps every line, so a test can assert the broker logged no error. */
export function capturingLogger(): { logger: Logger; lines: { level: number; msg: string; [k: string]: unknown }[] } {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/**
 * Whether process `pid` holds the listening socket on `port`, from Linux's
 * socket tables and the process's descriptors; null without /proc, where
 * only a connection can tell that something listens.
 */
function listensOn(pid: number, port: number): boolean | null {
  const inodes = new Set<string>();
  try {
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        // sl local_address rem_address st ... inode: the port is hex after the colon; 0A is LISTEN.
        const fields = line.trim().split(/\s+/);
        if (fields.length > 9 && fields[3] === '0A' && parseInt(fields[1].split(':')[1], 16) === port) inodes.add(fields[9]);
      }
    }
  } catch {
    return null;
  }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // exited
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null && inodes.has(m[1])) return true;
    } catch {
      // closed while we looked
    }
  }
  return false;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}
