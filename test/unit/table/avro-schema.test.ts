// Avro to Iceberg types, per the Iceberg spec's Avro mapping, with field ids
// assigned in Iceberg's order.
import { describe, expect, test } from 'vitest';
import { avroToIceberg } from '../../../src/table/convert/avro-schema.js';
import { schemaLayout } from '../../../src/table/convert/layout.js';

const rec = (fields: unknown[], name = 'R') => JSON.stringify({ type: 'record', name, namespace: 'ex', fields });
const fieldType = (avroType: unknown) => avroToIceberg(rec([{ name: 'f', type: avroType }])).struct.fields[0];

describe('Avro to Iceberg', () => {
  test.each([
    ['boolean', 'boolean'],
    ['int', 'int'],
    ['long', 'long'],
    ['float', 'float'],
    ['double', 'double'],
    ['bytes', 'binary'],
    ['string', 'string'],
    [{ type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 }, 'decimal(9, 2)'],
    [{ type: 'fixed', name: 'D', size: 16, logicalType: 'decimal', precision: 38, scale: 10 }, 'decimal(38, 10)'],
    [{ type: 'int', logicalType: 'date' }, 'date'],
    [{ type: 'int', logicalType: 'time-millis' }, 'time'],
    [{ type: 'long', logicalType: 'time-micros' }, 'time'],
    [{ type: 'long', logicalType: 'timestamp-millis' }, 'timestamptz'],
    [{ type: 'long', logicalType: 'timestamp-micros' }, 'timestamptz'],
    [{ type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false }, 'timestamp'],
    [{ type: 'long', logicalType: 'local-timestamp-millis' }, 'timestamp'],
    [{ type: 'long', logicalType: 'local-timestamp-micros' }, 'timestamp'],
    [{ type: 'string', logicalType: 'uuid' }, 'uuid'],
    [{ type: 'fixed', name: 'U', size: 16, logicalType: 'uuid' }, 'uuid'],
    [{ type: 'fixed', name: 'F4', size: 4 }, 'fixed[4]'],
    [{ type: 'enum', name: 'Color', symbols: ['RED'] }, 'string'],
    [{ type: 'long', logicalType: 'something-else' }, 'long'],
  ])('%j -> %s', (avro, iceberg) => {
    expect(fieldType(avro)).toEqual({ id: 1, name: 'f', required: true, type: iceberg });
  });

  test('[null, T] is an optional T; other unions are a struct of optional branches with a tag', () => {
    expect(fieldType(['null', 'string'])).toEqual({ id: 1, name: 'f', required: false, type: 'string' });
    expect(fieldType(['string', 'null'])).toMatchObject({ required: false, type: 'string' });
    // With a null branch the union's struct may itself be null.
    expect(fieldType(['null', 'int', 'string'])).toEqual({
      id: 1,
      name: 'f',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 2, name: 'tag', required: true, type: 'int' },
          { id: 3, name: 'field0', required: false, type: 'int' },
          { id: 4, name: 'field1', required: false, type: 'string' },
        ],
      },
    });
    expect(fieldType(['int', 'string'])).toMatchObject({ required: true, type: { type: 'struct' } });
  });

  test('ids in Iceberg\'s order: a struct\'s fields first, then nested types', () => {
    const { struct, lastId } = avroToIceberg(
      rec([
        { name: 'a', type: 'int' },
        { name: 'b', type: { type: 'record', name: 'B', fields: [{ name: 'c', type: 'string', doc: 'see' }] } },
        { name: 'd', type: { type: 'array', items: ['null', 'long'] } },
        { name: 'e', type: { type: 'map', values: 'int' } },
        { name: 'g', type: 'B' },
      ]),
    );
    expect(struct.fields.map((f) => [f.name, f.id])).toEqual([
      ['a', 1],
      ['b', 2],
      ['d', 3],
      ['e', 4],
      ['g', 5],
    ]);
    expect(struct.fields[1].type).toEqual({ type: 'struct', fields: [{ id: 6, name: 'c', required: true, type: 'string', doc: 'see' }] });
    expect(struct.fields[2].type).toEqual({ type: 'list', 'element-id': 7, element: 'long', 'element-required': false });
    expect(struct.fields[3].type).toEqual({ type: 'map', 'key-id': 8, key: 'string', 'value-id': 9, value: 'int', 'value-required': true });
    // A second use of a named record gets its own ids.
    expect(struct.fields[4].type).toEqual({ type: 'struct', fields: [{ id: 10, name: 'c', required: true, type: 'string', doc: 'see' }] });
    expect(lastId).toBe(10);
  });

  test('named types from references; a non-record value becomes one column; recursion is refused', () => {
    const address = JSON.stringify({ type: 'record', name: 'Address', namespace: 'ex', fields: [{ name: 'city', type: 'string' }] });
    const { struct } = avroToIceberg(rec([{ name: 'home', type: 'ex.Address' }]), [address]);
    expect(struct.fields[0]).toEqual({ id: 1, name: 'home', required: true, type: { type: 'struct', fields: [{ id: 2, name: 'city', required: true, type: 'string' }] } });
    expect(avroToIceberg('"string"').struct).toEqual({ type: 'struct', fields: [{ id: 1, name: 'value', required: true, type: 'string' }] });
    expect(() => avroToIceberg(rec([{ name: 'next', type: ['null', 'R'] }]))).toThrow(/recursive/);
  });

  test('a record with no fields is refused below the top level, where Parquet would need an empty group', () => {
    const empty = { type: 'record', name: 'Empty', fields: [] };
    expect(() => avroToIceberg(rec([{ name: 'e', type: empty }]))).toThrow(/e is a record with no fields/);
    expect(() => avroToIceberg(rec([{ name: 'xs', type: { type: 'array', items: empty } }]))).toThrow(/xs.element is a record with no fields/);
    expect(() => avroToIceberg(rec([{ name: 'm', type: { type: 'map', values: ['null', empty] } }]))).toThrow(/m.value is a record with no fields/);
    // The top-level record's fields are the columns: an empty one only leaves the Kafka columns when flattened, and is refused nested in _kafka_value.
    const top = avroToIceberg(JSON.stringify(empty)).struct;
    expect(schemaLayout(top, { valueType: 'by_schema_id', keyType: 'string', flatten: true }).fields.map((f) => f.name)).toEqual(['_kafka_key', '_kafka_header', '_kafka_metadata']);
    expect(() => schemaLayout(top, { valueType: 'by_schema_id', keyType: 'string', flatten: false })).toThrow(/_kafka_value is a record with no fields/);
  });
});
