// The built-in catalog: table pointers and namespaces in the metadata store,
// metadata files in the warehouse prefix of the broker's object store. A
// commit writes the next metadata file, then compare-and-sets the table's
// pointer from the file it was built on; losing that race means another
// commit landed first, so the requirements are checked again on the new
// base (as Java's REST catalog server does) before giving up with 409.

import { randomUUID } from 'node:crypto';
import {
  CatalogConflictError,
  CatalogExistsError,
  CatalogNotEmptyError,
  CatalogNotFoundError,
  type CatalogStore,
  type Namespace,
} from '../../metadata/catalog-types.js';
import {
  applyUpdates,
  checkRequirements,
  CommitConflictError,
  creationUpdates,
  emptyMetadata,
  InvalidUpdateError,
  UNSORTED,
  withMetadataLog,
  type TableMetadata,
  type TableRequirement,
  type TableUpdate,
} from '../iceberg/metadata.js';
import { crashPoint } from '../crash-points.js';
import { ForeignLocationError, type FileIO } from '../file-io.js';
import {
  alreadyExists,
  badRequest,
  commitFailed,
  namespaceNotEmpty,
  noSuchNamespace,
  noSuchTable,
  type Catalog,
  type CreateTableRequest,
  type LoadedTable,
  type TableIdentifier,
} from './catalog.js';

/** How often a commit whose pointer swap lost a race is rebased before answering 409. */
const MAX_SWAP_ATTEMPTS = 8;

