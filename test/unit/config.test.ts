import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BrokerConfig, BROKER_CONFIGS, envName, parseListener, parseProperties } from '../../src/config/broker-config.js';
import { ConfigError } from '../../src/config/registry.js';
import { TOPIC_CONFIGS, validateTopicConfig } from '../../src/config/topic-config.js';
import { parseStartArgs } from '../../src/cli/main.js';
import { tempDir } from '../helpers/tmp.js';

describe('broker config', () => {
  it('applies defaults < file < environment < flags', () => {
    const dir = tempDir();
    const file = join(dir.path, 'server.properties');
    writeFileSync(file, '# comment\nnum.partitions=3\nlog.retention.ms = 1000\nauto.create.topics.enable: false\nlisteners=PLAINTEXT://127.0.0.1:9999\n');
    const warnings: string[] = [];
    const c = BrokerConfig.load({
      file,
      env: { FLOE_NUM_PARTITIONS: '5', FLOE_LOG_RETENTION_MS: '2000', FLOE_NOT_A_SETTING: 'x', PATH: '/bin' },
      overrides: { 'num.partitions': '7' },
      onWarning: (w) => warnings.push(w),
    });
    expect(c.int('num.partitions')).toBe(7);
    expect(c.source('num.partitions')).toBe('flag');
    expect(c.int('log.retention.ms')).toBe(2000);
    expect(c.source('log.retention.ms')).toBe('env');
    expect(c.bool('auto.create.topics.enable')).toBe(false);
    expect(c.source('auto.create.topics.enable')).toBe('file');
    expect(c.int('message.max.bytes')).toBe(1048588);
    expect(c.isExplicit('message.max.bytes')).toBe(false);
    expect(c.listener()).toEqual({ name: 'PLAINTEXT', host: '127.0.0.1', port: 9999 });
    expect(warnings).toEqual(["The environment variable 'FLOE_NOT_A_SETTING' does not name a Floe setting."]);
    dir.cleanup();
  });

  it('takes the write buffer\'s defaults from the object store, below anything given', () => {
    const fs = BrokerConfig.load();
    expect([fs.int('wal.flush.interval.ms'), fs.int('wal.flush.bytes')]).toEqual([5, 4 << 20]);
    const s3 = BrokerConfig.load({ overrides: { 'object.store': 's3' } });
    expect([s3.int('wal.flush.interval.ms'), s3.int('wal.flush.bytes')]).toEqual([250, 16 << 20]);
    expect(s3.isExplicit('wal.flush.interval.ms')).toBe(false);
    const s3Env = BrokerConfig.load({ env: { FLOE_OBJECT_STORE: 's3', FLOE_WAL_FLUSH_INTERVAL_MS: '20' } });
    expect([s3Env.int('wal.flush.interval.ms'), s3Env.int('wal.flush.bytes')]).toEqual([20, 16 << 20]);
    expect(s3Env.source('wal.flush.interval.ms')).toBe('env');
    const fsGiven = BrokerConfig.load({ overrides: { 'object.store': 'fs', 'wal.flush.bytes': '1024' } });
    expect([fsGiven.int('wal.flush.interval.ms'), fsGiven.int('wal.flush.bytes')]).toEqual([5, 1024]);
  });

  it('uses Kafka\'s defaults', () => {
    const c = BrokerConfig.load();
    expect(c.list('listeners')).toEqual(['PLAINTEXT://127.0.0.1:9092']);
    expect(c.int('num.partitions')).toBe(1);
    expect(c.bool('auto.create.topics.enable')).toBe(true);
    expect(c.int('log.retention.ms')).toBe(604800000);
    expect(c.int('socket.request.max.bytes')).toBe(104857600);
    expect(c.int('log.message.timestamp.after.max.ms')).toBe(3600000);
    expect(c.string('data.dir')).toBe('./data');
  });

  it('rejects invalid values with the setting named', () => {
    expect(() => BrokerConfig.load({ overrides: { 'num.partitions': 'many' } })).toThrow(/num.partitions/);
    expect(() => BrokerConfig.load({ overrides: { 'num.partitions': '0' } })).toThrow(ConfigError);
    expect(() => BrokerConfig.load({ overrides: { 'auto.create.topics.enable': 'yes' } })).toThrow(/true or false/);
    expect(() => BrokerConfig.load({ overrides: { listeners: 'localhost:9092' } })).toThrow(/NAME:\/\/host:port/);
    expect(() => parseListener('SSL://h:1')).toThrow(/PLAINTEXT/);
  });

  it('names every setting for the environment, and documents each one', () => {
    expect(envName('log.retention.ms')).toBe('FLOE_LOG_RETENTION_MS');
    for (const d of [...BROKER_CONFIGS, ...TOPIC_CONFIGS]) {
      expect(d.doc.length, d.name).toBeGreaterThan(10);
      expect(['int', 'long', 'double', 'boolean', 'string', 'list', 'password']).toContain(d.type);
    }
    // every topic setting's broker default is itself a broker setting
    for (const t of TOPIC_CONFIGS) expect(BROKER_CONFIGS.some((b) => b.name === t.brokerSynonym), t.name).toBe(true);
  });

  it('parses Java properties with continuations', () => {
    expect(parseProperties('a=1\n! c\nb : two \\\n  words\nc 3')).toEqual(
      new Map([
        ['a', '1'],
        ['b', 'two words'],
        ['c', '3'],
      ]),
    );
  });

  it('validates topic configs', () => {
    expect(validateTopicConfig('retention.ms', '-1')).toBe(-1);
    expect(validateTopicConfig('cleanup.policy', 'compact,delete')).toEqual(['compact', 'delete']);
    expect(() => validateTopicConfig('cleanup.policy', 'shred')).toThrow(ConfigError);
    expect(() => validateTopicConfig('message.timestamp.type', 'Now')).toThrow(ConfigError);
    expect(() => validateTopicConfig('retention.ms', '-2')).toThrow(ConfigError);
    expect(() => validateTopicConfig('nope', '1')).toThrow(/Unknown topic config/);
  });
});

describe('floe start arguments', () => {
  it('maps --host/--port onto listeners and collects overrides', () => {
    const a = parseStartArgs(['--data-dir', '/tmp/x', '--port', '19000', '--override', 'num.partitions=2', '--config', 'f.properties'], () => 'PLAINTEXT://127.0.0.1:9092');
    expect(a).toEqual({ configFile: 'f.properties', overrides: { 'data.dir': '/tmp/x', 'num.partitions': '2', listeners: 'PLAINTEXT://127.0.0.1:19000' } });
    expect(parseStartArgs(['--host', '0.0.0.0'], () => 'PLAINTEXT://127.0.0.1:9092').overrides.listeners).toBe('PLAINTEXT://0.0.0.0:9092');
    // --port keeps the host the config file gives, not the default's
    const fromFile = parseStartArgs(['--config', 'f.properties', '--port', '19001'], (file) => (file === 'f.properties' ? 'PLAINTEXT://10.1.2.3:9092' : 'PLAINTEXT://127.0.0.1:9092'));
    expect(fromFile.overrides.listeners).toBe('PLAINTEXT://10.1.2.3:19001');
    expect(() => parseStartArgs(['--bogus'], () => '')).toThrow(/unknown argument/);
    expect(() => parseStartArgs(['--override', 'novalue'], () => '')).toThrow(/key=value/);
  });
});

describe('README', () => {
  it('holds the configuration tables exactly as the registry generates them', async () => {
    const { readFileSync } = await import('node:fs');
    const { configMarkdown } = await import('../../src/cli/main.js');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configMarkdown());
  });
});
