// Producer id allocation for InitProducerId, from blocks reserved in the
// metadata store: most requests are answered from memory.

import { IdBlockAllocator } from '../metadata/id-blocks.js';
import type { MetadataStore } from '../metadata/types.js';

export const PRODUCER_ID_BLOCK_SIZE = 1000;
const MAX_EPOCH = 32767;

export class ProducerIdManager {
  private readonly ids: IdBlockAllocator;

  constructor(private readonly meta: MetadataStore) {
    this.ids = new IdBlockAllocator((n) => meta.allocateProducerIds(n), PRODUCER_ID_BLOCK_SIZE);
  }

  nextId(): Promise<number> {
    return this.ids.nextId();
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
