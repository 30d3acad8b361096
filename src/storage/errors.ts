// Typed storage failures; the broker maps them to Kafka error codes.

/** Another owner holds the stream's epoch now (NOT_LEADER_OR_FOLLOWER on the wire). */
export class StreamFencedError extends Error {
  override readonly name = 'StreamFencedError';
}

/** Writing to object storage or committing to the metadata store failed (KAFKA_STORAGE_ERROR). */
export class StorageWriteError extends Error {
  override readonly name = 'StorageWriteError';
}

/** The stream was closed (topic deleted, ownership given up). */
export class StreamClosedError extends Error {
  override readonly name = 'StreamClosedError';
}

/** Stored bytes failed a checksum or could not be parsed. */
export class CorruptObjectError extends Error {
  override readonly name = 'CorruptObjectError';
}
