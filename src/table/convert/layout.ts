// How a topic's records become table rows (ARCHITECTURE §7.2), from the
// topic's automq.table.topic.* settings:
//
//   raw / string values: _kafka_key, _kafka_value, _kafka_header, _kafka_metadata
//   by_schema_id / by_latest_schema: the value's fields as columns (flatten)
//     or one _kafka_value struct (none), then _kafka_key, _kafka_header,
//     _kafka_metadata
//
// _kafka_metadata is a struct of partition, offset and timestamp (timestamptz),
// _kafka_header a list of {key, value} structs. The dead-letter table has the
// raw layout plus _error and _schema_id.

import type { IdAllocator } from './avro-schema.js';
import { idsFrom, refuseEmptyStructs } from './avro-schema.js';
import type { IcebergSchema, NestedField, StructType } from '../iceberg/types.js';
import { maxFieldId } from '../iceberg/types.js';

export type ConvertType = 'raw' | 'string' | 'by_schema_id' | 'by_latest_schema';

export interface Layout {
  readonly valueType: ConvertType;
  readonly keyType: 'raw' | 'string';
  /** Value fields become top-level columns (transform.value.type=flatten). */
  readonly flatten: boolean;
}

export const KAFKA_KEY = '_kafka_key';
export const KAFKA_VALUE = '_kafka_value';
export const KAFKA_HEADER = '_kafka_header';
export const KAFKA_METADATA = '_kafka_metadata';
export const DLQ_ERROR = '_error';
export const DLQ_SCHEMA_ID = '_schema_id';

export const usesSchema = (l: Layout): boolean => l.valueType === 'by_schema_id' || l.valueType === 'by_latest_schema';

function headerField(id: number, ids: IdAllocator): NestedField {
  const element = ids.next();
  const key = ids.next();
  const value = ids.next();
  return {
    id,
    name: KAFKA_HEADER,
    required: false,
    type: {
      type: 'list',
      'element-id': element,
      'element-required': true,
      element: { type: 'struct', fields: [{ id: key, name: 'key', required: true, type: 'string' }, { id: value, name: 'value', required: false, type: 'binary' }] },
    },
  };
}

function metadataField(id: number, ids: IdAllocator): NestedField {
  return {
    id,
    name: KAFKA_METADATA,
    required: true,
    type: {
      type: 'struct',
      fields: [
        { id: ids.next(), name: 'partition', required: true, type: 'int' },
        { id: ids.next(), name: 'offset', required: true, type: 'long' },
        { id: ids.next(), name: 'timestamp', required: true, type: 'timestamptz' },
      ],
    },
  };
}

/** The raw layout's schema (also the dead-letter table's, with `dlq`). */
export function rawSchema(layout: Pick<Layout, 'keyType' | 'valueType'>, dlq = false): IcebergSchema {
  const ids = idsFrom(1);
  const fields: NestedField[] = [
    { id: ids.next(), name: KAFKA_KEY, required: false, type: layout.keyType === 'string' ? 'string' : 'binary' },
    { id: ids.next(), name: KAFKA_VALUE, required: false, type: layout.valueType === 'string' && !dlq ? 'string' : 'binary' },
  ];
  if (dlq) {
    fields.push({ id: ids.next(), name: DLQ_ERROR, required: true, type: 'string' });
    fields.push({ id: ids.next(), name: DLQ_SCHEMA_ID, required: false, type: 'int' });
  }
  // Top-level ids first, then the nested ones, as Iceberg assigns fresh ids.
  const headerId = ids.next();
  const metadataId = ids.next();
  return { type: 'struct', 'schema-id': 0, fields: [...fields, headerField(headerId, ids), metadataField(metadataId, ids)] };
}

/**
 * The schema layout for a value struct (ids from avroToIceberg): the value's
 * fields or a _kafka_value struct, then the _kafka_* columns with ids after
 * the value's.
 */
export function schemaLayout(value: StructType, layout: Layout): StructType {
  if (layout.flatten) {
    // Two columns of one name would not be a valid Iceberg schema: such a value schema cannot be flattened.
    const taken = value.fields.find((f) => f.name === KAFKA_KEY || f.name === KAFKA_HEADER || f.name === KAFKA_METADATA);
    if (taken !== undefined) throw new Error(`value field ${taken.name} has the name of one of Floe's columns; it cannot be flattened`);
  }
  // Nested in _kafka_value, the record's struct must have a field (Parquet has no empty groups).
  if (!layout.flatten) refuseEmptyStructs(value, KAFKA_VALUE);
  const ids = idsFrom(maxFieldId(value) + 1);
  // Flattened value fields are optional whatever the schema says: a tombstone (null value) is a row too.
  const valueFields: NestedField[] = layout.flatten ? value.fields.map((f) => ({ ...f, required: false })) : [{ id: ids.next(), name: KAFKA_VALUE, required: false, type: value }];
  const key: NestedField = { id: ids.next(), name: KAFKA_KEY, required: false, type: layout.keyType === 'string' ? 'string' : 'binary' };
  const headerId = ids.next();
  const metadataId = ids.next();
  return { type: 'struct', fields: [...valueFields, key, headerField(headerId, ids), metadataField(metadataId, ids)] };
}
