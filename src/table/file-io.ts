// Iceberg's FileIO over the broker's object store: tables name their files by
// URI (file:///... for the embedded store, s3://bucket/... on S3), which is
// what query engines open; the object store is addressed by key. The
// warehouse is a prefix of the same store, so the stream and the table live
// over the same objects (ARCHITECTURE §7.6).

import type { ObjectStore } from '../storage/objectstore/types.js';

export class ForeignLocationError extends Error {
  override readonly name = 'ForeignLocationError';
}

export class FileIO {
  /** @param baseUri the URI of object key '' (ends with '/'). */
  constructor(
    readonly objects: ObjectStore,
    readonly baseUri: string,
  ) {
    if (!baseUri.endsWith('/')) throw new Error(`object store base URI must end with '/': ${baseUri}`);
  }

  uriOf(key: string): string {
    return this.baseUri + key;
  }

  /** The object key of a URI inside this store; ForeignLocationError for anything else. */
  keyOf(uri: string): string {
    // s3a:// and s3n:// name the same objects as s3:// for Hadoop-based engines.
    const normalized = uri.replace(/^s3[an]:\/\//, 's3://');
    if (!normalized.startsWith(this.baseUri)) throw new ForeignLocationError(`${uri} is outside this broker's object store (${this.baseUri})`);
    return normalized.slice(this.baseUri.length);
  }

  owns(uri: string): boolean {
    return uri.replace(/^s3[an]:\/\//, 's3://').startsWith(this.baseUri);
  }

  read(uri: string): Promise<Buffer> {
    return this.objects.get(this.keyOf(uri));
  }

  write(uri: string, data: Buffer | readonly Buffer[]): Promise<void> {
    return this.objects.put(this.keyOf(uri), data);
  }

  async delete(uris: readonly string[]): Promise<void> {
    const keys = uris.filter((u) => this.owns(u)).map((u) => this.keyOf(u));
    if (keys.length > 0) await this.objects.delete(keys);
  }

  async *list(uriPrefix: string): AsyncIterable<{ uri: string; size: number }> {
    for await (const o of this.objects.list(this.keyOf(uriPrefix))) yield { uri: this.uriOf(o.key), size: o.size };
  }
}
