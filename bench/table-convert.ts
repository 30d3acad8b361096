// Table topic conversion on one core: Confluent-framed Avro records, in the
// record batches the log holds, through PartitionConverter (decompress,
// decode, Avro → Arrow, Parquet with zstd) to data files, on this thread.
//
//   npm run bench:table -- [--records 500000] [--batch 500] [--codec none|zstd|lz4] [--flatten true|false] [--runs 3]
//                          [--text 0]   (characters of free text per record, in an extra `description` field)
//                          [--raw true] (raw layout: the same records' values as bytes, no Avro decoding)
//                          [--partition-by '[day(created_at)]'] (a partitioned table, as automq.table.topic.partition.by)
//                          [--commit-mib 0] (flush a file after every N MiB of batches, as each commit interval
//                                            does in a broker, counted before compression so that files
//                                            hold as many records whatever the codec; 0: one flush at the
//                                            end of each run)
//
// Runs under the broker's V8 flags (src/cli/node-flags.ts), restarting
// itself with them when they are missing.
//
// Prints input MiB/s and records/s per CPU-second (process.cpuUsage: the
// conversion is single-threaded; parquet-wasm runs on this thread too),
// and the Parquet bytes written. Issue 6's target: ≥ 50 MiB/s per core.

import avro from 'avsc';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { missingNodeFlags } from '../src/cli/node-flags.js';
import { buildBatch } from '../src/protocol/records/builder.js';
import { avroToIceberg } from '../src/table/convert/avro-schema.js';
import { PartitionConverter } from '../src/table/convert/converter.js';
import { rawSchema, schemaLayout, type Layout } from '../src/table/convert/layout.js';
import { PARTITION_FIELD_ID_START } from '../src/table/iceberg/metadata.js';
import { partitionSpecFor } from '../src/table/partition-by.js';

interface Options {
  records: number;
  batch: number;
  codec: string;
  flatten: boolean;
  /** The raw layout: values copied as bytes, no Avro decoding (the ceiling of the schema layouts). */
  raw: boolean;
  runs: number;
  text: number;
  /** Write a CPU profile of the conversion runs only (not the data generation) to this file. */
  profile: string | null;
  partitionBy: string | null;
  commitMib: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { records: 500_000, batch: 500, codec: 'none', flatten: true, raw: false, runs: 3, text: 0, profile: null, partitionBy: null, commitMib: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    const value = argv[i + 1];
    if (key === 'codec') o.codec = value;
    else if (key === 'flatten') o.flatten = value !== 'false';
    else if (key === 'raw') o.raw = value === 'true';
    else if (key === 'profile') o.profile = value;
    else if (key === 'partition-by') o.partitionBy = value;
    else if (key === 'commit-mib') o.commitMib = Number(value);
    else if (key === 'records' || key === 'batch' || key === 'runs' || key === 'text') o[key] = Number(value);
    else throw new Error(`unknown option --${key}`);
  }
  return o;
}

const CODECS: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

// An order event of the kind table topics carry: ids, strings, a decimal, a
// timestamp, an enum, a nested struct, an array and optional fields.
const SCHEMA = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'order_id', type: 'long' },
    { name: 'customer_id', type: 'int' },
    { name: 'customer_name', type: 'string' },
    { name: 'email', type: ['null', 'string'], default: null },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'currency', type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD', 'GBP'] } },
    { name: 'created_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'shipping', type: { type: 'record', name: 'Address', fields: [{ name: 'street', type: 'string' }, { name: 'city', type: 'string' }, { name: 'zip', type: 'string' }, { name: 'country', type: 'string' }] } },
    { name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'sku', type: 'string' }, { name: 'qty', type: 'int' }, { name: 'price', type: 'double' }] } } },
    { name: 'discount', type: ['null', 'double'], default: null },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};

const WORDS = 'the order was packed and shipped from the warehouse in lyon with tracking by the carrier and a note from the customer service team'.split(' ');

/** `n` characters of word-like text, different for each record. */
function text(i: number, n: number): string {
  let out = '';
  for (let k = 0; out.length < n; k++) out += `${WORDS[(i * 31 + k * 7) % WORDS.length]} `;
  return out.slice(0, n);
}

