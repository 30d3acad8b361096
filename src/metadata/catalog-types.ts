// The built-in Iceberg REST catalog's state in the metadata store: namespaces
// with their properties, and one pointer per table to its current metadata
// file. Swapping a pointer is a compare-and-set, which is the whole of an
// Iceberg catalog's concurrency control (ARCHITECTURE §6, §7.5).

/** A namespace is a path of levels; `['db', 'sales']` is db.sales. */
export type Namespace = readonly string[];

export interface CatalogStore {
  catalogCreateNamespace(ns: Namespace, properties: Readonly<Record<string, string>>): Promise<void>;
  /** Direct children of `parent` (top-level namespaces for `[]`). */
  catalogListNamespaces(parent: Namespace): Promise<string[][]>;
  /** The namespace's properties, or null when it does not exist. */
  catalogNamespaceProperties(ns: Namespace): Promise<Record<string, string> | null>;
  catalogUpdateNamespaceProperties(
    ns: Namespace,
    removals: readonly string[],
    updates: Readonly<Record<string, string>>,
  ): Promise<{ updated: string[]; removed: string[]; missing: string[] }>;
  catalogDropNamespace(ns: Namespace): Promise<void>;
  catalogListTables(ns: Namespace): Promise<string[]>;
  /** The table's current metadata file, or null when there is no such table. */
  catalogTableLocation(ns: Namespace, name: string): Promise<string | null>;
  catalogCreateTable(ns: Namespace, name: string, metadataLocation: string): Promise<void>;
  /** Points the table at `next` if it still points at `expected`; else CatalogConflictError. */
  catalogSwapTable(ns: Namespace, name: string, expected: string, next: string): Promise<void>;
  /** Removes the table's pointer and returns the metadata file it named. */
  catalogDropTable(ns: Namespace, name: string): Promise<string>;
  catalogRenameTable(from: Namespace, fromName: string, to: Namespace, toName: string): Promise<void>;
}

export class CatalogNotFoundError extends Error {
  override readonly name = 'CatalogNotFoundError';
}
export class CatalogExistsError extends Error {
  override readonly name = 'CatalogExistsError';
}
export class CatalogNotEmptyError extends Error {
  override readonly name = 'CatalogNotEmptyError';
}
export class CatalogConflictError extends Error {
  override readonly name = 'CatalogConflictError';
}

/** Namespace levels joined by the unit separator, the REST spec's own multi-level separator. */
export const NAMESPACE_SEPARATOR = '\u001f';
export const namespaceKey = (ns: Namespace): string => ns.join(NAMESPACE_SEPARATOR);
export const namespaceName = (ns: Namespace): string => ns.join('.');
