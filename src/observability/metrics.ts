// Everything an operator graphs, as Prometheus metrics (prom-client). Each
// broker owns its own Registry, so several brokers in one process (tests,
// benchmarks) never share or clash over series.
//
// Components get this object and hold pre-labelled children on their hot
// paths, so an increment is a field update, not a label lookup.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What an object-store request ended in, as the `outcome` label says it. */
export type RequestOutcome = 'success' | 'not_found' | 'throttled' | 'server_error' | 'timeout' | 'network_error' | 'client_error';

export type ObjectStoreOperation = 'put' | 'get' | 'head' | 'delete' | 'list' | 'multipart_create' | 'multipart_upload_part' | 'multipart_complete' | 'multipart_abort';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SIZE_BUCKETS = [1024, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456];

export class BrokerMetrics {
  readonly registry = new Registry();

  readonly objectStoreRequests = new Counter({
    name: 'floe_object_store_requests_total',
    help: 'Object store requests (each attempt, retries included) by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly objectStoreRequestSeconds = new Histogram({
    name: 'floe_object_store_request_seconds',
    help: 'Object store request latency by operation (each attempt).',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly objectStoreBytes = new Counter({
    name: 'floe_object_store_bytes_total',
    help: 'Bytes sent to (upload) and received from (download) the object store.',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly objectStoreRetries = new Counter({
    name: 'floe_object_store_retries_total',
    help: 'Object store requests retried after a retriable failure, by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly objectStoreSdkFallbacks = new Counter({
    name: 'floe_object_store_sdk_fallbacks_total',
    help: 'S3 responses to block reads (get) and uploads (put) the broker\'s direct HTTP client did not take, by reason; each such request was sent again through the SDK.',
    labelNames: ['operation', 'reason'] as const,
    registers: [this.registry],
  });

  readonly walFlushes = new Counter({
    name: 'floe_wal_flushes_total',
    help: 'WAL flushes by result (committed or failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly walFlushBytes = new Histogram({
    name: 'floe_wal_flush_bytes',
    help: 'Size of each WAL object written.',
    buckets: SIZE_BUCKETS,
    registers: [this.registry],
  });
  readonly walFlushSeconds = new Histogram({
    name: 'floe_wal_flush_seconds',
    help: 'Time from a flush starting to its metadata commit, by stage: prepare (an object id), upload, commit_wait (for the flush before to commit), commit, and total, their sum.',
    labelNames: ['stage'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly walPendingBytes = new Gauge({
    name: 'floe_wal_pending_bytes',
    help: 'Bytes accepted but not yet acknowledged (buffered plus uploading).',
    registers: [this.registry],
  });

  readonly cacheRequests = new Counter({
    name: 'floe_cache_requests_total',
    help: 'Cache lookups by cache (log, block) and result (hit, miss); the hit ratio is hit / (hit + miss).',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });
  readonly cacheBytes = new Gauge({
    name: 'floe_cache_bytes',
    help: 'Bytes held by each cache.',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });

  readonly bufferPoolAllocations = new Counter({
    name: 'floe_buffer_pool_allocations_total',
    help: 'Buffers for record batches (produce request frames, object blocks read) by outcome: reused (a released one) or new (a fresh allocation, for the garbage collector to free later).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly bufferPoolFreeBytes = new Gauge({
    name: 'floe_buffer_pool_free_bytes',
    help: 'Bytes of released buffers kept for reuse.',
    registers: [this.registry],
  });

  readonly requests = new Counter({
    name: 'floe_requests_total',
    help: 'Kafka requests handled, by API.',
    labelNames: ['api'] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'floe_request_seconds',
    help: 'Kafka request latency, from decoded request to response, by API.',
    labelNames: ['api'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly produceBytes = new Counter({ name: 'floe_produce_bytes_total', help: 'Record batch bytes appended by Produce.', registers: [this.registry] });
  readonly fetchBytes = new Counter({ name: 'floe_fetch_bytes_total', help: 'Record batch bytes returned by Fetch.', registers: [this.registry] });
  readonly schemaRegistryRequests = new Counter({
    name: 'floe_schema_registry_requests_total',
    help: 'Schema registry REST requests, by method, route and HTTP status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly schemaRegistryRequestSeconds = new Histogram({
    name: 'floe_schema_registry_request_seconds',
    help: 'Schema registry REST request latency, by method and route.',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly schemaValidationRejections = new Counter({
    name: 'floe_schema_validation_rejected_batches_total',
    help: 'Produced batches refused by broker-side schema validation (INVALID_RECORD), by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly tableRecords = new Counter({
    name: 'floe_table_records_total',
    help: 'Records committed to table topics\' Iceberg tables, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly tableDeadLetters = new Counter({
    name: 'floe_table_dead_letters_total',
    help: 'Records that could not become table rows and were committed to the <table>_dlq table, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly tableCommits = new Counter({
    name: 'floe_table_commits_total',
    help: 'Table topic commit intervals, by topic and result (committed, failed).',
    labelNames: ['topic', 'result'] as const,
    registers: [this.registry],
  });
  readonly tableCommitSeconds = new Histogram({
    name: 'floe_table_commit_seconds',
    help: 'Time of one table topic interval: reading, converting, uploading and committing.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly tableStoppedPartitions = new Gauge({
    name: 'floe_table_stopped_partitions',
    help: 'Partitions whose conversion is stopped at a record it cannot convert (errors.tolerance=none), by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly tableExpiredSnapshots = new Counter({
    name: 'floe_table_expired_snapshots_total',
    help: 'Snapshots removed from table topics\' tables by expire.snapshot, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly tableDeletedFiles = new Counter({
    name: 'floe_table_deleted_files_total',
    help: 'Manifest lists, manifests and data files deleted because only expired snapshots reached them, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly tableLagRecords = new Gauge({
    name: 'floe_table_lag_records',
    help: 'Records in the log that the table has not committed yet, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly produceThrottleMs = new Counter({
    name: 'floe_produce_throttle_ms_total',
    help: 'throttle_time_ms handed to producers because the write buffer was filling.',
    registers: [this.registry],
  });

  readonly retentionDeletedObjects = new Counter({
    name: 'floe_objects_deleted_total',
    help: 'Objects deleted from the object store, by reason (unreferenced, orphan, compacted).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly compactions = new Counter({
    name: 'floe_compactions_total',
    help: 'Compaction commits by kind (stream_set, stream_object_split, stream_object_merge) and result.',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  private readonly collectors: (() => void)[] = [];

  /** `processMetrics`: Node's process series too, with the event loop's delay sampled every `eventLoopResolutionMs`. */
  constructor(opts: { processMetrics?: boolean; eventLoopResolutionMs?: number } = {}) {
    if (opts.processMetrics === true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'floe_', eventLoopMonitoringPrecision: opts.eventLoopResolutionMs ?? 10 });
    }
  }

  /** Reports one object-store request attempt. */
  objectStoreRequest(operation: ObjectStoreOperation, outcome: RequestOutcome, seconds: number): void {
    this.objectStoreRequests.labels(operation, outcome).inc();
    this.objectStoreRequestSeconds.labels(operation).observe(seconds);
  }

  /** Runs `fn` before every scrape, to set gauges from the component's own counters. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  async text(): Promise<string> {
    for (const c of this.collectors) c();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
