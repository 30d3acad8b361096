// Reads a table topic's Iceberg table as a query engine would: the catalog's
// current metadata file, its current snapshot's manifest list, the manifests,
// and the Parquet data files they name (read with DuckDB, not our code).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readManifest, readManifestList, type ManifestEntry } from '../../src/table/iceberg/manifest.js';

export interface SnapshotJson {
  readonly 'snapshot-id': number;
  readonly 'manifest-list': string;
  readonly summary: Record<string, string>;
}

export interface TableJson {
  readonly 'format-version': number;
  readonly location: string;
  readonly 'current-snapshot-id'?: number | null;
  readonly snapshots?: SnapshotJson[];
  readonly 'partition-specs': { 'spec-id': number; fields: { name: string; transform: string; 'source-id': number; 'field-id': number }[] }[];
  readonly 'default-spec-id': number;
  readonly 'metadata-log'?: { 'metadata-file': string }[];
  readonly [k: string]: unknown;
}

export const currentSnapshotOf = (t: TableJson): SnapshotJson | undefined => t.snapshots?.find((s) => s['snapshot-id'] === t['current-snapshot-id']);

/** The committed offsets a table's current snapshot records, by partition. */
export const committedOffsets = (t: TableJson): Record<string, number> => JSON.parse(currentSnapshotOf(t)?.summary['floe.kafka.offsets'] ?? '{}') as Record<string, number>;

/** The table as the REST catalog serves it, or null when it does not exist. */
export async function loadTable(catalogUrl: string, namespace: string, table: string): Promise<{ metadataLocation: string; metadata: TableJson } | null> {
  const r = await fetch(`${catalogUrl}/v1/namespaces/${encodeURIComponent(namespace)}/tables/${encodeURIComponent(table)}`);
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`load ${namespace}.${table}: HTTP ${r.status} ${await r.text()}`);
  const body = (await r.json()) as { 'metadata-location': string; metadata: TableJson };
  return { metadataLocation: body['metadata-location'], metadata: body.metadata };
}

/** Polls the catalog until the table satisfies `done`. */
export async function waitForTable(catalogUrl: string, namespace: string, table: string, done: (t: TableJson) => boolean, timeoutMs = 30_000): Promise<{ metadataLocation: string; metadata: TableJson }> {
  const deadline = Date.now() + timeoutMs;
  let last: TableJson | null = null;
  for (;;) {
    const t = await loadTable(catalogUrl, namespace, table).catch(() => null);
    if (t !== null && done(t.metadata)) return t;
    last = t?.metadata ?? last;
    if (Date.now() > deadline) throw new Error(`table ${namespace}.${table} did not get there in ${timeoutMs} ms; last summary: ${JSON.stringify(last === null ? null : currentSnapshotOf(last)?.summary)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The metadata file the built-in catalog points a table at, read from data.dir/metadata.db while the broker is down. */
export function storedMetadataLocation(dataDir: string, namespace: string, table: string): string | null {
  const db = new Database(join(dataDir, 'metadata.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT metadata_location FROM iceberg_tables WHERE namespace = ? AND name = ?').get(namespace, table) as { metadata_location: string } | undefined;
    return row?.metadata_location ?? null;
  } finally {
    db.close();
  }
}

export async function readMetadataFile(location: string): Promise<TableJson> {
  return JSON.parse(await readFile(fileURLToPath(location), 'utf8')) as TableJson;
}

/** The live manifest entries of a snapshot (default: the current one), following its manifest list. */
export async function liveEntries(metadata: TableJson, snapshot = currentSnapshotOf(metadata)): Promise<ManifestEntry[]> {
  if (snapshot === undefined) return [];
  const out: ManifestEntry[] = [];
  for (const m of await readManifestList(await readFile(fileURLToPath(snapshot['manifest-list'])))) {
    for (const e of (await readManifest(await readFile(fileURLToPath(m.manifestPath)))).entries) if (e.status !== 2) out.push(e);
  }
  return out;
}

/** Local paths of the data files of the table's current snapshot. */
export async function dataFilePaths(metadata: TableJson): Promise<string[]> {
  return (await liveEntries(metadata)).map((e) => fileURLToPath(e.dataFile.filePath));
}

/** Every file under a table's location, as local paths relative to it ('data/…', 'metadata/…'). */
export async function tableFiles(metadata: TableJson): Promise<string[]> {
  const root = fileURLToPath(metadata.location);
  const out: string[] = [];
  for (const sub of ['data', 'metadata']) {
    const names = await readdir(join(root, sub)).catch(() => [] as string[]);
    out.push(...names.map((n) => `${sub}/${n}`));
  }
  return out.sort();
}

let duck: Promise<DuckDBConnection> | null = null;

/** Rows of one query on the tests' shared in-memory DuckDB. */
async function duckQuery<T>(sql: string): Promise<T[]> {
  duck ??= DuckDBInstance.create(':memory:').then((d) => d.connect());
  return (await (await duck).runAndReadAll(sql)).getRowObjectsJson() as T[];
}

/** A file path as an SQL string literal. */
const sqlString = (file: string) => `'${file.replace(/'/g, "''")}'`;

/** Rows of Parquet files read by DuckDB (union_by_name, so files written under older schemas read too). */
export async function duckRows(files: readonly string[], select: string, order: string): Promise<Record<string, unknown>[]> {
  if (files.length === 0) return [];
  return duckQuery(`SELECT ${select} FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true) ORDER BY ${order}`);
}

/** DuckDB's view of a Parquet footer: every column's name and field id. */
export async function parquetFieldIds(file: string): Promise<{ name: string; fieldId: number | null }[]> {
  const rows = await duckQuery<{ name: string; field_id: number | string | null }>(`SELECT name, field_id FROM parquet_schema(${sqlString(file)})`);
  return rows.map((r) => ({ name: r.name, fieldId: r.field_id === null ? null : Number(r.field_id) }));
}

/** Column chunks of a Parquet footer as DuckDB reads them, in the schema's leaf order, by row group. */
function parquetChunks<T>(file: string, columns: string): Promise<T[]> {
  return duckQuery<T>(`SELECT ${columns} FROM parquet_metadata(${sqlString(file)}) ORDER BY row_group_id, column_id`);
}

/** Each column chunk's path and encodings (e.g. "PLAIN, RLE_DICTIONARY"). */
export async function parquetEncodings(file: string): Promise<{ path: string; encodings: string }[]> {
  const rows = await parquetChunks<{ path_in_schema: string; encodings: string }>(file, 'path_in_schema, encodings');
  return rows.map((r) => ({ path: r.path_in_schema, encodings: r.encodings }));
}

/** Each column chunk's compressed size. */
export async function parquetChunkSizes(file: string): Promise<number[]> {
  return (await parquetChunks<{ total_compressed_size: number | string }>(file, 'total_compressed_size')).map((r) => Number(r.total_compressed_size));
}