export class StoreCatalog implements Catalog {
  /**
   * Commits to one table from this process run one at a time, so that
   * removeUncommittedMetadata never mistakes a commit in flight for a crash's
   * leftover. One broker per metadata store (src/cluster/membership.ts), so a
   * lock in this process covers every writer of these metadata files.
   */
  private readonly tableLocks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: CatalogStore,
    private readonly io: FileIO,
    /** URI under which new tables get their default location (ends with '/'). */
    readonly warehouse: string,
  ) {}

  async createNamespace(ns: Namespace, properties: Readonly<Record<string, string>> = {}): Promise<void> {
    validateNamespace(ns);
    try {
      await this.store.catalogCreateNamespace(ns, properties);
    } catch (err) {
      if (err instanceof CatalogExistsError) throw alreadyExists(err.message);
      throw err;
    }
  }

  async listNamespaces(parent: Namespace = []): Promise<string[][]> {
    return this.translate(() => this.store.catalogListNamespaces(parent), parent);
  }

  async loadNamespace(ns: Namespace): Promise<Record<string, string>> {
    const props = await this.store.catalogNamespaceProperties(ns);
    if (props === null) throw noSuchNamespace(ns);
    return props;
  }

  async dropNamespace(ns: Namespace): Promise<void> {
    return this.translate(() => this.store.catalogDropNamespace(ns), ns);
  }

  async updateNamespaceProperties(ns: Namespace, removals: readonly string[], updates: Readonly<Record<string, string>>) {
    const overlap = removals.filter((k) => k in updates);
    if (overlap.length > 0) throw badRequest(`Updates and removals conflict for properties: ${overlap.join(', ')}`);
    return this.translate(() => this.store.catalogUpdateNamespaceProperties(ns, removals, updates), ns);
  }

  async listTables(ns: Namespace): Promise<TableIdentifier[]> {
    const names = await this.translate(() => this.store.catalogListTables(ns), ns);
    return names.map((name) => ({ namespace: ns, name }));
  }

  async tableExists(id: TableIdentifier): Promise<boolean> {
    return (await this.store.catalogTableLocation(id.namespace, id.name)) !== null;
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable> {
    const location = await this.store.catalogTableLocation(id.namespace, id.name);
    if (location === null) throw noSuchTable(id);
    return { metadataLocation: location, metadata: await this.readMetadata(location) };
  }

  /** The metadata a create would commit, without committing it (the REST spec's stage-create). */
  async stageCreate(ns: Namespace, request: CreateTableRequest): Promise<TableMetadata> {
    validateIdentifier(ns, request.name);
    if ((await this.store.catalogNamespaceProperties(ns)) === null) throw noSuchNamespace(ns);
    if (await this.tableExists({ namespace: ns, name: request.name })) throw alreadyExists(`Table already exists: ${[...ns, request.name].join('.')}`);
    const location = request.location ?? this.defaultLocation(ns, request.name);
    this.checkLocation(location);
    const spec = request.partitionSpec ?? { 'spec-id': 0, fields: [] };
    try {
      return applyUpdates(emptyMetadata(location), creationUpdates({ ...request.schema, 'schema-id': 0 }, spec, request.writeOrder ?? UNSORTED, request.properties ?? {}));
    } catch (err) {
      if (err instanceof InvalidUpdateError) throw badRequest(err.message);
      throw err;
    }
  }

  async createTable(ns: Namespace, request: CreateTableRequest): Promise<LoadedTable> {
    const metadata = await this.stageCreate(ns, request);
    return this.create({ namespace: ns, name: request.name }, metadata);
  }

  private async create(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
    const file = metadataFile(metadata.location, 0);
    await this.io.write(file, Buffer.from(JSON.stringify(metadata)));
    try {
      await this.store.catalogCreateTable(id.namespace, id.name, file);
    } catch (err) {
      await this.io.delete([file]).catch(() => undefined);
      if (err instanceof CatalogExistsError) throw alreadyExists(err.message);
      if (err instanceof CatalogNotFoundError) throw noSuchNamespace(id.namespace);
      throw err;
    }
    return { metadataLocation: file, metadata };
  }

  async commitTable(id: TableIdentifier, requirements: readonly TableRequirement[], updates: readonly TableUpdate[]): Promise<LoadedTable> {
    return this.locked(id, () => this.commitUnlocked(id, requirements, updates));
  }

  private async commitUnlocked(id: TableIdentifier, requirements: readonly TableRequirement[], updates: readonly TableUpdate[]): Promise<LoadedTable> {
    for (let attempt = 1; ; attempt++) {
      const location = await this.store.catalogTableLocation(id.namespace, id.name);
      if (location === null) {
        // A staged create is committed with assert-create and every update that builds the table.
        if (!requirements.some((r) => r.type === 'assert-create')) throw noSuchTable(id);
        validateIdentifier(id.namespace, id.name);
        const base = emptyMetadata(this.defaultLocation(id.namespace, id.name));
        const metadata = this.apply(base, null, requirements, updates);
        this.checkLocation(metadata.location);
        return this.create(id, metadata);
      }
      const base = await this.readMetadata(location);
      const metadata = withMetadataLog(this.apply(base, base, requirements, updates), base, location);
      this.checkLocation(metadata.location);
      const next = metadataFile(metadata.location, versionOf(location) + 1);
      await this.io.write(next, Buffer.from(JSON.stringify(metadata)));
      crashPoint('after-metadata-file');
      try {
        await this.store.catalogSwapTable(id.namespace, id.name, location, next);
        await this.deleteDroppedMetadata(base, location, metadata, next);
        return { metadataLocation: next, metadata };
      } catch (err) {
        await this.io.delete([next]).catch(() => undefined);
        if (err instanceof CatalogNotFoundError) throw noSuchTable(id);
        if (!(err instanceof CatalogConflictError)) throw err;
        if (attempt >= MAX_SWAP_ATTEMPTS) throw commitFailed(err.message);
      }
    }
  }

  /** write.metadata.delete-after-commit.enabled: metadata files that fell off the metadata log are deleted. */
  private async deleteDroppedMetadata(base: TableMetadata, baseFile: string, metadata: TableMetadata, file: string): Promise<void> {
    if (metadata.properties['write.metadata.delete-after-commit.enabled'] !== 'true') return;
    const kept = new Set([file, ...metadata['metadata-log'].map((e) => e['metadata-file'])]);
    const dropped = [baseFile, ...base['metadata-log'].map((e) => e['metadata-file'])].filter((f) => !kept.has(f) && this.io.owns(f));
    // The commit has landed; a file left behind is only garbage, never a reason to fail it.
    await this.io.delete(dropped).catch(() => undefined);
  }

  private apply(base: TableMetadata, checked: TableMetadata | null, requirements: readonly TableRequirement[], updates: readonly TableUpdate[]): TableMetadata {
    try {
      checkRequirements(checked, requirements);
      return applyUpdates(base, updates);
    } catch (err) {
      if (err instanceof CommitConflictError) throw commitFailed(err.message);
      if (err instanceof InvalidUpdateError) throw badRequest(err.message);
      throw err;
    }
  }

  async dropTable(id: TableIdentifier, purge = false): Promise<void> {
    let location: string;
    try {
      location = await this.store.catalogDropTable(id.namespace, id.name);
    } catch (err) {
      if (err instanceof CatalogNotFoundError) throw noSuchTable(id);
      throw err;
    }
    if (!purge) return;
    const metadata = await this.readMetadata(location).catch(() => null);
    if (metadata === null || !this.io.owns(metadata.location)) return;
    // Purge: every object under the table's location (data, manifests, metadata files).
    const uris: string[] = [];
    for await (const o of this.io.list(`${metadata.location}/`)) uris.push(o.uri);
    await this.io.delete(uris);
  }

  async renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void> {
    validateIdentifier(to.namespace, to.name);
    try {
      await this.store.catalogRenameTable(from.namespace, from.name, to.namespace, to.name);
    } catch (err) {
      if (err instanceof CatalogExistsError) throw alreadyExists(err.message);
      if (err instanceof CatalogNotFoundError) throw err.message.startsWith('Namespace') ? noSuchNamespace(to.namespace) : noSuchTable(from);
      throw err;
    }
  }

  async removeUncommittedMetadata(id: TableIdentifier): Promise<number> {
    return this.locked(id, async () => {
      const location = await this.store.catalogTableLocation(id.namespace, id.name);
      if (location === null) return 0;
      const metadata = await this.readMetadata(location);
      if (!this.io.owns(metadata.location)) return 0;
      const current = versionOf(location);
      const leftovers: string[] = [];
      for await (const o of this.io.list(`${metadata.location}/metadata/`)) {
        if (METADATA_FILE.test(o.uri) && versionOf(o.uri) > current) leftovers.push(o.uri);
      }
      await this.io.delete(leftovers);
      return leftovers.length;
    });
  }

  private async locked<T>(id: TableIdentifier, run: () => Promise<T>): Promise<T> {
    const key = JSON.stringify([...id.namespace, id.name]);
    const previous = this.tableLocks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(run);
    this.tableLocks.set(key, next);
    try {
      return await next;
    } finally {
      if (this.tableLocks.get(key) === next) this.tableLocks.delete(key);
    }
  }

  async readMetadata(location: string): Promise<TableMetadata> {
    return JSON.parse((await this.io.read(location)).toString('utf8')) as TableMetadata;
  }

  private defaultLocation(ns: Namespace, name: string): string {
    return `${this.warehouse}${[...ns, name].map(encodeURIComponent).join('/')}`;
  }

  private checkLocation(location: string): void {
    try {
      this.io.keyOf(location);
    } catch (err) {
      if (err instanceof ForeignLocationError) throw badRequest(`table location ${location} must be inside the warehouse's object store (${this.io.baseUri})`);
      throw err;
    }
  }

  private async translate<T>(run: () => Promise<T>, ns: Namespace): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof CatalogNotFoundError) throw noSuchNamespace(ns);
      if (err instanceof CatalogNotEmptyError) throw namespaceNotEmpty(err.message);
      throw err;
    }
  }
}

/** Metadata files are numbered, as Java's catalogs number them: 00001-<uuid>.metadata.json. */
function metadataFile(tableLocation: string, version: number): string {
  return `${tableLocation}/metadata/${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`;
}

const METADATA_FILE = /\/(\d+)-[^/]*\.metadata\.json$/;

function versionOf(metadataLocation: string): number {
  const m = METADATA_FILE.exec(metadataLocation);
  return m === null ? 0 : Number(m[1]);
}

function validateNamespace(ns: Namespace): void {
  if (ns.length === 0 || ns.some((l) => l === '' || l.includes('\u001f'))) throw badRequest(`invalid namespace ${JSON.stringify(ns)}`);
}

function validateIdentifier(ns: Namespace, name: string): void {
  validateNamespace(ns);
  if (name === '' || name.includes('/') || name.includes('\u001f')) throw badRequest(`invalid table name ${JSON.stringify(name)}`);
}
