// PartitionConverter sessions for unit tests and the conversion benchmark's
// kin: one place for the options every session needs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConverterOptions, PartitionConverter, WrittenFile } from '../../src/table/convert/converter.js';
import { rawSchema, type Layout } from '../../src/table/convert/layout.js';
import type { IcebergSchema } from '../../src/table/iceberg/types.js';

/** A session's options: partition 0, unpartitioned, from offset 0, 1 MiB files, errors.tolerance=none unless `more` says otherwise. */
export const converterOptions = (layout: Layout, tableSchema: IcebergSchema, more: Partial<ConverterOptions> = {}): ConverterOptions => ({
  partition: 0,
  layout,
  tableSchema,
  spec: { 'spec-id': 0, fields: [] },
  dlqSchema: rawSchema(layout, true),
  targetFileBytes: 1 << 20,
  errorsTolerance: 'none',
  startOffset: 0,
  dlqStartOffset: 0,
  latestSchemaId: null,
  ...more,
});

/** Flushes a session that wrote one file, and writes it to `<dir>/<name>.parquet` for DuckDB. */
export async function flushToFile(converter: PartitionConverter, dir: string, name: string): Promise<{ path: string; file: WrittenFile }> {
  const files = await converter.flush();
  if (files.length !== 1) throw new Error(`expected one file, flushed ${files.length}`);
  const path = join(dir, `${name}.parquet`);
  writeFileSync(path, files[0].bytes);
  return { path, file: files[0] };
}

/**
 * Flushes a session that wrote one table file and one dead-letter file, and
 * writes both under `dir` (`<name>.parquet`, `<name>-dlq.parquet`) for DuckDB.
 */
export async function flushToFiles(converter: PartitionConverter, dir: string, name: string): Promise<{ table: string; dlq: string }> {
  const files = await converter.flush();
  const table = join(dir, `${name}.parquet`);
  const dlq = join(dir, `${name}-dlq.parquet`);
  writeFileSync(table, files.find((f) => !f.dlq)!.bytes);
  writeFileSync(dlq, files.find((f) => f.dlq)!.bytes);
  return { table, dlq };
}