function order(i: number, textChars: number) {
  const cents = BigInt(1000 + ((i * 7919) % 500_000));
  const amount = Buffer.alloc(8);
  amount.writeBigInt64BE(cents);
  return {
    order_id: 10_000_000 + i,
    customer_id: i % 50_000,
    customer_name: `Customer ${i % 50_000} ${['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert'][i % 5]}`,
    email: i % 4 === 0 ? null : `customer${i % 50_000}@example.com`,
    amount,
    currency: ['EUR', 'USD', 'GBP'][i % 3],
    created_at: 1_790_000_000_000 + i * 13,
    shipping: { street: `${i % 300} rue de la République`, city: ['Lyon', 'Paris', 'Nantes', 'Lille'][i % 4], zip: String(69000 + (i % 100)), country: 'FR' },
    items: Array.from({ length: 1 + (i % 4) }, (_, k) => ({ sku: `SKU-${(i + k) % 9973}`, qty: 1 + ((i + k) % 5), price: 3.5 + ((i + k) % 200) / 4 })),
    discount: i % 3 === 0 ? null : (i % 20) / 100,
    note: i % 10 === 0 ? `gift wrap please, order ${i}` : null,
    ...(textChars > 0 ? { description: text(i, textChars) } : {}),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const schema = o.text > 0 ? { ...SCHEMA, fields: [...SCHEMA.fields, { name: 'description', type: 'string' }] } : SCHEMA;
  const type = avro.Type.forSchema(schema as avro.Schema);
  const schemaId = 1;
  const header = Buffer.from([0, 0, 0, 0, schemaId]);
  let valueBytes = 0;
  const batches: Buffer[] = [];
  const plainSizes: number[] = [];
  for (let base = 0; base < o.records; base += o.batch) {
    const n = Math.min(o.batch, o.records - base);
    const records = Array.from({ length: n }, (_, k) => {
      const value = Buffer.concat([header, type.toBuffer(order(base + k, o.text))]);
      valueBytes += value.length;
      return { key: `order-${base + k}`, value, timestamp: 1_790_000_000_000 + base + k };
    });
    const codec = CODECS[o.codec] ?? 0;
    const batch = await buildBatch(records, { baseOffset: base, compression: codec });
    batches.push(batch);
    // What a commit interval holds is a span of time, so as many records whatever the codec: files are cut by the batches' size before compression.
    plainSizes.push(codec === 0 ? batch.length : (await buildBatch(records, { baseOffset: base })).length);
  }
  const batchBytes = batches.reduce((n, b) => n + b.length, 0);
  const layout: Layout = { valueType: o.raw ? 'raw' : 'by_schema_id', keyType: 'string', flatten: o.flatten };
  const tableSchema = layout.valueType === 'raw' ? rawSchema(layout) : { ...schemaLayout(avroToIceberg(JSON.stringify(schema)).struct, layout), 'schema-id': 0 };
  console.log(`${o.records} records, ${(valueBytes / o.records).toFixed(0)} B Avro value each; ${(valueBytes / 2 ** 20).toFixed(1)} MiB of values in ${(batchBytes / 2 ** 20).toFixed(1)} MiB of ${o.codec} batches; ${o.raw ? 'raw layout' : `flatten=${o.flatten}`}${o.partitionBy === null ? '' : `; partition.by ${o.partitionBy}`}`);

  const session = o.profile === null ? null : new Session();
  if (session !== null) {
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.start');
  }
  for (let run = 1; run <= o.runs; run++) {
    const converter = new PartitionConverter({
      partition: 0,
      layout,
      tableSchema,
      spec: o.partitionBy === null ? { 'spec-id': 0, fields: [] } : partitionSpecFor(tableSchema, o.partitionBy, [], PARTITION_FIELD_ID_START - 1),
      dlqSchema: rawSchema(layout, true),
      targetFileBytes: 128 * 2 ** 20,
      errorsTolerance: 'none',
      startOffset: 0,
      dlqStartOffset: 0,
      latestSchemaId: null,
    });
    converter.addSchemas(new Map([[schemaId, { schemaType: 'AVRO', schema: JSON.stringify(schema), references: [] }]]));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let parquetBytes = 0;
    let files = 0;
    const tally = (written: readonly { bytes: Uint8Array }[]) => {
      for (const f of written) (parquetBytes += f.bytes.length), files++;
    };
    let sinceFlush = 0;
    // 4 MiB reads, as the coordinator reads the log.
    for (let i = 0; i < batches.length; ) {
      const chunk: Buffer[] = [];
      let bytes = 0;
      let plain = 0;
      while (i < batches.length && bytes < 4 * 2 ** 20) {
        bytes += batches[i].length;
        plain += plainSizes[i];
        chunk.push(batches[i++]);
      }
      const outcome = await converter.append(chunk);
      if (outcome.status !== 'ok') throw new Error(`conversion ${outcome.status}: ${JSON.stringify(outcome).slice(0, 300)}`);
      tally(outcome.files);
      sinceFlush += plain;
      if (o.commitMib > 0 && sinceFlush >= o.commitMib * 2 ** 20) {
        tally(await converter.flush());
        sinceFlush = 0;
      }
    }
    tally(await converter.flush());
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (converter.converted !== o.records) throw new Error(`converted ${converter.converted} of ${o.records}`);
    console.log(
      `run ${run}: ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} CPU-s; ` +
        `${(valueBytes / 2 ** 20 / cpuSeconds).toFixed(1)} MiB/s of Avro values per core (${(batchBytes / 2 ** 20 / cpuSeconds).toFixed(1)} MiB/s of batches), ` +
        `${Math.round(o.records / cpuSeconds).toLocaleString('en')} records/s per core; ${files} Parquet file(s), ${(parquetBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  if (session !== null) {
    const { profile } = (await post(session, 'Profiler.stop')) as { profile: unknown };
    writeFileSync(o.profile!, JSON.stringify(profile));
  }
}

function post(session: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, (err, result) => (err ? reject(err) : resolve(result))));
}

// Conversion runs in a broker's worker threads, under the V8 flags the broker starts with: the bench does too.
const missing = missingNodeFlags();
if (missing.length > 0) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...missing, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
