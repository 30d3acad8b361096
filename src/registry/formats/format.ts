// One schema format (Avro, JSON Schema, Protobuf): how its schema text is
// parsed and checked, what its canonical text is (the registry's identity of
// a schema: the same canonical text and references get the same id), and
// whether data written with one version can be read with another.

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';

export const SCHEMA_TYPES: readonly SchemaType[] = ['JSON', 'PROTOBUF', 'AVRO'];

/** A referenced schema, resolved: its name as the referring schema uses it, and its text. */
export interface ResolvedReference {
  readonly name: string;
  readonly schemaType: SchemaType;
  readonly schema: string;
}

/** A schema that parsed; what it holds is the format's own business. */
export interface ParsedSchema {
  readonly schemaType: SchemaType;
  /** The text the registry stores and returns; with normalize=true, the normalized form. */
  canonical(normalize: boolean): string;
}

export interface SchemaFormat {
  readonly schemaType: SchemaType;
  /**
   * Parses the text with its references (dependencies first, transitively).
   * Throws InvalidSchemaError with a message saying what is wrong.
   */
  parse(schema: string, references: readonly ResolvedReference[]): ParsedSchema;
  /**
   * Why data written with `writer` cannot be read with `reader`: one message
   * per problem, empty when it can.
   */
  readErrors(reader: ParsedSchema, writer: ParsedSchema): string[];
}

export class InvalidSchemaError extends Error {
  override readonly name = 'InvalidSchemaError';
}

/** Confluent's verbose compatibility message shape, {errorType:'...', description:'...', ...}. */
export function incompatibility(errorType: string, description: string, additionalInfo: string): string {
  return `{errorType:'${errorType}', description:'${description.replace(/'/g, '"')}', additionalInfo:'${additionalInfo}'}`;
}
