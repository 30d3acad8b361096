// The table topic settings (AutoMQ's names) through an unmodified admin
// client: set at CreateTopics, changed with IncrementalAlterConfigs, shown by
// DescribeConfigs, and refused with INVALID_CONFIG when malformed.
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker;
let admin: Admin;
beforeAll(async () => {
  broker = await startTestBroker();
  admin = new Kafka({ clientId: 'floe-table-config', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
});
afterAll(async () => {
  await admin?.disconnect();
  await broker?.cleanup();
});

async function describe(topic: string): Promise<Map<string, string | null>> {
  const r = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
  return new Map(r.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
}

test('set at creation, altered, described; defaults shown for the rest', async () => {
  await admin.createTopics({
    topics: [
      {
        topic: 'tt-orders',
        configEntries: [
          { name: 'automq.table.topic.enable', value: 'true' },
          { name: 'automq.table.topic.commit.interval.ms', value: '2000' },
          { name: 'automq.table.topic.schema.type', value: 'schema' },
          { name: 'automq.table.topic.partition.by', value: '[bucket(name, 16), month(ts)]' },
        ],
      },
    ],
  });
  let c = await describe('tt-orders');
  expect(c.get('automq.table.topic.enable')).toBe('true');
  expect(c.get('automq.table.topic.commit.interval.ms')).toBe('2000');
  expect(c.get('automq.table.topic.schema.type')).toBe('schema');
  expect(c.get('automq.table.topic.partition.by')).toBe('[bucket(name, 16), month(ts)]');
  expect(c.get('automq.table.topic.errors.tolerance')).toBe('invalid_data');
  expect(c.get('automq.table.topic.expire.snapshot.retain.last')).toBe('1');

  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'tt-orders', configEntries: [{ name: 'automq.table.topic.enable', value: 'true' }, { name: 'automq.table.topic.errors.tolerance', value: 'none' }, { name: 'automq.table.topic.namespace', value: 'sales' }] }],
  });
  c = await describe('tt-orders');
  expect(c.get('automq.table.topic.errors.tolerance')).toBe('none');
  expect(c.get('automq.table.topic.namespace')).toBe('sales');
});

test.each([
  ['automq.table.topic.commit.interval.ms', '0'],
  ['automq.table.topic.commit.interval.ms', String(15 * 60 * 1000 + 1)],
  ['automq.table.topic.convert.value.type', 'xml'],
  ['automq.table.topic.transform.value.type', 'explode'],
  ['automq.table.topic.errors.tolerance', 'some'],
  ['automq.table.topic.partition.by', '[bucket(name)]'],
  ['automq.table.topic.partition.by', 'month(ts)'],
  ['automq.table.topic.schema.type', 'protobuf'],
])('refuses %s=%s with INVALID_CONFIG', async (name, value) => {
  await expect(admin.createTopics({ topics: [{ topic: `tt-bad-${name.length}-${value.length}`, configEntries: [{ name, value }] }] })).rejects.toMatchObject({
    errors: [expect.objectContaining({ type: 'INVALID_CONFIG' })],
  });
});
