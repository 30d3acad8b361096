// PartitionConverter sessions for unit tests and the conversion benchmark's
// kin: one place for the options every session needs.
import type { ConverterOptions } from '../../src/table/convert/converter.js';
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
