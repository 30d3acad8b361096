// The schema registry's tables in the embedded SQLite store. Schema rows are
// never deleted, so an id is never reused and re-registering a schema after a
// permanent delete gives it back its old id, as Confluent's registry does.

import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  RegistryConflictError,
  SchemaIdTakenError,
  type RegistrySettingKey,
  type SchemaReference,
  type SchemaRegistration,
  type SchemaRegistryStore,
  type StoredSchema,
  type SubjectVersion,
} from './registry-types.js';

export const REGISTRY_SCHEMA = `
CREATE TABLE IF NOT EXISTS registry_schemas (
  schema_id INTEGER PRIMARY KEY,
  schema_type TEXT NOT NULL,
  schema TEXT NOT NULL,
  refs TEXT NOT NULL,
  identity TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS registry_references (
  schema_id INTEGER NOT NULL REFERENCES registry_schemas(schema_id),
  ref_subject TEXT NOT NULL,
  ref_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS registry_references_by_target ON registry_references(ref_subject, ref_version);
CREATE TABLE IF NOT EXISTS registry_versions (
  subject TEXT NOT NULL,
  version INTEGER NOT NULL,
  schema_id INTEGER NOT NULL REFERENCES registry_schemas(schema_id),
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (subject, version)
);
CREATE INDEX IF NOT EXISTS registry_versions_by_schema ON registry_versions(schema_id);
CREATE TABLE IF NOT EXISTS registry_settings (
  subject TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (subject, key)
);
`;

interface VersionRow {
  subject: string;
  version: number;
  schema_id: number;
  deleted: number;
}

const toVersion = (r: VersionRow): SubjectVersion => ({ subject: r.subject, version: r.version, schemaId: r.schema_id, deleted: r.deleted !== 0 });

function identity(schemaType: string, schema: string, references: readonly SchemaReference[]): string {
  const refs = references.map((r) => [r.name, r.subject, r.version]);
  return createHash('sha256').update(JSON.stringify([schemaType, schema, refs])).digest('base64url');
}

export class SqliteRegistryTables implements SchemaRegistryStore {
  constructor(private readonly db: Database.Database) {
    db.exec(REGISTRY_SCHEMA);
  }

  async registrySchemaById(id: number): Promise<StoredSchema | null> {
    const row = this.db.prepare('SELECT schema_id, schema_type, schema, refs FROM registry_schemas WHERE schema_id = ?').get(id) as
      | { schema_id: number; schema_type: string; schema: string; refs: string }
      | undefined;
    if (row === undefined) return null;
    return { id: row.schema_id, schemaType: row.schema_type, schema: row.schema, references: JSON.parse(row.refs) as SchemaReference[] };
  }

  private findSchema(schemaType: string, schema: string, references: readonly SchemaReference[]): number | null {
    const row = this.db.prepare('SELECT schema_id FROM registry_schemas WHERE identity = ?').get(identity(schemaType, schema, references)) as
      | { schema_id: number }
      | undefined;
    return row?.schema_id ?? null;
  }

  async registryFindSchema(schemaType: string, schema: string, references: readonly SchemaReference[]): Promise<number | null> {
    return this.findSchema(schemaType, schema, references);
  }

  async registrySubjectVersions(subjectPrefix: string): Promise<SubjectVersion[]> {
    // substr rather than LIKE: subjects may contain % and _.
    const rows = this.db
      .prepare('SELECT subject, version, schema_id, deleted FROM registry_versions WHERE substr(subject, 1, ?) = ? ORDER BY subject, version')
      .all(subjectPrefix.length, subjectPrefix) as VersionRow[];
    return rows.map(toVersion);
  }

  async registryVersions(subject: string): Promise<SubjectVersion[]> {
    const rows = this.db.prepare('SELECT subject, version, schema_id, deleted FROM registry_versions WHERE subject = ? ORDER BY version').all(subject) as VersionRow[];
    return rows.map(toVersion);
  }

  async registryVersionsOfSchema(id: number): Promise<SubjectVersion[]> {
    const rows = this.db
      .prepare('SELECT subject, version, schema_id, deleted FROM registry_versions WHERE schema_id = ? ORDER BY subject, version')
      .all(id) as VersionRow[];
    return rows.map(toVersion);
  }

