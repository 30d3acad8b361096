// Ids handed out from blocks reserved in the metadata store, so most ids cost
// no metadata round trip and ids stay unique across restarts and brokers (as
// Kafka's AllocateProducerIds hands brokers blocks of producer ids).

export class IdBlockAllocator {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | null = null;

  /** `reserve(count)` durably reserves `count` ids and returns the first. */
  constructor(
    private readonly reserve: (count: number) => Promise<number>,
    private readonly blockSize: number,
  ) {}

  async nextId(): Promise<number> {
    while (this.next >= this.end) {
      this.pending ??= this.reserve(this.blockSize).then(
        (first) => {
          this.next = first;
          this.end = first + this.blockSize;
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
