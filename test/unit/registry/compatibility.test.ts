// Compatibility rules of the three formats. Avro's are cross-checked against
// avsc's own resolver (an independent implementation of the spec's
// schema-resolution rules): for every pair, "we say readable" must equal
// "avsc can build a resolver".
import avro from 'avsc';
import { describe, expect, test } from 'vitest';
import { FORMATS } from '../../../src/registry/formats/index.js';

const avroRead = (reader: unknown, writer: unknown) => FORMATS.AVRO.readErrors(FORMATS.AVRO.parse(JSON.stringify(reader), []), FORMATS.AVRO.parse(JSON.stringify(writer), []));

function avscCanRead(reader: unknown, writer: unknown): boolean {
  try {
    avro.Type.forSchema(reader as avro.Schema).createResolver(avro.Type.forSchema(writer as avro.Schema));
    return true;
  } catch {
    return false;
  }
}

const rec = (fields: unknown[], name = 'User', extra: Record<string, unknown> = {}) => ({ type: 'record', name, namespace: 'ex', fields, ...extra });
const enumOf = (symbols: string[], extra: Record<string, unknown> = {}) => ({ type: 'enum', name: 'Color', symbols, ...extra });

/** [label, reader, writer, readable] */
const AVRO_CASES: [string, unknown, unknown, boolean][] = [
  ['same primitive', 'int', 'int', true],
  ['int promoted to long', 'long', 'int', true],
  ['int promoted to double', 'double', 'int', true],
  ['long not readable as int', 'int', 'long', false],
  ['float promoted to double', 'double', 'float', true],
  ['double not readable as float', 'float', 'double', false],
  ['string read as bytes', 'bytes', 'string', true],
  ['bytes read as string', 'string', 'bytes', true],
  ['string not readable as int', 'int', 'string', false],
  ['field added with default', rec([{ name: 'a', type: 'int' }, { name: 'b', type: 'string', default: 'x' }]), rec([{ name: 'a', type: 'int' }]), true],
  ['field added without default', rec([{ name: 'a', type: 'int' }, { name: 'b', type: 'string' }]), rec([{ name: 'a', type: 'int' }]), false],
  ['field removed', rec([{ name: 'a', type: 'int' }]), rec([{ name: 'a', type: 'int' }, { name: 'b', type: 'string' }]), true],
  ['field type promoted', rec([{ name: 'a', type: 'long' }]), rec([{ name: 'a', type: 'int' }]), true],
  ['field type narrowed', rec([{ name: 'a', type: 'int' }]), rec([{ name: 'a', type: 'long' }]), false],
  ['field renamed with alias', rec([{ name: 'b', type: 'int', aliases: ['a'] }]), rec([{ name: 'a', type: 'int' }]), true],
  ['record renamed', rec([{ name: 'a', type: 'int' }], 'Person'), rec([{ name: 'a', type: 'int' }]), false],
  ['record renamed with alias', rec([{ name: 'a', type: 'int' }], 'Person', { aliases: ['ex.User'] }), rec([{ name: 'a', type: 'int' }]), true],
  ['enum symbol added', enumOf(['RED', 'GREEN', 'BLUE']), enumOf(['RED', 'GREEN']), true],
  ['enum symbol removed', enumOf(['RED']), enumOf(['RED', 'GREEN']), false],
  ['enum symbol removed, reader default', enumOf(['RED', 'OTHER'], { default: 'OTHER' }), enumOf(['RED', 'GREEN']), true],
  ['fixed same size', { type: 'fixed', name: 'F', size: 4 }, { type: 'fixed', name: 'F', size: 4 }, true],
  ['fixed size changed', { type: 'fixed', name: 'F', size: 8 }, { type: 'fixed', name: 'F', size: 4 }, false],
  ['array items promoted', { type: 'array', items: 'long' }, { type: 'array', items: 'int' }, true],
  ['array items narrowed', { type: 'array', items: 'int' }, { type: 'array', items: 'long' }, false],
  ['map values narrowed', { type: 'map', values: 'int' }, { type: 'map', values: 'string' }, false],
  ['optional widened to union', ['null', 'string', 'int'], ['null', 'string'], true],
  ['union branch dropped', ['null', 'string'], ['null', 'string', 'int'], false],
  ['non-union read by union', ['null', 'string'], 'string', true],
  ['union read by non-union', 'string', ['null', 'string'], false],
  ['union of promotable read by long', 'long', ['int', 'long'], true],
  ['nested record field added with default', rec([{ name: 'addr', type: rec([{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'string'], default: null }], 'Address') }]), rec([{ name: 'addr', type: rec([{ name: 'city', type: 'string' }], 'Address') }]), true],
  ['nested record field added without default', rec([{ name: 'addr', type: rec([{ name: 'city', type: 'string' }, { name: 'zip', type: 'string' }], 'Address') }]), rec([{ name: 'addr', type: rec([{ name: 'city', type: 'string' }], 'Address') }]), false],
  ['recursive list, value promoted', rec([{ name: 'v', type: 'long' }, { name: 'next', type: ['null', 'Node'], default: null }], 'Node'), rec([{ name: 'v', type: 'int' }, { name: 'next', type: ['null', 'Node'], default: null }], 'Node'), true],
  ['recursive list, value narrowed', rec([{ name: 'v', type: 'int' }, { name: 'next', type: ['null', 'Node'], default: null }], 'Node'), rec([{ name: 'v', type: 'long' }, { name: 'next', type: ['null', 'Node'], default: null }], 'Node'), false],
];

