// Retention and garbage collection of S3Stream (ARCHITECTURE §5), one pass
// per log.retention.check.interval.ms:
//
// 1. retention.ms / retention.bytes move each stream's log start offset, as
//    Kafka deletes whole segments: a prefix of ranges goes only when every
//    record in it is past the limit. A range is our segment.
// 2. Objects that no range names any more (trimmed, deleted topics, replaced
//    by compaction) are marked, and deleted from the object store once
//    log.segment.delete.delay.ms has passed, so reads that planned on them
//    finish first.
// 3. Object ids reserved longer than object.orphan.timeout.ms ago and never
//    committed name uploads whose broker died between PUT and commit; their
//    keys are deleted. The metadata store refuses a late commit of such an id,
//    so this can never delete a committed object.

import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/types.js';
import type { BrokerMetrics } from '../observability/metrics.js';
import { StreamClosedError } from './errors.js';
import { objectKey } from './object-format.js';
import type { ObjectStore } from './objectstore/types.js';
import type { StreamStore } from './s3stream.js';
import { PeriodicTask } from './periodic.js';
import type { Stream } from './stream.js';
import { FencedError } from '../metadata/types.js';

export interface RetentionTarget {
  readonly stream: Stream;
  /** -1: no time limit. */
  readonly retentionMs: number;
  /** -1: no size limit. */
  readonly retentionBytes: number;
}

export interface RetentionOptions {
  readonly checkIntervalMs: number;
  readonly deleteDelayMs: number;
  readonly orphanTimeoutMs: number;
}

export interface RetentionPass {
  readonly trimmedStreams: number;
  readonly markedObjects: number;
  readonly deletedObjects: number;
  readonly sweptOrphanIds: number;
}

/** Objects deleted per metadata round trip. */
const DELETE_BATCH = 1000;

/** The log start offset retention allows for a stream, or null to keep it where it is. */
export function retainedStart(stream: Stream, target: Omit<RetentionTarget, 'stream'>, now: number): number | null {
  let start = stream.startOffset;
  const live = stream.ranges.filter((r) => r.endOffset > start && r.endOffset <= stream.committedEnd);
  if (target.retentionMs >= 0) {
    const cutoff = now - target.retentionMs;
    for (const r of live) {
      if (r.maxTimestamp >= cutoff) break;
      start = Math.max(start, r.endOffset);
    }
  }
  if (target.retentionBytes >= 0) {
    let size = live.reduce((n, r) => n + (r.endOffset > start ? r.size : 0), 0);
    for (const r of live) {
      if (r.endOffset <= start) continue;
      if (size - r.size < target.retentionBytes) break;
      size -= r.size;
      start = r.endOffset;
    }
  }
  return start > stream.startOffset ? start : null;
}

export class LogRetention {
  /** Passes run at the clock runOnce(now) gives, or the real one. */
  private readonly task: PeriodicTask<RetentionPass, number>;

  constructor(
    private readonly store: StreamStore,
    private readonly meta: MetadataStore,
    private readonly objects: ObjectStore,
    private readonly targets: () => Iterable<RetentionTarget>,
    private readonly opts: RetentionOptions,
    private readonly log: Logger,
    private readonly metrics: BrokerMetrics,
  ) {
    this.task = new PeriodicTask(opts.checkIntervalMs, (now = Date.now()) => this.pass(now));
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass now (at `now`, which tests move); concurrent callers share the pass in progress. */
  runOnce(now = Date.now()): Promise<RetentionPass> {
    return this.task.runOnce(now);
  }

  private async pass(now: number): Promise<RetentionPass> {
    let trimmedStreams = 0;
    for (const t of this.targets()) {
      if (t.stream.closed) continue;
      const start = retainedStart(t.stream, t, now);
      if (start === null) continue;
      try {
        await this.store.trim(t.stream, start);
        trimmedStreams++;
      } catch (err) {
        if (err instanceof StreamClosedError || err instanceof FencedError) continue;
        this.log.error({ err, stream: t.stream.id }, 'retention could not move the log start offset');
      }
    }
    let markedObjects = 0;
    let deletedObjects = 0;
    let sweptOrphanIds = 0;
    try {
      markedObjects = await this.meta.markUnreferencedObjects(now + this.opts.deleteDelayMs);
      for (;;) {
        const due = await this.meta.objectsDueForDeletion(now, DELETE_BATCH);
        if (due.length === 0) break;
        await this.objects.delete(due.map((o) => o.objectKey));
        await this.meta.forgetObjects(due.map((o) => o.objectId));
        deletedObjects += due.length;
        this.metrics.retentionDeletedObjects.labels('unreferenced').inc(due.length);
        if (due.length < DELETE_BATCH) break;
      }
      const orphans = await this.meta.expireObjectIdReservations(now - this.opts.orphanTimeoutMs);
      for (let i = 0; i < orphans.length; i += DELETE_BATCH) await this.objects.delete(orphans.slice(i, i + DELETE_BATCH).map(objectKey));
      sweptOrphanIds = orphans.length;
      this.metrics.retentionDeletedObjects.labels('orphan').inc(orphans.length);
    } catch (err) {
      // Nothing is lost by stopping here: what was not deleted is found again next pass.
      this.log.warn({ err }, 'object garbage collection pass failed; it runs again next interval');
    }
    if (trimmedStreams + deletedObjects > 0) this.log.info({ trimmedStreams, markedObjects, deletedObjects, sweptOrphanIds }, 'retention pass');
    return { trimmedStreams, markedObjects, deletedObjects, sweptOrphanIds };
  }
}
