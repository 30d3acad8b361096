// The MetadataStore interface, served by the SQLite store in a worker thread
// (sqlite-worker.ts). Typed errors are rebuilt on this side by name.
import { builtScript, WorkerClient } from '../threads/worker-client.js';
import {
  FencedError,
  NotFoundError,
  ReservationExpiredError,
  TopicExistsError,
  type CommittedOffset,
  type CompactionCommit,
  type StoredObject,
  type GroupRecord,
  type MetadataStore,
  type NewTopic,
  type ObjectCommit,
  type OpenedStream,
  type PartitionRecord,
  type StoredGroups,
  type TopicRecord,
  type TransactionalIdRecord,
} from './types.js';
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

import {
  CatalogConflictError,
  CatalogExistsError,
  CatalogNotEmptyError,
  CatalogNotFoundError,
  type CatalogStore,
} from './catalog-types.js';

const ERRORS: Record<string, new (message: string) => Error> = {
  CatalogConflictError,
  CatalogExistsError,
  CatalogNotEmptyError,
  CatalogNotFoundError,
  TopicExistsError,
  NotFoundError,
  FencedError,
  ReservationExpiredError,
  RegistryConflictError,
  SchemaIdTakenError,
};

export class WorkerMetadataStore implements MetadataStore {
  private readonly client: WorkerClient;
  readonly registry: SchemaRegistryStore;
  readonly catalog: CatalogStore;

  constructor(path: string) {
    this.client = new WorkerClient(builtScript(import.meta.url, 'sqlite-worker.js'), { workerData: { path } }, 'metadata store worker', (name, message) => new (ERRORS[name] ?? Error)(message));
    this.registry = new WorkerRegistryStore((method, ...args) => this.call(`registry.${method}`, ...args));
    this.catalog = workerCatalogStore((method, ...args) => this.call(`catalog.${method}`, ...args));
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.client.call({ method, args });
  }

  clusterId(): Promise<string> {
    return this.call('clusterId');
  }
  listTopics(): Promise<TopicRecord[]> {
    return this.call('listTopics');
  }
  createTopic(topic: NewTopic): Promise<TopicRecord> {
    return this.call('createTopic', topic);
  }
  deleteTopic(topicId: string): Promise<void> {
    return this.call('deleteTopic', topicId);
  }
  addPartitions(topicId: string, count: number): Promise<PartitionRecord[]> {
    return this.call('addPartitions', topicId, count);
  }
  setTopicConfigs(topicId: string, configs: Readonly<Record<string, string>>): Promise<void> {
    return this.call('setTopicConfigs', topicId, configs);
  }
  openStreams(streamIds: readonly number[]): Promise<OpenedStream[]> {
    return this.call('openStreams', streamIds);
  }
  reserveObjectIds(count: number): Promise<number> {
    return this.call('reserveObjectIds', count);
  }
  commitObject(commit: ObjectCommit): Promise<{ fenced: number[] }> {
    return this.call('commitObject', commit);
  }
  trimStream(streamId: number, epoch: number, newStartOffset: number): Promise<void> {
    return this.call('trimStream', streamId, epoch, newStartOffset);
  }
  listObjects(): Promise<StoredObject[]> {
    return this.call('listObjects');
  }
  commitCompaction(commit: CompactionCommit): Promise<boolean> {
    return this.call('commitCompaction', commit);
  }
  markUnreferencedObjects(deleteAfter: number): Promise<number> {
    return this.call('markUnreferencedObjects', deleteAfter);
  }
  objectsDueForDeletion(now: number, limit: number): Promise<{ objectId: number; objectKey: string }[]> {
    return this.call('objectsDueForDeletion', now, limit);
  }
  forgetObjects(objectIds: readonly number[]): Promise<void> {
    return this.call('forgetObjects', objectIds);
  }
  expireObjectIdReservations(reservedBefore: number): Promise<number[]> {
    return this.call('expireObjectIdReservations', reservedBefore);
  }
  allocateProducerIds(count: number): Promise<number> {
    return this.call('allocateProducerIds', count);
  }
  getTransactionalId(transactionalId: string): Promise<TransactionalIdRecord | null> {
    return this.call('getTransactionalId', transactionalId);
  }
  putTransactionalId(record: TransactionalIdRecord): Promise<void> {
    return this.call('putTransactionalId', record);
  }