describe('Avro schema resolution', () => {
  test.each(AVRO_CASES)('%s', (_label, reader, writer, readable) => {
    const errors = avroRead(reader, writer);
    expect(errors.length === 0).toBe(readable);
    // The independent resolver agrees.
    expect(avscCanRead(reader, writer)).toBe(readable);
  });

  test('a missing default is reported with its field and path, as Confluent reports it', () => {
    const errors = avroRead(rec([{ name: 'a', type: 'int' }, { name: 'b', type: 'string' }]), rec([{ name: 'a', type: 'int' }]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'");
    expect(errors[0]).toContain("additionalInfo:'b'");
    expect(errors[0]).toContain('/fields/1');
  });

  test('canonical text: whitespace and {"type":"string"} do not change a schema\'s identity', () => {
    const a = FORMATS.AVRO.parse('{"type": "record", "name": "U", "fields": [ {"name": "a", "type": {"type": "string"}} ]}', []);
    const b = FORMATS.AVRO.parse('{"type":"record","name":"U","fields":[{"name":"a","type":"string"}]}', []);
    expect(a.canonical(false)).toBe(b.canonical(false));
    expect(a.canonical(false)).toBe('{"type":"record","name":"U","fields":[{"name":"a","type":"string"}]}');
    // normalize=true also qualifies names and orders attributes.
    const c = FORMATS.AVRO.parse('{"namespace":"ex","fields":[{"type":"int","name":"a"}],"name":"U","type":"record"}', []);
    const d = FORMATS.AVRO.parse('{"type":"record","name":"ex.U","fields":[{"name":"a","type":"int"}]}', []);
    expect(c.canonical(false)).not.toBe(d.canonical(false));
    expect(c.canonical(true)).toBe(d.canonical(true));
  });

  test('invalid schemas are refused with a message', () => {
    expect(() => FORMATS.AVRO.parse('{"type":"record","name":"U","fields":[{"name":"a","type":"Nope"}]}', [])).toThrow(/undefined type name: Nope/);
    expect(() => FORMATS.AVRO.parse('{"type":"record","name":"U","fields":[{"name":"a","type":"int","default":"x"}]}', [])).toThrow(/default/);
    expect(() => FORMATS.AVRO.parse('{"type":', [])).toThrow(/Invalid schema/);
  });

  test('references resolve named types from other schemas', () => {
    const address = '{"type":"record","name":"Address","namespace":"ex","fields":[{"name":"city","type":"string"}]}';
    const user = '{"type":"record","name":"User","namespace":"ex","fields":[{"name":"home","type":"ex.Address"}]}';
    expect(() => FORMATS.AVRO.parse(user, [])).toThrow(/Address/);
    expect(FORMATS.AVRO.parse(user, [{ name: 'ex.Address', schemaType: 'AVRO', schema: address }]).canonical(false)).toBe(user);
  });
});

const jsonRead = (reader: unknown, writer: unknown) => FORMATS.JSON.readErrors(FORMATS.JSON.parse(JSON.stringify(reader), []), FORMATS.JSON.parse(JSON.stringify(writer), []));
const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'object', properties, ...extra });

