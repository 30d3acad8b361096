// A stream: the log of one partition, as this broker serves it while it owns
// the stream's current epoch. Offsets are assigned here when a batch enters
// the WAL (nextOffset); they become visible when the object holding them is
// committed (committedEnd, Kafka's high watermark).

import type { EpochEntry, OpenedStream, StreamRange } from '../metadata/types.js';

export class Stream {
  readonly id: number;
  readonly epoch: number;
  /** Log start offset (moves with DeleteRecords and retention). */
  startOffset: number;
  /** High watermark: everything below is committed and durable. */
  committedEnd: number;
  /** Next offset to hand out; runs ahead of committedEnd by what is in the WAL. */
  nextOffset: number;
  ranges: StreamRange[];
  readonly epochs: EpochEntry[];
  /** WAL objects in flight that hold batches of this stream. */
  inflightFlushes = 0;
  /** Set after a failed flush: appends are refused until in-flight flushes settle. */
  broken = false;
  closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(opened: OpenedStream) {
    this.id = opened.streamId;
    this.epoch = opened.epoch;
    this.startOffset = opened.startOffset;
    this.committedEnd = opened.endOffset;
    this.nextOffset = opened.endOffset;
    this.ranges = [...opened.ranges];
    this.epochs = [...opened.epochs];
  }

  /** The committed range holding `offset`, or undefined. */
  rangeFor(offset: number): StreamRange | undefined {
    const rs = this.ranges;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = rs[mid];
      if (offset < r.startOffset) hi = mid - 1;
      else if (offset >= r.endOffset) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** Forgets ranges wholly below `offset` (the metadata store dropped them with the trim). */
  dropRangesBelow(offset: number): void {
    let n = 0;
    while (n < this.ranges.length && this.ranges[n].endOffset <= offset) n++;
    if (n > 0) this.ranges = this.ranges.slice(n);
  }

  /**
   * Compaction moved [first.startOffset, last.endOffset) to a new object:
   * swaps the old ranges for the new ones. Offsets are unchanged, so a reader
   * holding an old range keeps reading the old object (deleted only after a
   * grace period).
   */
  replaceRanges(replaced: ReadonlySet<string>, added: readonly StreamRange[]): void {
    const kept = this.ranges.filter((r) => !replaced.has(rangeKey(r.startOffset, r.objectId)));
    // Retention may have moved the start offset while the compaction committed.
    const fresh = added.filter((r) => r.endOffset > this.startOffset);
    this.ranges = [...kept, ...fresh].sort((a, b) => a.startOffset - b.startOffset);
  }

  /** Records a commit: the range is durable, the high watermark moves, fetchers wake. */
  committed(range: StreamRange): void {
    this.ranges.push(range);
    this.committedEnd = range.endOffset;
    this.notify();
  }

  notify(): void {
    if (this.listeners.size === 0) return;
    for (const l of [...this.listeners]) l();
  }

  /** Calls `listener` at every commit (and on close) until the returned function unsubscribes it. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The leader epoch that wrote `offset` (Kafka's epoch cache lookup). */
  epochAt(offset: number): number {
    let e = -1;
    for (const entry of this.epochs) {
      if (entry.startOffset <= offset) e = entry.epoch;
      else break;
    }
    return e;
  }

  /**
   * Kafka's LeaderEpochFileCache.endOffsetFor: the end offset of `requested`
   * (the start of the next epoch, or the log end for the latest epoch).
   */
  endOffsetForEpoch(requested: number): { epoch: number; endOffset: number } {
    const UNDEFINED = { epoch: -1, endOffset: -1 };
    if (requested < 0 || this.epochs.length === 0) return UNDEFINED;
    const latest = this.epochs[this.epochs.length - 1];
    if (requested === latest.epoch) return { epoch: requested, endOffset: this.committedEnd };
    const higher = this.epochs.find((e) => e.epoch > requested);
    if (higher === undefined) return UNDEFINED;
    let floor: EpochEntry | undefined;
    for (const e of this.epochs) if (e.epoch <= requested) floor = e;
    if (floor === undefined) return { epoch: requested, endOffset: higher.startOffset };
    return { epoch: floor.epoch, endOffset: higher.startOffset };
  }

  close(): void {
    this.closed = true;
    this.notify();
  }
}

/** Identifies one range of a stream: its start offset in one object. */
export function rangeKey(startOffset: number, objectId: number): string {
  return `${startOffset}@${objectId}`;
}
