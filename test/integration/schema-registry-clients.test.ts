// Unmodified Confluent-serializer clients against Floe's registry and broker:
// @kafkajs/confluent-schema-registry registers Avro, JSON Schema and Protobuf
// schemas and encodes records that kafkajs produces; a consumer reads them
// back and decodes them. Then broker-side validation
// (confluent.value.schema.validation) rejects records without a registered id.
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { CompressionTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Produce } from '../../src/protocol/messages/index.js';
import { Compression } from '../../src/protocol/records/batch.js';
import { buildBatch } from '../../src/protocol/records/builder.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { registerKafkajsCodecs } from '../helpers/kafkajs-codecs.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let registry: SchemaRegistry;

beforeAll(async () => {
  registerKafkajsCodecs();
  broker = await startTestBroker();
  kafka = new Kafka({ clientId: 'floe-sr-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 0 } });
  await producer.connect();
  registry = new SchemaRegistry({ host: `http://127.0.0.1:${broker.registryPort}` });
});
afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.cleanup();
});

/** Reads `count` messages of a topic from the beginning with a fresh group, decoding each value. */
async function consumeDecoded(topic: string, count: number): Promise<unknown[]> {
  const consumer = kafka.consumer({ groupId: `g-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: { offset: number; value: unknown }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        try {
          values.push({ offset: Number(message.offset), value: await registry.decode(message.value as Buffer) });
          if (values.length >= count) resolve();
        } catch (err) {
          reject(err);
        }
      },
    });
  });
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out with ${values.length}/${count}`)), 30000))]);
  await consumer.disconnect();
  return values.sort((a, b) => a.offset - b.offset).map((v) => v.value);
}

describe('@kafkajs/confluent-schema-registry with kafkajs', () => {
  test('Avro: register, produce encoded, evolve compatibly (accepted) and incompatibly (409), consume decoded', async () => {
    const topic = 'sr-users';
    const v1 = { type: 'record', name: 'User', namespace: 'com.example', fields: [{ name: 'id', type: 'long' }, { name: 'name', type: 'string' }] };
    const { id: id1 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject: `${topic}-value` });
    await producer.send({
      topic,
      compression: CompressionTypes.ZSTD,
      messages: [{ value: await registry.encode(id1, { id: 1, name: 'ada' }) }, { value: await registry.encode(id1, { id: 2, name: 'grace' }) }],
    });
    const v2 = { ...v1, fields: [...v1.fields, { name: 'email', type: ['null', 'string'], default: null }] };
    const { id: id2 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject: `${topic}-value` });
    expect(id2).not.toBe(id1);
    await producer.send({ topic, messages: [{ value: await registry.encode(id2, { id: 3, name: 'edsger', email: 'e@example.com' }) }] });

    const v3 = { ...v1, fields: [...v1.fields, { name: 'age', type: 'int' }] };
    const refused = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v3) }, { subject: `${topic}-value` }).then(
      () => null,
      (err: { status?: number; message: string }) => err,
    );
    expect(refused?.status).toBe(409);
    expect(refused?.message).toContain('incompatible');
    expect(await registry.getLatestSchemaId(`${topic}-value`)).toBe(id2);

    const decoded = await consumeDecoded(topic, 3);
    expect(decoded).toEqual([
      { id: 1, name: 'ada' },
      { id: 2, name: 'grace' },
      { id: 3, name: 'edsger', email: 'e@example.com' },
    ]);
  });

  test('JSON Schema: the client validates against the registered schema; records round-trip', async () => {
    const topic = 'sr-orders';
    const schema = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' } }, required: ['sku', 'qty'] };
    const { id } = await registry.register({ type: SchemaType.JSON, schema: JSON.stringify(schema) }, { subject: `${topic}-value` });
    await expect(registry.encode(id, { sku: 'x' })).rejects.toThrow();
    await producer.send({ topic, messages: [{ value: await registry.encode(id, { sku: 'a-1', qty: 2 }) }] });
    expect(await consumeDecoded(topic, 1)).toEqual([{ sku: 'a-1', qty: 2 }]);
    // An incompatible change under BACKWARD (a property added to an open content model) is refused.
    const changed = { ...schema, properties: { ...schema.properties, note: { type: 'string' } } };
    await expect(registry.register({ type: SchemaType.JSON, schema: JSON.stringify(changed) }, { subject: `${topic}-value` })).rejects.toMatchObject({ status: 409 });
  });

  test('Protobuf: register, encode, consume and decode', async () => {
    const topic = 'sr-events';
    const schema = 'syntax = "proto3";\npackage com.example;\nmessage Event {\n  string kind = 1;\n  int64 at = 2;\n}\n';
    const { id } = await registry.register({ type: SchemaType.PROTOBUF, schema }, { subject: `${topic}-value` });
    await producer.send({ topic, messages: [{ value: await registry.encode(id, { kind: 'click', at: 42 }) }] });
    const [decoded] = (await consumeDecoded(topic, 1)) as { kind: string; at: unknown }[];
    expect(decoded.kind).toBe('click');
    expect(Number(decoded.at)).toBe(42);
    const evolved = schema.replace('int64 at = 2;', 'int64 at = 2;\n  string source = 3;');
    expect((await registry.register({ type: SchemaType.PROTOBUF, schema: evolved }, { subject: `${topic}-value` })).id).toBeGreaterThan(id);
    const broken = schema.replace('int64 at = 2;', 'string at = 2;');
    await expect(registry.register({ type: SchemaType.PROTOBUF, schema: broken }, { subject: `${topic}-value` })).rejects.toMatchObject({ status: 409 });
  });
});