  loadGroups(): Promise<StoredGroups> {
    return this.call('loadGroups');
  }
  storeGroup(group: GroupRecord): Promise<void> {
    return this.call('storeGroup', group);
  }
  commitOffsets(group: GroupRecord, offsets: readonly CommittedOffset[]): Promise<void> {
    return this.call('commitOffsets', group, offsets);
  }
  deleteOffsets(groupId: string, partitions: readonly { readonly topic: string; readonly partition: number }[]): Promise<void> {
    return this.call('deleteOffsets', groupId, partitions);
  }
  deleteGroups(groupIds: readonly string[]): Promise<void> {
    return this.call('deleteGroups', groupIds);
  }

  async close(): Promise<void> {
    if (!this.client.failed) await this.call('close');
    this.client.fail(new Error('metadata store closed'));
    await this.client.terminate();
  }
}

type Call = <T>(method: keyof SchemaRegistryStore, ...args: unknown[]) => Promise<T>;

class WorkerRegistryStore implements SchemaRegistryStore {
  constructor(private readonly call: Call) {}

  registrySchemaById(id: number): Promise<StoredSchema | null> {
    return this.call('registrySchemaById', id);
  }
  registryFindSchema(schemaType: string, schema: string, references: readonly SchemaReference[]): Promise<number | null> {
    return this.call('registryFindSchema', schemaType, schema, references);
  }
  registrySubjectVersions(subjectPrefix: string): Promise<SubjectVersion[]> {
    return this.call('registrySubjectVersions', subjectPrefix);
  }
  registryVersions(subject: string): Promise<SubjectVersion[]> {
    return this.call('registryVersions', subject);
  }
  registryVersionsOfSchema(id: number): Promise<SubjectVersion[]> {
    return this.call('registryVersionsOfSchema', id);
  }
  registryReferencedBy(subject: string, version: number): Promise<number[]> {
    return this.call('registryReferencedBy', subject, version);
  }
  registryRegister(registration: SchemaRegistration): Promise<{ id: number; version: number }> {
    return this.call('registryRegister', registration);
  }
  registryDeleteVersions(subject: string, versions: readonly number[], permanent: boolean): Promise<void> {
    return this.call('registryDeleteVersions', subject, versions, permanent);
  }
  registryGetSetting(subject: string, key: RegistrySettingKey): Promise<string | null> {
    return this.call('registryGetSetting', subject, key);
  }
  registrySetSetting(subject: string, key: RegistrySettingKey, value: string | null): Promise<void> {
    return this.call('registrySetSetting', subject, key, value);
  }
}

const CATALOG_METHODS = [
  'catalogCreateNamespace',
  'catalogListNamespaces',
  'catalogNamespaceProperties',
  'catalogUpdateNamespaceProperties',
  'catalogDropNamespace',
  'catalogListTables',
  'catalogTableLocation',
  'catalogCreateTable',
  'catalogSwapTable',
  'catalogDropTable',
  'catalogRenameTable',
] as const satisfies readonly (keyof CatalogStore)[];

/** Every CatalogStore method forwarded to the worker under the same name. */
function workerCatalogStore(call: (method: string, ...args: unknown[]) => Promise<unknown>): CatalogStore {
  return Object.fromEntries(CATALOG_METHODS.map((m) => [m, (...args: unknown[]) => call(m, ...args)])) as unknown as CatalogStore;
}
// Fails to compile when CatalogStore gains a method the list above lacks.
const _everyCatalogMethod: [Exclude<keyof CatalogStore, (typeof CATALOG_METHODS)[number]>] extends [never] ? true : never = true;
void _everyCatalogMethod;