  private referencedBy(subject: string, version: number): number[] {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT r.schema_id FROM registry_references r
         WHERE r.ref_subject = ? AND r.ref_version = ?
           AND EXISTS (SELECT 1 FROM registry_versions v WHERE v.schema_id = r.schema_id AND v.deleted = 0)
         ORDER BY r.schema_id`,
      )
      .all(subject, version) as { schema_id: number }[];
    return rows.map((r) => r.schema_id);
  }

  async registryReferencedBy(subject: string, version: number): Promise<number[]> {
    return this.referencedBy(subject, version);
  }

  async registryRegister(r: SchemaRegistration): Promise<{ id: number; version: number }> {
    const tx = this.db.transaction(() => {
      const latest = (this.db.prepare('SELECT MAX(version) AS v FROM registry_versions WHERE subject = ?').get(r.subject) as { v: number | null }).v ?? 0;
      if (latest !== r.expectedLatestVersion) {
        throw new RegistryConflictError(`subject ${r.subject} is at version ${latest}, not ${r.expectedLatestVersion}`);
      }
      let id = this.findSchema(r.schemaType, r.schema, r.references);
      if (r.id !== undefined) {
        if (id !== null && id !== r.id) throw new SchemaIdTakenError(`Schema already registered with id ${id} instead of input id ${r.id}`);
        if (id === null) {
          if (this.db.prepare('SELECT 1 FROM registry_schemas WHERE schema_id = ?').get(r.id) !== undefined) {
            throw new SchemaIdTakenError(`Overwrite new schema with id ${r.id} is not permitted.`);
          }
          this.insertSchema(r.id, r);
          id = r.id;
        }
        // New ids keep climbing past any imported one.
        this.db
          .prepare("INSERT INTO sequences (name, next_value) VALUES ('registry_schema_id', ?) ON CONFLICT(name) DO UPDATE SET next_value = MAX(next_value, excluded.next_value)")
          .run(r.id);
      } else if (id === null) {
        id = this.nextSchemaId();
        this.insertSchema(id, r);
      }
      const live = this.db.prepare('SELECT version FROM registry_versions WHERE subject = ? AND schema_id = ? AND deleted = 0').get(r.subject, id) as
        | { version: number }
        | undefined;
      if (live !== undefined) return { id, version: live.version };
      const version = r.version ?? latest + 1;
      const taken = this.db.prepare('SELECT schema_id FROM registry_versions WHERE subject = ? AND version = ?').get(r.subject, version) as { schema_id: number } | undefined;
      if (taken !== undefined) throw new SchemaIdTakenError(`Version ${version} of subject ${r.subject} already exists`);
      this.db.prepare('INSERT INTO registry_versions (subject, version, schema_id, deleted) VALUES (?, ?, ?, 0)').run(r.subject, version, id);
      return { id, version };
    });
    return tx.immediate();
  }

  private nextSchemaId(): number {
    const row = this.db
      .prepare("INSERT INTO sequences (name, next_value) VALUES ('registry_schema_id', 1) ON CONFLICT(name) DO UPDATE SET next_value = next_value + 1 RETURNING next_value")
      .get() as { next_value: number };
    return row.next_value;
  }

  private insertSchema(id: number, r: SchemaRegistration): void {
    this.db
      .prepare('INSERT INTO registry_schemas (schema_id, schema_type, schema, refs, identity) VALUES (?, ?, ?, ?, ?)')
      .run(id, r.schemaType, r.schema, JSON.stringify(r.references), identity(r.schemaType, r.schema, r.references));
    const ref = this.db.prepare('INSERT INTO registry_references (schema_id, ref_subject, ref_version) VALUES (?, ?, ?)');
    for (const x of r.references) ref.run(id, x.subject, x.version);
  }

  async registryDeleteVersions(subject: string, versions: readonly number[], permanent: boolean): Promise<void> {
    const soft = this.db.prepare('UPDATE registry_versions SET deleted = 1 WHERE subject = ? AND version = ?');
    const hard = this.db.prepare('DELETE FROM registry_versions WHERE subject = ? AND version = ?');
    this.db.transaction(() => {
      for (const v of versions) (permanent ? hard : soft).run(subject, v);
      if (permanent && (this.db.prepare('SELECT 1 FROM registry_versions WHERE subject = ? LIMIT 1').get(subject) === undefined)) {
        // A subject gone for good takes its settings with it, as in Confluent's registry.
        this.db.prepare('DELETE FROM registry_settings WHERE subject = ?').run(subject);
      }
    }).immediate();
  }

  async registryGetSetting(subject: string, key: RegistrySettingKey): Promise<string | null> {
    const row = this.db.prepare('SELECT value FROM registry_settings WHERE subject = ? AND key = ?').get(subject, key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  async registrySetSetting(subject: string, key: RegistrySettingKey, value: string | null): Promise<void> {
    if (value === null) this.db.prepare('DELETE FROM registry_settings WHERE subject = ? AND key = ?').run(subject, key);
    else {
      this.db
        .prepare('INSERT INTO registry_settings (subject, key, value) VALUES (?, ?, ?) ON CONFLICT(subject, key) DO UPDATE SET value = excluded.value')
        .run(subject, key, value);
    }
  }
}