/** [label, reader (new), writer (old), readable] — BACKWARD's view: can the new schema read the old data? */
const JSON_CASES: [string, unknown, unknown, boolean][] = [
  ['identical', obj({ a: { type: 'string' } }), obj({ a: { type: 'string' } }), true],
  ['optional property added to an open content model', obj({ a: { type: 'string' }, b: { type: 'integer' } }), obj({ a: { type: 'string' } }), false],
  ['optional property added to a closed content model', obj({ a: { type: 'string' }, b: { type: 'integer' } }, { additionalProperties: false }), obj({ a: { type: 'string' } }, { additionalProperties: false }), true],
  ['required property added to a closed content model', obj({ a: { type: 'string' }, b: { type: 'integer' } }, { additionalProperties: false, required: ['b'] }), obj({ a: { type: 'string' } }, { additionalProperties: false }), false],
  ['required property with default added to a closed content model', obj({ a: { type: 'string' }, b: { type: 'integer', default: 0 } }, { additionalProperties: false, required: ['b'] }), obj({ a: { type: 'string' } }, { additionalProperties: false }), true],
  ['property removed from an open content model', obj({ a: { type: 'string' } }), obj({ a: { type: 'string' }, b: { type: 'integer' } }), true],
  ['property removed from a closed content model', obj({ a: { type: 'string' } }, { additionalProperties: false }), obj({ a: { type: 'string' }, b: { type: 'integer' } }, { additionalProperties: false }), false],
  ['integer widened to number', obj({ a: { type: 'number' } }), obj({ a: { type: 'integer' } }), true],
  ['number narrowed to integer', obj({ a: { type: 'integer' } }), obj({ a: { type: 'number' } }), false],
  ['type changed', obj({ a: { type: 'string' } }), obj({ a: { type: 'boolean' } }), false],
  ['maxLength increased', { type: 'string', maxLength: 10 }, { type: 'string', maxLength: 5 }, true],
  ['maxLength decreased', { type: 'string', maxLength: 5 }, { type: 'string', maxLength: 10 }, false],
  ['minimum added', { type: 'number', minimum: 0 }, { type: 'number' }, false],
  ['minimum removed', { type: 'number' }, { type: 'number', minimum: 0 }, true],
  ['enum extended', { enum: ['a', 'b', 'c'] }, { enum: ['a', 'b'] }, true],
  ['enum narrowed', { enum: ['a'] }, { enum: ['a', 'b'] }, false],
  ['existing property made required', obj({ a: { type: 'string' } }, { required: ['a'] }), obj({ a: { type: 'string' } }), false],
  ['required dropped', obj({ a: { type: 'string' } }), obj({ a: { type: 'string' } }, { required: ['a'] }), true],
  ['additionalProperties opened', obj({ a: { type: 'string' } }), obj({ a: { type: 'string' } }, { additionalProperties: false }), true],
  ['additionalProperties closed', obj({ a: { type: 'string' } }, { additionalProperties: false }), obj({ a: { type: 'string' } }), false],
  ['oneOf extended', { oneOf: [{ type: 'string' }, { type: 'integer' }] }, { oneOf: [{ type: 'string' }] }, true],
  ['oneOf narrowed', { oneOf: [{ type: 'string' }] }, { oneOf: [{ type: 'string' }, { type: 'integer' }] }, false],
  ['items type narrowed', { type: 'array', items: { type: 'integer' } }, { type: 'array', items: { type: 'number' } }, false],
  ['anything to the empty schema', {}, obj({ a: { type: 'string' } }), true],
  ['local $ref followed', { definitions: { n: { type: 'number' } }, type: 'object', properties: { a: { $ref: '#/definitions/n' } } }, { definitions: { n: { type: 'integer' } }, type: 'object', properties: { a: { $ref: '#/definitions/n' } } }, true],
];

