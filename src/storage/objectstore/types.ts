// Object storage, the only durable home of record bytes. Objects are written
// once and never modified; ordering and fencing come from the metadata store,
// never from conditional writes.

export interface ByteRange {
  /** Inclusive start. */
  readonly start: number;
  /** Exclusive end. */
  readonly end: number;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

export interface ObjectStore {
  /**
   * Writes an object durably; resolves only once it would survive a crash.
   * `crc32c`, when the caller knows it, is the whole object's CRC32C: the
   * store uses it as its upload checksum instead of reading every byte.
   */
  put(key: string, data: Buffer | readonly Buffer[], crc32c?: number): Promise<void>;
  /** Reads an object or a byte range of it. Throws ObjectNotFoundError. */
  get(key: string, range?: ByteRange): Promise<Buffer>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Deletes objects; missing keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
}

/** A failure talking to the object store (I/O error, outage); the write may be retried. */
export class ObjectStoreError extends Error {
  override readonly name = 'ObjectStoreError';
}
