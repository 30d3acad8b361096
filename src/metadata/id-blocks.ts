// Ids handed out from blocks reserved in the metadata store, so most ids cost
// no metadata round trip and ids stay unique across restarts and brokers (as
// Kafka's AllocateProducerIds hands brokers blocks of producer ids).

export class IdBlockAllocator {
  private next = 0;
  private end = 0;
  private reservedAt = 0;
  private pending: Promise<void> | null = null;

  /**
   * `reserve(count)` durably reserves `count` ids and returns the first. A
   * block older than `maxAgeMs` is left unused and a new one reserved (object
   * ids: reservations expire, see MetadataStore.expireObjectIdReservations).
   */
  constructor(
    private readonly reserve: (count: number) => Promise<number>,
    private readonly blockSize: number,
    private readonly maxAgeMs = Infinity,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stops handing out ids of the current block (its reservation is gone). */
  discardBlock(): void {
    this.end = this.next;
  }

  async nextId(): Promise<number> {
    if (this.next < this.end && this.now() - this.reservedAt > this.maxAgeMs) this.end = this.next;
    while (this.next >= this.end) {
      const requestedAt = this.now();
      this.pending ??= this.reserve(this.blockSize).then(
        (first) => {
          this.next = first;
          this.end = first + this.blockSize;
          this.reservedAt = requestedAt;
          this.pending = null;
        },
        (err: unknown) => {
          this.pending = null;
          throw err;
        },
      );
      await this.pending;
    }
    return this.next++;
  }
}
