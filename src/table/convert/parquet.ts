// Arrow → Parquet with parquet-wasm (arrow-rs compiled to WebAssembly): it
// turns each Arrow field's PARQUET:field_id metadata into the Parquet
// schema's field_id, which Iceberg readers resolve columns by, and writes
// zstd. ENVIRONMENT.md explains why not parquetjs (no field ids, no zstd).

import { RecordBatch, Schema, Table, tableToIPC } from 'apache-arrow';
import * as wasm from 'parquet-wasm/node';
import type { RowColumns } from './columns.js';
import { leafTypes } from './columns.js';

export interface ParquetFileResult {
  readonly bytes: Uint8Array;
  /** Compressed bytes per leaf field id (the manifest's column_sizes). */
  readonly columnSizes: Map<number, number>;
  /** Where each row group starts (the manifest's split_offsets). */
  readonly splitOffsets: number[];
}

/**
 * zstd, chunk statistics, and dictionary encoding only for the top-level
 * string and binary columns whose values repeat (RowColumns.repeatingColumns).
 * arrow-rs tries a dictionary on every column and drops it only once its
 * page is full (it has no parquet-mr-style check that the dictionary pays),
 * so high-cardinality columns paid for a dictionary they then dropped; on
 * order events, plain pages under zstd measured smaller as well as faster
 * (BENCHMARKS.md, 2026-11-23: 15.4 → 8.0 MiB, conversion +25–30%). Repeating
 * values (a status, a country, a payload resent) still get one. parquet-wasm
 * names a column by one path segment, so nested columns stay plain.
 */
function writerProperties(dictionaryColumns: readonly string[]): wasm.WriterProperties {
  let builder = new wasm.WriterPropertiesBuilder()
    .setCompression(wasm.Compression.ZSTD)
    .setDictionaryEnabled(false)
    .setCreatedBy('Floe (parquet-wasm)')
    .setStatisticsEnabled(wasm.EnabledStatistics.Chunk);
  for (const name of dictionaryColumns) builder = builder.setColumnDictionaryEnabled(name, true);
  return builder.build();
}

export async function writeParquet(columns: RowColumns): Promise<ParquetFileResult> {
  const schema = new Schema(columns.fields());
  const batch = new RecordBatch(schema, columns.finish());
  const ipc = tableToIPC(new Table(batch), 'stream');
  // writeParquet consumes its Table and its properties, so both are made per call.
  const table = wasm.Table.fromIPCStream(ipc);
  const bytes = wasm.writeParquet(table, writerProperties(columns.repeatingColumns()));
  const { columnSizes, splitOffsets } = await footerFacts(bytes, [...leafTypes(columns.schema).keys()]);
  return { bytes, columnSizes, splitOffsets };
}

/** Column chunk sizes by field id: Parquet's leaf columns come in the schema's depth-first order, as leafTypes lists ids. */
async function footerFacts(bytes: Uint8Array, leafIds: number[]): Promise<{ columnSizes: Map<number, number>; splitOffsets: number[] }> {
  const file = await wasm.ParquetFile.fromFile(blobView(bytes));
  const columnSizes = new Map<number, number>();
  const splitOffsets: number[] = [];
  try {
    const meta = file.metadata();
    // Row groups follow the 4-byte magic back to back (the writer streams them
    // in order); the footer API has no page offsets, so each start is summed.
    let offset = 4;
    for (const rg of meta.rowGroups()) {
      const cols = rg.columns();
      splitOffsets.push(offset);
      offset += rg.compressedSize();
      cols.forEach((c, i) => {
        const id = leafIds[i];
        if (id !== undefined) columnSizes.set(id, (columnSizes.get(id) ?? 0) + c.compressedSize());
      });
    }
  } finally {
    file.free();
  }
  return { columnSizes, splitOffsets };
}

/**
 * The bytes as the Blob that ParquetFile.fromFile reads, without copying
 * them: its reader asks only for `size` and for slices (the footer and the
 * page indexes before it), so each slice becomes a small Blob of its own.
 * `new Blob([bytes])` copied the whole file, about 20 ms per 50 MB at every
 * commit, to read a few kilobytes of it (BENCHMARKS.md, 2026-11-23).
 */
function blobView(bytes: Uint8Array): Blob {
  const view = { size: bytes.length, slice: (start?: number, end?: number) => new Blob([bytes.subarray(start, end)]) };
  return view as unknown as Blob;
}