describe('broker-side schema validation', () => {
  test('confluent.value.schema.validation rejects records without an id registered under <topic>-value with INVALID_RECORD', async () => {
    const topic = 'sr-validated';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'confluent.value.schema.validation', value: 'true' }] }], waitForLeaders: true });
    const [described] = (await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['confluent.value.schema.validation'] }], includeSynonyms: false })).resources;
    expect(described.configEntries[0]).toMatchObject({ configName: 'confluent.value.schema.validation', configValue: 'true' });

    const schema = JSON.stringify({ type: 'record', name: 'Reading', fields: [{ name: 'v', type: 'double' }] });
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject: `${topic}-value` });
    // Registered only under another subject: not good enough for this topic.
    const { id: foreignId } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'Other', fields: [{ name: 'o', type: 'int' }] }) }, { subject: 'elsewhere-value' });

    await producer.send({ topic, messages: [{ value: await registry.encode(id, { v: 1.5 }) }] });
    await expect(producer.send({ topic, messages: [{ value: Buffer.from('{"v": 1.5}') }] })).rejects.toMatchObject({ type: 'INVALID_RECORD' });
    await expect(producer.send({ topic, messages: [{ value: await registry.encode(foreignId, { o: 1 }) }] })).rejects.toMatchObject({ type: 'INVALID_RECORD' });

    // The exact per-record errors, through a raw client; compressed batches are checked too.
    const raw = await RawClient.connect(broker.port);
    try {
      const good = await registry.encode(id, { v: 2.5 });
      const batch = await buildBatch([{ value: good }, { value: 'plain text' }, { value: null }, { value: Buffer.concat([Buffer.from([0]), Buffer.from([0, 0, 0x7f, 0x7f]), Buffer.from('x')]) }], { compression: Compression.GZIP });
      const res = await raw.request(Produce, 11, { acks: -1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
      const p = res.responses[0].partitionResponses[0];
      expect(p.errorCode).toBe(ErrorCode.INVALID_RECORD);
      expect(p.recordErrors).toEqual([
        { batchIndex: 1, batchIndexErrorMessage: 'record 1: value is not in the schema registry wire format (magic byte 0 and a 4-byte schema id)' },
        { batchIndex: 3, batchIndexErrorMessage: `record 3: value schema id ${0x7f7f} is not registered under subject ${topic}-value` },
      ]);
      expect(p.errorMessage).toContain('2 records of the batch failed schema validation');
      // A whole good batch (and a tombstone) goes in.
      const ok = await raw.request(Produce, 11, { acks: -1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: 0, records: await buildBatch([{ value: good }, { value: null }]) }] }] });
      expect(ok.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 1 });
    } finally {
      raw.close();
    }
    // Only the accepted records are in the log.
    const decoded = await consumeDecoded(topic, 2);
    expect(decoded[0]).toEqual({ v: 1.5 });
    expect(decoded[1]).toEqual({ v: 2.5 });

    // Operators see the refusals and the registry's traffic on /metrics.
    const text = await scrape(`http://127.0.0.1:${broker.metricsPort}`);
    expect(metricValue(text, 'floe_schema_validation_rejected_batches_total', { topic })).toBe(3);
    expect(metricValue(text, 'floe_schema_registry_requests_total', { method: 'POST', route: '/subjects/:subject/versions', status: '409' })).toBeGreaterThanOrEqual(3);

    // Turned off at run time, anything goes again.
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: [{ name: 'confluent.value.schema.validation', value: 'false' }] }] });
    await producer.send({ topic, messages: [{ value: Buffer.from('free text') }] });
  });
});
