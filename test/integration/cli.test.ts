// The floe command as a user runs it: settings from a properties file, the
// environment and flags, data in ./data by default, `floe config --help`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import { CreateTopics, DescribeConfigs, Produce } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/builder.js';
import { BROKER_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { FLOE_BIN, spawnBroker, type BrokerProcess, type Launch } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function spawnIn(cwd: string, args: string[], env: Record<string, string> = {}, launch?: Launch): Promise<BrokerProcess> {
  const old = process.cwd();
  process.chdir(cwd);
  try {
    const b = await spawnBroker(args, { env, launch });
    cleanups.push(() => b.kill('SIGKILL'));
    return b;
  } finally {
    process.chdir(old);
  }
}

describe('floe start', () => {
  it('takes settings from --config, FLOE_* and --override, in that order of precedence', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'server.properties');
    writeFileSync(file, 'num.partitions=3\nlog.retention.ms=1000\nauto.create.topics.enable=true\nnode.id=7\n');
    const b = await spawnIn(dir.path, ['--config', file, '--override', 'num.partitions=4'], { FLOE_LOG_RETENTION_MS: '2000', FLOE_AUTO_CREATE_TOPICS_ENABLE: 'false' });
    const c = await RawClient.connect(b.port);
    cleanups.push(() => c.close());
    const created = await c.request(CreateTopics, 7, { topics: [{ name: 'defaults', numPartitions: -1, replicationFactor: -1 }], timeoutMs: 1000 });
    expect(created.topics[0]).toMatchObject({ errorCode: 0, numPartitions: 4 });
    const produce = await c.request(Produce, 11, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'not-auto-created', partitionData: [{ index: 0, records: await buildBatch([{ value: 'x' }]) }] }] });
    expect(produce.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const cfg = await c.request(DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '7', configurationKeys: ['log.retention.ms', 'num.partitions', 'node.id'] }] });
    expect(cfg.results[0].configs.map((x) => [x.name, x.value, x.configSource])).toEqual([
      ['log.retention.ms', '2000', 4],
      ['node.id', '7', 4],
      ['num.partitions', '4', 4],
    ]);
    // data defaults to ./data under the working directory
    expect(existsSync(join(dir.path, 'data', 'metadata.db'))).toBe(true);
  });

  it('runs with the V8 flags of npm start as an executable, and says so when started without them', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const direct = await spawnIn(dir.path, ['--data-dir', join(dir.path, 'a')], {}, 'shebang');
    const cmdline = readFileSync(`/proc/${direct.proc.pid}/cmdline`, 'utf8').split('\0');
    for (const flag of BROKER_NODE_FLAGS) expect(cmdline).toContain(flag);
    const bare = await spawnIn(dir.path, ['--data-dir', join(dir.path, 'b')], {}, 'bare');
    await bare.metricsUrl(); // the start log line is out
    expect(bare.output()).toContain('started without the V8 flags of `npm start`');
    await direct.metricsUrl();
    expect(direct.output()).not.toContain('started without the V8 flags');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
    const compose = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
    for (const flag of BROKER_NODE_FLAGS) {
      expect(pkg.scripts.start).toContain(`node ${flag} bin/floe.js start`);
      expect(compose).toContain(`node ${flag} bin/floe.js start`);
    }
  });

  it('exits with a message naming a bad setting', () => {
    let out = '';
    try {
      execFileSync(process.execPath, [FLOE_BIN, 'start', '--override', 'num.partitions=zero'], { stdio: 'pipe' });
    } catch (err) {
      out = String((err as { stderr: Buffer }).stderr);
      expect((err as { status: number }).status).toBe(2);
    }
    expect(out).toContain('num.partitions');
  });
});

describe('floe config --help', () => {
  it('prints every setting with its type, default and environment variable', () => {
    const out = execFileSync(process.execPath, [FLOE_BIN, 'config', '--help']).toString();
    for (const name of ['listeners', 'advertised.listeners', 'node.id', 'num.partitions', 'auto.create.topics.enable', 'log.retention.ms', 'wal.flush.interval.ms', 'retention.ms', 'max.message.bytes']) {
      expect(out).toContain(`  ${name}\n`);
    }
    expect(out).toContain('env FLOE_LOG_RETENTION_MS');
    expect(out).toContain('default PLAINTEXT://127.0.0.1:9092');
  });
});
