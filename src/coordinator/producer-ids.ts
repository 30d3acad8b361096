// Producer id allocation for InitProducerId. Ids come from the metadata store
// in blocks (as Kafka's AllocateProducerIds hands blocks to brokers), so most
// requests are answered from memory and ids stay unique across restarts and
// brokers.

import type { MetadataStore } from '../metadata/types.js';

export const PRODUCER_ID_BLOCK_SIZE = 1000;
const MAX_EPOCH = 32767;

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | null = null;

  constructor(private readonly meta: MetadataStore) {}

  async nextId(): Promise<number> {
    while (this.next >= this.end) {
      if (this.pending === null) {
        this.pending = this.meta.allocateProducerIds(PRODUCER_ID_BLOCK_SIZE).then(
          (first) => {
            this.next = first;
            this.end = first + PRODUCER_ID_BLOCK_SIZE;
            this.pending = null;
          },
          (err: unknown) => {
            this.pending = null;
            throw err;
          },
        );
      }
      await this.pending;
    }
    return this.next++;
  }

  /**
   * A transactional id's producer: a new id at epoch 0 the first time, then
   * the same id with the epoch bumped (fencing older instances), and a fresh
   * id once the epoch would overflow, as Kafka's transaction coordinator does.
   */
  async initTransactional(transactionalId: string, timeoutMs: number): Promise<{ producerId: number; producerEpoch: number }> {
    const current = await this.meta.getTransactionalId(transactionalId);
    let producerId: number;
    let producerEpoch: number;
    if (current === null || current.producerEpoch >= MAX_EPOCH - 1) {
      producerId = await this.nextId();
      producerEpoch = 0;
    } else {
      producerId = current.producerId;
      producerEpoch = current.producerEpoch + 1;
    }
    await this.meta.putTransactionalId({ transactionalId, producerId, producerEpoch, timeoutMs });
    return { producerId, producerEpoch };
  }

  getTransactional(transactionalId: string) {
    return this.meta.getTransactionalId(transactionalId);
  }
}
