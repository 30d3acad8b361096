// Admin APIs: topics, partitions, configs, cluster, producer ids, leader epochs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  AlterConfigs,
  CreatePartitions,
  CreateTopics,
  DeleteTopics,
  DescribeCluster,
  DescribeConfigs,
  IncrementalAlterConfigs,
  InitProducerId,
  Metadata,
  OffsetForLeaderEpoch,
  Produce,
} from '../../src/protocol/messages/index.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';
import { buildBatch } from '../../src/protocol/records/builder.js';
import { capturingLogger, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: TestBroker;
let c: RawClient;
beforeAll(async () => {
  broker = await startTestBroker({ 'log.retention.ms': '3600000' });
  c = await RawClient.connect(broker.port);
});
afterAll(async () => {
  c.close();
  await broker.cleanup();
});

const create = (name: string, numPartitions = 1, configs: { name: string; value: string | null }[] = [], extra: { replicationFactor?: number; validateOnly?: boolean; version?: number } = {}) =>
  c.request(CreateTopics, extra.version ?? 7, { topics: [{ name, numPartitions, replicationFactor: extra.replicationFactor ?? 1, configs }], timeoutMs: 5000, validateOnly: extra.validateOnly ?? false }).then((r) => r.topics[0]);

describe('CreateTopics', () => {
  it('creates a topic and returns its id, partition count and configs (v7)', async () => {
    const r = await create('orders', 6, [{ name: 'retention.ms', value: '1000' }], { replicationFactor: 3 });
    expect(r).toMatchObject({ name: 'orders', errorCode: 0, numPartitions: 6, replicationFactor: 3 });
    expect(r.topicId).not.toBe(ZERO_UUID);
    expect(r.configs?.find((x) => x.name === 'retention.ms')).toEqual({ name: 'retention.ms', value: '1000', readOnly: false, configSource: 1, isSensitive: false });
    const m = await c.request(Metadata, 12, { topics: [{ name: 'orders' }] });
    expect(m.topics[0].topicId).toBe(r.topicId);
    expect(m.topics[0].partitions.map((p) => p.partitionIndex)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(m.topics[0].partitions[0]).toMatchObject({ leaderId: 1, replicaNodes: [1], isrNodes: [1] });
  });

  it('uses num.partitions and default.replication.factor for -1', async () => {
    const r = await create('defaults', -1, [], { replicationFactor: -1 });
    expect(r).toMatchObject({ errorCode: 0, numPartitions: 1, replicationFactor: 1 });
  });

  it('returns Kafka\'s error codes for each invalid creation', async () => {
    expect((await create('orders')).errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect((await create('bad/name')).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await create('x'.repeat(250))).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await create('zero', 0)).errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect((await create('norf', 1, [], { replicationFactor: 0 })).errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(await create('badcfg', 1, [{ name: 'retention.ms', value: 'soon' }])).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: expect.stringContaining('retention.ms') });
    expect((await create('unknowncfg', 1, [{ name: 'no.such.config', value: '1' }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
    await create('my.topic');
    expect((await create('my_topic')).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const dup = await c.request(CreateTopics, 7, { topics: [{ name: 'twice', numPartitions: 1, replicationFactor: 1 }, { name: 'twice', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
    expect(dup.topics.map((t) => t.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
  });

  it('validates without creating when validateOnly', async () => {
    expect(await create('dryrun', 3, [], { validateOnly: true })).toMatchObject({ errorCode: 0, numPartitions: 3 });
    expect(broker.context.topics.get('dryrun')).toBeUndefined();
  });

  it('answers v2 (lowest) too', async () => {
    expect(await create('oldclient', 2, [], { version: 2 })).toMatchObject({ name: 'oldclient', errorCode: 0 });
  });
});

describe('CreatePartitions and DeleteTopics', () => {
  it('grows a topic and produces to the new partition', async () => {
    await create('grow', 1);
    const r = await c.request(CreatePartitions, 3, { topics: [{ name: 'grow', count: 3, assignments: null }], timeoutMs: 1000, validateOnly: false });
    expect(r.results[0]).toEqual({ name: 'grow', errorCode: 0, errorMessage: null });
    const p = await c.request(Produce, 11, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'grow', partitionData: [{ index: 2, records: await buildBatch([{ value: 'x' }]) }] }] });
    expect(p.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const shrink = await c.request(CreatePartitions, 3, { topics: [{ name: 'grow', count: 2, assignments: null }], timeoutMs: 1000, validateOnly: false });
    expect(shrink.results[0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    const missing = await c.request(CreatePartitions, 0, { topics: [{ name: 'nope', count: 2, assignments: null }], timeoutMs: 1000, validateOnly: false });
    expect(missing.results[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('deletes by name (v1-v5) and by topic id (v6)', async () => {
    const a = await create('gone-by-name');
    const b = await create('gone-by-id');
    const byName = await c.request(DeleteTopics, 1, { topicNames: ['gone-by-name', 'never-was'], timeoutMs: 1000 });
    expect(byName.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ['gone-by-name', 0],
      ['never-was', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const byId = await c.request(DeleteTopics, 6, { topics: [{ name: null, topicId: b.topicId }, { name: null, topicId: a.topicId }], timeoutMs: 1000 });
    expect(byId.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ['gone-by-id', 0],
      [null, ErrorCode.UNKNOWN_TOPIC_ID],
    ]);
    const m = await c.request(Metadata, 12, { topics: [{ name: 'gone-by-id' }], allowAutoTopicCreation: false });
    expect(m.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('answers racing deletions and alterations of one topic as Kafka does, without a server error', async () => {
    const captured = capturingLogger();
    const b = await startTestBroker({}, undefined, captured.logger);
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(b.port)));
    for (let round = 0; round < 20; round++) {
      const name = `racy-${round}`;
      await clients[0].request(CreateTopics, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
      const [d1, d2, grow, alter] = await Promise.all([
        clients[0].request(DeleteTopics, 6, { topics: [{ name, topicId: ZERO_UUID }], timeoutMs: 1000 }),
        clients[1].request(DeleteTopics, 6, { topics: [{ name, topicId: ZERO_UUID }], timeoutMs: 1000 }),
        clients[2].request(CreatePartitions, 3, { topics: [{ name, count: 2, assignments: null }], timeoutMs: 1000, validateOnly: false }),
        clients[3].request(IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: name, configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }] }] }),
      ]);
      // exactly one deletion wins; the other finds no topic
      expect([d1.responses[0].errorCode, d2.responses[0].errorCode].sort()).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
      expect([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]).toContain(grow.results[0].errorCode);
      expect([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]).toContain(alter.responses[0].errorCode);
    }
    for (const cl of clients) cl.close();
    await b.cleanup();
    expect(captured.lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('refuses deletion when delete.topic.enable=false', async () => {
    const b = await startTestBroker({ 'delete.topic.enable': 'false' });
    const bc = await RawClient.connect(b.port);
    await bc.request(CreateTopics, 7, { topics: [{ name: 'keep', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 });
    const r = await bc.request(DeleteTopics, 6, { topics: [{ name: 'keep', topicId: ZERO_UUID }], timeoutMs: 1000 });
    expect(r.responses[0].errorCode).toBe(ErrorCode.TOPIC_DELETION_DISABLED);
    bc.close();
    await b.cleanup();
  });
});

describe('Metadata', () => {
  it('auto-creates on request, refuses when the client does not allow it, and looks up topic ids', async () => {
    const auto = await c.request(Metadata, 12, { topics: [{ name: 'made-by-metadata' }], allowAutoTopicCreation: true });
    expect(auto.topics[0]).toMatchObject({ errorCode: 0, name: 'made-by-metadata', isInternal: false });
    const refused = await c.request(Metadata, 12, { topics: [{ name: 'not-made' }], allowAutoTopicCreation: false });
    expect(refused.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const byId = await c.request(Metadata, 12, { topics: [{ name: null, topicId: auto.topics[0].topicId }] });
    expect(byId.topics[0].name).toBe('made-by-metadata');
    const unknownId = await c.request(Metadata, 12, { topics: [{ name: null, topicId: 'AAAAAAAAAAAAAAAAAAAABw' }] });
    expect(unknownId.topics[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null });
    const invalid = await c.request(Metadata, 12, { topics: [{ name: 'no spaces' }] });
    expect(invalid.topics[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const all = await c.request(Metadata, 1, { topics: null });
    expect(all.topics.map((t) => t.name)).toContain('made-by-metadata');
    const v0all = await c.request(Metadata, 0, { topics: [] });
    expect(v0all.topics.length).toBe(all.topics.length);
  });
});

describe('DescribeConfigs, AlterConfigs, IncrementalAlterConfigs', () => {
  const describeTopic = async (name: string, keys: string[] | null = null, synonyms = false) =>
    (await c.request(DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: name, configurationKeys: keys }], includeSynonyms: synonyms, includeDocumentation: true })).results[0];

  it('reports each config with its source: topic override, static broker setting, default', async () => {
    await create('described', 1, [{ name: 'cleanup.policy', value: 'compact' }]);
    const r = await describeTopic('described', null, true);
    expect(r.errorCode).toBe(0);
    const byName = new Map(r.configs.map((x) => [x.name, x]));
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'compact', configSource: 1 });
    expect(byName.get('retention.ms')).toMatchObject({ value: '3600000', configSource: 4 });
    expect(byName.get('retention.ms')!.synonyms).toEqual([
      { name: 'log.retention.ms', value: '3600000', source: 4 },
      { name: 'log.retention.ms', value: '604800000', source: 5 },
    ]);
    expect(byName.get('max.message.bytes')).toMatchObject({ value: '1048588', configSource: 5, configType: 3 });
    expect(byName.get('max.message.bytes')!.documentation).toContain('Largest record batch');
    expect((await describeTopic('described', ['segment.ms'])).configs.map((x) => x.name)).toEqual(['segment.ms']);
    expect((await describeTopic('nope')).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('describes the broker\'s static settings, read-only', async () => {
    const r = (await c.request(DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['log.retention.ms', 'num.partitions'] }] })).results[0];
    expect(r.configs).toEqual([
      expect.objectContaining({ name: 'log.retention.ms', value: '3600000', readOnly: true, configSource: 4 }),
      expect.objectContaining({ name: 'num.partitions', value: '1', readOnly: true, configSource: 5 }),
    ]);
    const other = (await c.request(DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '7', configurationKeys: null }] })).results[0];
    expect(other.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('sets and deletes topic overrides incrementally, and replaces them with AlterConfigs', async () => {
    await create('tuned');
    const inc = await c.request(IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: 2, resourceName: 'tuned', configs: [{ name: 'retention.ms', configOperation: 0, value: '5000' }, { name: 'cleanup.policy', configOperation: 2, value: 'compact' }] }],
    });
    expect(inc.responses[0].errorCode).toBe(0);
    let cfg = new Map((await describeTopic('tuned')).configs.map((x) => [x.name, x]));
    expect(cfg.get('retention.ms')).toMatchObject({ value: '5000', configSource: 1 });
    expect(cfg.get('cleanup.policy')).toMatchObject({ value: 'delete,compact', configSource: 1 });
    await c.request(IncrementalAlterConfigs, 0, { resources: [{ resourceType: 2, resourceName: 'tuned', configs: [{ name: 'retention.ms', configOperation: 1, value: null }] }] });
    cfg = new Map((await describeTopic('tuned')).configs.map((x) => [x.name, x]));
    expect(cfg.get('retention.ms')).toMatchObject({ value: '3600000', configSource: 4 });
    const bad = await c.request(IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'tuned', configs: [{ name: 'retention.ms', configOperation: 2, value: '1' }] }] });
    expect(bad.responses[0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const alter = await c.request(AlterConfigs, 2, { resources: [{ resourceType: 2, resourceName: 'tuned', configs: [{ name: 'segment.ms', value: '1000' }] }], validateOnly: false });
    expect(alter.responses[0].errorCode).toBe(0);
    cfg = new Map((await describeTopic('tuned')).configs.map((x) => [x.name, x]));
    expect(cfg.get('segment.ms')).toMatchObject({ value: '1000', configSource: 1 });
    expect(cfg.get('cleanup.policy')).toMatchObject({ value: 'delete', configSource: 5 }); // AlterConfigs replaced the overrides
    const broker1 = await c.request(IncrementalAlterConfigs, 1, { resources: [{ resourceType: 4, resourceName: '1', configs: [{ name: 'num.partitions', configOperation: 0, value: '3' }] }] });
    expect(broker1.responses[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('DescribeCluster, OffsetForLeaderEpoch, InitProducerId', () => {
  it('describes the cluster', async () => {
    const r = await c.request(DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    expect(r).toMatchObject({ errorCode: 0, clusterId: broker.context.clusterId, controllerId: 1, brokers: [{ brokerId: 1, host: '127.0.0.1', port: broker.port, rack: null }] });
    expect((await c.request(DescribeCluster, 1, { endpointType: 2 })).errorCode).toBe(ErrorCode.MISMATCHED_ENDPOINT_TYPE);
  });

  it('answers the end offset of a leader epoch', async () => {
    await create('lineage');
    for (let i = 0; i < 3; i++) {
      await c.request(Produce, 11, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'lineage', partitionData: [{ index: 0, records: await buildBatch([{ value: `${i}` }]) }] }] });
    }
    const epoch = broker.context.topics.get('lineage')!.partitions[0].stream.epoch;
    const r = await c.request(OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic: 'lineage', partitions: [{ partition: 0, currentLeaderEpoch: epoch, leaderEpoch: epoch }, { partition: 1, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] });
    expect(r.topics[0].partitions).toEqual([
      { errorCode: 0, partition: 0, leaderEpoch: epoch, endOffset: 3 },
      { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: 1, leaderEpoch: -1, endOffset: -1 },
    ]);
  });

  it('hands out distinct producer ids, and bumps the epoch of a transactional id', async () => {
    const a = await c.request(InitProducerId, 5, { transactionalId: null, transactionTimeoutMs: 60000 });
    const b = await c.request(InitProducerId, 0, { transactionalId: null, transactionTimeoutMs: 60000 });
    expect(a.errorCode).toBe(0);
    expect(b.producerId).not.toBe(a.producerId);
    const t1 = await c.request(InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 60000 });
    const t2 = await c.request(InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 60000 });
    expect([t2.producerId, t2.producerEpoch]).toEqual([t1.producerId, t1.producerEpoch + 1]);
    expect((await c.request(InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 0 })).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await c.request(InitProducerId, 4, { transactionalId: '', transactionTimeoutMs: 1000 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const fenced = await c.request(InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 1000, producerId: t1.producerId, producerEpoch: t1.producerEpoch });
    expect(fenced.errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  });
});
