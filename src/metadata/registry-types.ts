// What the schema registry keeps in the metadata store: schemas by global id,
// subjects' versions pointing at them, the references between schemas, and
// the global and per-subject settings (compatibility level, mode). The store
// does only what must be atomic; the rules live in src/registry.

/** A schema's reference to a version of another subject (Confluent's SchemaReference). */
export interface SchemaReference {
  readonly name: string;
  readonly subject: string;
  readonly version: number;
}

export interface StoredSchema {
  readonly id: number;
  /** AVRO, JSON or PROTOBUF. */
  readonly schemaType: string;
  /** The schema text as the registry returns it (canonical for Avro and JSON). */
  readonly schema: string;
  readonly references: readonly SchemaReference[];
}

export interface SubjectVersion {
  readonly subject: string;
  readonly version: number;
  readonly schemaId: number;
  /** Soft-deleted: hidden unless asked for with deleted=true. */
  readonly deleted: boolean;
}

export interface SchemaRegistration {
  readonly subject: string;
  readonly schemaType: string;
  readonly schema: string;
  readonly references: readonly SchemaReference[];
  /**
   * The subject's highest version (soft-deleted ones too) when the caller
   * checked compatibility, or 0 for none: the registration is refused with a
   * RegistryConflictError if another one got in first, so a schema is never
   * registered on the strength of a check against an older history.
   */
  readonly expectedLatestVersion: number;
  /** IMPORT mode: the id and version to register under. */
  readonly id?: number;
  readonly version?: number;
}

/** Global and per-subject settings; the subject is '' for the global ones. */
export type RegistrySettingKey = 'compatibility' | 'mode';

export interface SchemaRegistryStore {
  registrySchemaById(id: number): Promise<StoredSchema | null>;
  /** The id of an identical schema (same type, text and references), registered under any subject. */
  registryFindSchema(schemaType: string, schema: string, references: readonly SchemaReference[]): Promise<number | null>;
  /** Every subject version, soft-deleted ones too, by subject then version. */
  registrySubjectVersions(subjectPrefix: string): Promise<SubjectVersion[]>;
  /** One subject's versions, soft-deleted ones too, ascending. */
  registryVersions(subject: string): Promise<SubjectVersion[]>;
  /** The subject versions that use the schema id, soft-deleted ones too. */
  registryVersionsOfSchema(id: number): Promise<SubjectVersion[]>;
  /** Ids of schemas that reference subject/version and are still used by a live version. */
  registryReferencedBy(subject: string, version: number): Promise<number[]>;
  /** Registers in one transaction; see SchemaRegistration.expectedLatestVersion. */
  registryRegister(registration: SchemaRegistration): Promise<{ id: number; version: number }>;
  /** Soft-deletes (or, when permanent, removes) the given versions in one transaction. */
  registryDeleteVersions(subject: string, versions: readonly number[], permanent: boolean): Promise<void>;
  registryGetSetting(subject: string, key: RegistrySettingKey): Promise<string | null>;
  /** Sets or (value null) clears a setting. */
  registrySetSetting(subject: string, key: RegistrySettingKey, value: string | null): Promise<void>;
}

/** The subject's history moved on between the compatibility check and the write: check again. */
export class RegistryConflictError extends Error {
  override readonly name = 'RegistryConflictError';
}

/** IMPORT mode: the explicit id already names a different schema. */
export class SchemaIdTakenError extends Error {
  override readonly name = 'SchemaIdTakenError';
}