describe('JSON Schema compatibility (Confluent rules)', () => {
  test.each(JSON_CASES)('%s', (_label, reader, writer, readable) => {
    const errors = jsonRead(reader, writer);
    expect(errors.length === 0, errors.join('\n')).toBe(readable);
  });

  test('an open-content-model addition is named as Confluent names it', () => {
    const errors = jsonRead(obj({ a: { type: 'string' }, b: { type: 'integer' } }), obj({ a: { type: 'string' } }));
    expect(errors.join()).toContain('PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL');
  });

  test('invalid schemas and unknown dialect keywords', () => {
    expect(() => FORMATS.JSON.parse('{"type": 12}', [])).toThrow(/Invalid schema/);
    expect(() => FORMATS.JSON.parse('[1,2]', [])).toThrow(/object or a boolean/);
    expect(() => FORMATS.JSON.parse('{"$ref": "other.json"}', [])).toThrow(/Invalid schema/);
    expect(FORMATS.JSON.parse('{"$ref": "other.json"}', [{ name: 'other.json', schemaType: 'JSON', schema: '{"type":"string"}' }]).canonical(false)).toBe('{"$ref":"other.json"}');
    expect(FORMATS.JSON.parse('{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"}]}', []).schemaType).toBe('JSON');
  });
});

const proto = (body: string, pkg = 'ex') => `syntax = "proto3";\npackage ${pkg};\n${body}`;
const protoRead = (reader: string, writer: string) => FORMATS.PROTOBUF.readErrors(FORMATS.PROTOBUF.parse(reader, []), FORMATS.PROTOBUF.parse(writer, []));

const PROTO_CASES: [string, string, string, boolean][] = [
  ['identical', proto('message M { string a = 1; }'), proto('message M { string a = 1; }'), true],
  ['field added', proto('message M { string a = 1; int64 b = 2; }'), proto('message M { string a = 1; }'), true],
  ['field removed', proto('message M { string a = 1; }'), proto('message M { string a = 1; int64 b = 2; }'), true],
  ['field renamed (same number)', proto('message M { string name = 1; }'), proto('message M { string a = 1; }'), true],
  ['scalar type changed', proto('message M { int32 a = 1; }'), proto('message M { string a = 1; }'), false],
  ['scalar to message', proto('message M { N a = 1; } message N { string s = 1; }'), proto('message M { string a = 1; } message N { string s = 1; }'), false],
  ['named type changed', proto('message M { P a = 1; } message N { string s = 1; } message P { string s = 1; }'), proto('message M { N a = 1; } message N { string s = 1; } message P { string s = 1; }'), false],
  ['message removed', proto('message M { string a = 1; }'), proto('message M { string a = 1; } message N { string s = 1; }'), false],
  ['package changed', proto('message M { string a = 1; }', 'other'), proto('message M { string a = 1; }'), false],
  ['repeated label changed', proto('message M { repeated string a = 1; }'), proto('message M { string a = 1; }'), false],
  ['enum constant removed', proto('message M { E e = 1; } enum E { A = 0; }'), proto('message M { E e = 1; } enum E { A = 0; B = 1; }'), false],
  ['enum constant added', proto('message M { E e = 1; } enum E { A = 0; B = 1; C = 2; }'), proto('message M { E e = 1; } enum E { A = 0; B = 1; }'), true],
  ['field moved into an existing oneof', proto('message M { oneof o { string a = 1; string b = 2; } }'), proto('message M { string a = 1; oneof o { string b = 2; } }'), false],
  ['one field moved into a new oneof', proto('message M { oneof o { string a = 1; } }'), proto('message M { string a = 1; }'), true],
  ['two fields moved into a new oneof', proto('message M { oneof o { string a = 1; string b = 2; } }'), proto('message M { string a = 1; string b = 2; }'), false],
];

describe('Protobuf compatibility (Confluent rules)', () => {
  test.each(PROTO_CASES)('%s', (_label, reader, writer, readable) => {
    const errors = protoRead(reader, writer);
    expect(errors.length === 0, errors.join('\n')).toBe(readable);
  });

  test('imports resolve through references, and well-known types are built in', () => {
    const dep = proto('message Address { string city = 1; }');
    const main = proto('import "address.proto";\nimport "google/protobuf/timestamp.proto";\nmessage User { Address home = 1; google.protobuf.Timestamp at = 2; }');
    expect(() => FORMATS.PROTOBUF.parse(main, [])).toThrow(/Address/);
    expect(FORMATS.PROTOBUF.parse(main, [{ name: 'address.proto', schemaType: 'PROTOBUF', schema: dep }]).schemaType).toBe('PROTOBUF');
  });

  test('syntax errors are refused with the parser\'s message', () => {
    expect(() => FORMATS.PROTOBUF.parse('syntax = "proto3"; message M { string a = 1 }', [])).toThrow(/illegal token/);
  });
});
