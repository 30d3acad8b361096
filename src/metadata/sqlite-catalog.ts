// The built-in Iceberg catalog's tables in the embedded SQLite store.

import type Database from 'better-sqlite3';
import {
  CatalogConflictError,
  CatalogExistsError,
  CatalogNotEmptyError,
  CatalogNotFoundError,
  NAMESPACE_SEPARATOR,
  namespaceKey,
  namespaceName,
  type CatalogStore,
  type Namespace,
} from './catalog-types.js';

export const CATALOG_SCHEMA = `
CREATE TABLE IF NOT EXISTS iceberg_namespaces (
  namespace TEXT PRIMARY KEY,
  properties TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS iceberg_tables (
  namespace TEXT NOT NULL REFERENCES iceberg_namespaces(namespace),
  name TEXT NOT NULL,
  metadata_location TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);
`;

export class SqliteCatalogTables implements CatalogStore {
  constructor(private readonly db: Database.Database) {
    db.exec(CATALOG_SCHEMA);
  }

  private properties(ns: Namespace): Record<string, string> | null {
    const row = this.db.prepare('SELECT properties FROM iceberg_namespaces WHERE namespace = ?').get(namespaceKey(ns)) as { properties: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.properties) as Record<string, string>);
  }

  private requireNamespace(ns: Namespace): Record<string, string> {
    const props = this.properties(ns);
    if (props === null) throw new CatalogNotFoundError(`Namespace does not exist: ${namespaceName(ns)}`);
    return props;
  }

  async catalogCreateNamespace(ns: Namespace, properties: Readonly<Record<string, string>>): Promise<void> {
    const r = this.db.prepare('INSERT INTO iceberg_namespaces (namespace, properties) VALUES (?, ?) ON CONFLICT DO NOTHING').run(namespaceKey(ns), JSON.stringify(properties));
    if (r.changes === 0) throw new CatalogExistsError(`Namespace already exists: ${namespaceName(ns)}`);
  }

  async catalogListNamespaces(parent: Namespace): Promise<string[][]> {
    if (parent.length > 0) this.requireNamespace(parent);
    const rows = this.db.prepare('SELECT namespace FROM iceberg_namespaces ORDER BY namespace').all() as { namespace: string }[];
    const children = new Map<string, string[]>();
    for (const r of rows) {
      const levels = r.namespace.split(NAMESPACE_SEPARATOR);
      if (levels.length <= parent.length || parent.some((p, i) => levels[i] !== p)) continue;
      const child = levels.slice(0, parent.length + 1);
      children.set(namespaceKey(child), child);
    }
    return [...children.values()];
  }

  async catalogNamespaceProperties(ns: Namespace): Promise<Record<string, string> | null> {
    return this.properties(ns);
  }

  async catalogUpdateNamespaceProperties(ns: Namespace, removals: readonly string[], updates: Readonly<Record<string, string>>) {
    return this.db.transaction(() => {
      const props = this.requireNamespace(ns);
      const removed: string[] = [];
      const missing: string[] = [];
      for (const k of removals) {
        if (k in props) {
          delete props[k];
          removed.push(k);
        } else missing.push(k);
      }
      Object.assign(props, updates);
      this.db.prepare('UPDATE iceberg_namespaces SET properties = ? WHERE namespace = ?').run(JSON.stringify(props), namespaceKey(ns));
      return { updated: Object.keys(updates), removed, missing };
    })();
  }

  async catalogDropNamespace(ns: Namespace): Promise<void> {
    this.db.transaction(() => {
      this.requireNamespace(ns);
      const key = namespaceKey(ns);
      const tables = this.db.prepare('SELECT 1 FROM iceberg_tables WHERE namespace = ? LIMIT 1').get(key);
      const children = this.db.prepare('SELECT 1 FROM iceberg_namespaces WHERE substr(namespace, 1, ?) = ? LIMIT 1').get(key.length + 1, key + NAMESPACE_SEPARATOR);
      if (tables !== undefined || children !== undefined) throw new CatalogNotEmptyError(`Namespace ${namespaceName(ns)} is not empty`);
      this.db.prepare('DELETE FROM iceberg_namespaces WHERE namespace = ?').run(key);
    })();
  }

  async catalogListTables(ns: Namespace): Promise<string[]> {
    this.requireNamespace(ns);
    const rows = this.db.prepare('SELECT name FROM iceberg_tables WHERE namespace = ? ORDER BY name').all(namespaceKey(ns)) as { name: string }[];
    return rows.map((r) => r.name);
  }

  async catalogTableLocation(ns: Namespace, name: string): Promise<string | null> {
    const row = this.db.prepare('SELECT metadata_location FROM iceberg_tables WHERE namespace = ? AND name = ?').get(namespaceKey(ns), name) as { metadata_location: string } | undefined;
    return row?.metadata_location ?? null;
  }

  async catalogCreateTable(ns: Namespace, name: string, metadataLocation: string): Promise<void> {
    this.db.transaction(() => {
      this.requireNamespace(ns);
      const r = this.db.prepare('INSERT INTO iceberg_tables (namespace, name, metadata_location) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(namespaceKey(ns), name, metadataLocation);
      if (r.changes === 0) throw new CatalogExistsError(`Table already exists: ${namespaceName(ns)}.${name}`);
    })();
  }

  async catalogSwapTable(ns: Namespace, name: string, expected: string, next: string): Promise<void> {
    this.db.transaction(() => {
      const r = this.db.prepare('UPDATE iceberg_tables SET metadata_location = ? WHERE namespace = ? AND name = ? AND metadata_location = ?').run(next, namespaceKey(ns), name, expected);
      if (r.changes > 0) return;
      const current = this.db.prepare('SELECT 1 FROM iceberg_tables WHERE namespace = ? AND name = ?').get(namespaceKey(ns), name);
      if (current === undefined) throw new CatalogNotFoundError(`Table does not exist: ${namespaceName(ns)}.${name}`);
      throw new CatalogConflictError(`Table ${namespaceName(ns)}.${name} was updated concurrently`);
    })();
  }

  async catalogDropTable(ns: Namespace, name: string): Promise<string> {
    return this.db.transaction(() => {
      const row = this.db.prepare('DELETE FROM iceberg_tables WHERE namespace = ? AND name = ? RETURNING metadata_location').get(namespaceKey(ns), name) as
        | { metadata_location: string }
        | undefined;
      if (row === undefined) throw new CatalogNotFoundError(`Table does not exist: ${namespaceName(ns)}.${name}`);
      return row.metadata_location;
    })();
  }

  async catalogRenameTable(from: Namespace, fromName: string, to: Namespace, toName: string): Promise<void> {
    this.db.transaction(() => {
      if (this.properties(to) === null) throw new CatalogNotFoundError(`Namespace does not exist: ${namespaceName(to)}`);
      if (this.db.prepare('SELECT 1 FROM iceberg_tables WHERE namespace = ? AND name = ?').get(namespaceKey(to), toName) !== undefined) {
        throw new CatalogExistsError(`Table already exists: ${namespaceName(to)}.${toName}`);
      }
      const r = this.db.prepare('UPDATE iceberg_tables SET namespace = ?, name = ? WHERE namespace = ? AND name = ?').run(namespaceKey(to), toName, namespaceKey(from), fromName);
      if (r.changes === 0) throw new CatalogNotFoundError(`Table does not exist: ${namespaceName(from)}.${fromName}`);
    })();
  }
}
