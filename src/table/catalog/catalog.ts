// The Catalog interface the table coordinator commits through (ARCHITECTURE
// §7.5), with the REST spec's error model as typed errors. Implementations:
// StoreCatalog (the built-in catalog over the metadata store, also what the
// REST server on port 8181 serves) and RestCatalog (any Iceberg REST server).

import type { Namespace } from '../../metadata/catalog-types.js';
import type { PartitionSpec, SortOrder, TableMetadata, TableRequirement, TableUpdate } from '../iceberg/metadata.js';
import type { IcebergSchema } from '../iceberg/types.js';

export interface TableIdentifier {
  readonly namespace: Namespace;
  readonly name: string;
}

export interface LoadedTable {
  readonly metadataLocation: string;
  readonly metadata: TableMetadata;
}

export interface CreateTableRequest {
  readonly name: string;
  readonly location?: string;
  readonly schema: IcebergSchema;
  readonly partitionSpec?: PartitionSpec;
  readonly writeOrder?: SortOrder;
  readonly properties?: Readonly<Record<string, string>>;
}

export interface Catalog {
  createNamespace(ns: Namespace, properties?: Readonly<Record<string, string>>): Promise<void>;
  listNamespaces(parent?: Namespace): Promise<string[][]>;
  loadNamespace(ns: Namespace): Promise<Record<string, string>>;
  dropNamespace(ns: Namespace): Promise<void>;
  updateNamespaceProperties(ns: Namespace, removals: readonly string[], updates: Readonly<Record<string, string>>): Promise<{ updated: string[]; removed: string[]; missing: string[] }>;
  listTables(ns: Namespace): Promise<TableIdentifier[]>;
  tableExists(id: TableIdentifier): Promise<boolean>;
  loadTable(id: TableIdentifier): Promise<LoadedTable>;
  createTable(ns: Namespace, request: CreateTableRequest): Promise<LoadedTable>;
  /** Checks the requirements against the current metadata and applies the updates, atomically. */
  commitTable(id: TableIdentifier, requirements: readonly TableRequirement[], updates: readonly TableUpdate[]): Promise<LoadedTable>;
  dropTable(id: TableIdentifier, purge?: boolean): Promise<void>;
  renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void>;
  /**
   * Deletes metadata files a crash left between writing and committing them.
   * Only a catalog that writes its own metadata files can know which are its
   * own; a remote catalog leaves this undefined.
   */
  removeUncommittedMetadata?(id: TableIdentifier): Promise<number>;
}

/** Errors by the REST spec's ErrorModel `type`, with its HTTP status. */
export class CatalogError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
  override get name(): string {
    return this.type;
  }
}

export const noSuchTable = (id: TableIdentifier) => new CatalogError('NoSuchTableException', 404, `Table does not exist: ${[...id.namespace, id.name].join('.')}`);
export const noSuchNamespace = (ns: Namespace) => new CatalogError('NoSuchNamespaceException', 404, `Namespace does not exist: ${ns.join('.')}`);
export const alreadyExists = (message: string) => new CatalogError('AlreadyExistsException', 409, message);
export const namespaceNotEmpty = (message: string) => new CatalogError('NamespaceNotEmptyException', 409, message);
export const commitFailed = (message: string) => new CatalogError('CommitFailedException', 409, message);
export const badRequest = (message: string) => new CatalogError('BadRequestException', 400, message);

/** A commit whose outcome is unknown (the server failed after it may have committed): reload before retrying. */
export const commitStateUnknown = (message: string) => new CatalogError('CommitStateUnknownException', 500, message);

export const isCommitConflict = (err: unknown): boolean => err instanceof CatalogError && err.type === 'CommitFailedException';
