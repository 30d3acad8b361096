// Object ids come from the metadata store in reserved blocks, so a flush
// needs no metadata round trip before its upload. The reservation is what
// lets a sweeper find uploads that were never committed: every id of an old
// reservation without a committed object names an orphan.

import type { MetadataStore } from '../metadata/types.js';

export const OBJECT_ID_BLOCK = 64;

export class ObjectIdAllocator {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | null = null;

  constructor(private readonly meta: MetadataStore) {}

  async nextId(): Promise<number> {
    while (this.next >= this.end) {
      this.pending ??= this.meta.reserveObjectIds(OBJECT_ID_BLOCK).then(
        (first) => {
          this.next = first;
          this.end = first + OBJECT_ID_BLOCK;
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
