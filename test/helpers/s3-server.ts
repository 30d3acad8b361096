// A real S3-compatible HTTP server for tests and benchmarks: s3rver, from the
// project's devDependencies, as its own process (it needs node's legacy
// OpenSSL provider, which the test process should not run with).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

// From test/helpers (vitest) or dist-bench/test/helpers (the benchmarks).
const SCRIPT = [new URL('../../scripts/s3-server.mjs', import.meta.url), new URL('../../../scripts/s3-server.mjs', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p)) as string;

export interface S3TestServer {
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  /** Broker settings that point at this server (path style, its static keys). */
  brokerOverrides(prefix?: string): Record<string, string>;
  stop(): Promise<void>;
}

/** s3rver's fixed development credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export async function startS3Server(bucket = 'floe'): Promise<S3TestServer> {
  const dir = tempDir();
  const proc: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', SCRIPT, '--dir', dir.path, '--bucket', bucket], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, S3_SERVER_EXIT_WITH_PARENT: '1' },
  });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3 server did not start:\n${err}`)), 15000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3 server exited with ${code}:\n${err}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    bucket,
    brokerOverrides: (prefix = '') => ({
      'object.store': 's3',
      's3.endpoint': endpoint,
      's3.bucket': bucket,
      's3.prefix': prefix,
      's3.path.style': 'true',
      's3.access.key': S3RVER_CREDENTIALS.accessKeyId,
      's3.secret.key': S3RVER_CREDENTIALS.secretAccessKey,
    }),
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      dir.cleanup();
    },
  };
}
