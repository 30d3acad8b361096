// Schema evolution by name: ids kept forever, new (nested) fields get fresh
// ids above last-column-id and are optional, Iceberg's promotions apply,
// missing fields become optional, and illegal changes are refused.
import { describe, expect, test } from 'vitest';
import { IncompatibleSchemaError, mergeSchema } from '../../../src/table/convert/evolve.js';
import { maxFieldId, type StructType } from '../../../src/table/iceberg/types.js';

const current: StructType = {
  type: 'struct',
  fields: [
    { id: 1, name: 'id', required: true, type: 'int' },
    { id: 2, name: 'score', required: true, type: 'float' },
    { id: 3, name: 'address', required: true, type: { type: 'struct', fields: [{ id: 5, name: 'city', required: true, type: 'string' }] } },
    { id: 4, name: 'legacy', required: true, type: 'string' },
    { id: 6, name: 'amount', required: false, type: 'decimal(9, 2)' },
  ],
};

describe('mergeSchema', () => {
  test('promotes int→long, float→double and a wider decimal keeping ids; adds nested and top-level fields with fresh optional ids; a missing field becomes optional', () => {
    const incoming: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'id', required: true, type: 'long' },
        { id: 2, name: 'score', required: true, type: 'double' },
        {
          id: 3,
          name: 'address',
          required: true,
          type: { type: 'struct', fields: [{ id: 4, name: 'city', required: true, type: 'string' }, { id: 5, name: 'country', required: true, type: 'string' }] },
        },
        { id: 6, name: 'amount', required: false, type: 'decimal(12, 2)' },
        { id: 7, name: 'tags', required: true, type: { type: 'map', 'key-id': 8, key: 'string', 'value-id': 9, value: { type: 'list', 'element-id': 10, element: 'int', 'element-required': true }, 'value-required': true } },
      ],
    };
    const last = maxFieldId(current);
    const { struct, lastColumnId, changed } = mergeSchema(current, incoming, last);
    expect(changed).toBe(true);
    expect(struct.fields.map((f) => [f.name, f.id, f.required])).toEqual([
      ['id', 1, true],
      ['score', 2, true],
      ['address', 3, true],
      ['legacy', 4, false],
      ['amount', 6, false],
      ['tags', 8, false],
    ]);
    expect(struct.fields[0].type).toBe('long');
    expect(struct.fields[1].type).toBe('double');
    expect(struct.fields[4].type).toBe('decimal(12, 2)');
    // New ids are above every old one, in Iceberg's order (the field, then what its type needs), never reused.
    const address = struct.fields[2].type as StructType;
    expect(address.fields).toEqual([
      { id: 5, name: 'city', required: true, type: 'string' },
      { id: 7, name: 'country', required: false, type: 'string' },
    ]);
    expect(struct.fields[5].id).toBe(8);
    expect(struct.fields[5].type).toEqual({ type: 'map', 'key-id': 9, key: 'string', 'value-id': 10, value: { type: 'list', 'element-id': 11, element: 'int', 'element-required': true }, 'value-required': true });
    expect(lastColumnId).toBe(11);
  });

  test('an equal schema changes nothing, and ids already used by dropped columns are not reused', () => {
    expect(mergeSchema(current, current, 6).changed).toBe(false);
    const withNew: StructType = { type: 'struct', fields: [...current.fields, { id: 1, name: 'email', required: false, type: 'string' }] };
    const { struct } = mergeSchema(current, withNew, 40);
    expect(struct.fields.at(-1)).toEqual({ id: 41, name: 'email', required: false, type: 'string' });
  });

  test.each([
    ['string → int', 'legacy', 'int'],
    ['long → int stays long', 'id', 'int'],
    ['struct → string', 'address', 'string'],
    ['decimal scale change', 'amount', 'decimal(12, 3)'],
  ])('%s', (_what, name, type) => {
    const incoming: StructType = { type: 'struct', fields: current.fields.map((f) => (f.name === name ? { ...f, type: type as never } : f)) };
    if (name === 'id') {
      // long→int is not a narrowing the table has to make: it keeps the wider type.
      const widened = mergeSchema({ ...current, fields: current.fields.map((f) => (f.name === 'id' ? { ...f, type: 'long' } : f)) }, incoming, 6);
      expect(widened.struct.fields[0].type).toBe('long');
      return;
    }
    expect(() => mergeSchema(current, incoming, 6)).toThrow(IncompatibleSchemaError);
  });
});
