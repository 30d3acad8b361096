#!/usr/bin/env node
// A local S3-compatible server for tests, benchmarks and trying Floe's S3 path
// without a cloud account: s3rver (a devDependency) on loopback.
//
//   node --openssl-legacy-provider scripts/s3-server.mjs [--dir DIR] [--port N] [--bucket NAME ...]
//
// Prints one JSON line {"port":N,"bucket":[...]} once it listens, and stops on
// SIGTERM/SIGINT, or (with S3_SERVER_EXIT_WITH_PARENT=1) when its stdin closes,
// so a killed test run leaves no server behind. s3rver needs the legacy
// OpenSSL provider: it encrypts ListObjectsV2 continuation tokens with DES.
//
// Known gaps of s3rver (checked here): it ignores If-None-Match, answers suffix
// ranges (bytes=-N) wrongly, and does not check x-amz-checksum-* headers. Floe
// uses none of the first two and verifies its own CRC32C on every read.
import S3rver from 's3rver';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
let dir;
let port = 0;
const buckets = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--dir') dir = args[++i];
  else if (a === '--port') port = Number(args[++i]);
  else if (a === '--bucket') buckets.push(args[++i]);
  else {
    process.stderr.write(`unknown argument ${a}\n`);
    process.exit(2);
  }
}
if (buckets.length === 0) buckets.push('floe');
dir ??= mkdtempSync(join(tmpdir(), 'floe-s3-'));
mkdirSync(dir, { recursive: true });

const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name })) });
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port, bucket: buckets, dir })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.S3_SERVER_EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
