import { AVRO } from './avro.js';
import type { SchemaFormat, SchemaType } from './format.js';
import { JSON_SCHEMA } from './json-schema.js';
import { PROTOBUF } from './protobuf.js';

export const FORMATS: Readonly<Record<SchemaType, SchemaFormat>> = { AVRO, JSON: JSON_SCHEMA, PROTOBUF };

export { InvalidSchemaError, SCHEMA_TYPES, type ParsedSchema, type ResolvedReference, type SchemaFormat, type SchemaType } from './format.js';
