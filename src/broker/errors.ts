// Internal failures to Kafka error codes: the one mapping between typed
// errors and the wire.

import { FencedError, NotFoundError } from '../metadata/types.js';
import { ErrorCode, KafkaError, type ErrorCodeValue } from '../protocol/errors.js';
import { CorruptObjectError, StorageWriteError, StreamClosedError, StreamFencedError } from '../storage/errors.js';
import { ObjectNotFoundError, ObjectStoreError } from '../storage/objectstore/types.js';

export interface WireError {
  readonly code: ErrorCodeValue;
  readonly message: string;
  /** False when the failure is a bug or an unexpected condition worth an error log. */
  readonly expected: boolean;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof KafkaError) return { code: err.code, message: err.message, expected: true };
  if (err instanceof StreamFencedError || err instanceof FencedError) {
    return { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: err.message, expected: true };
  }
  // The metadata store no longer has the topic or its streams: a concurrent
  // deletion won the race, and Kafka answers the loser UNKNOWN_TOPIC_OR_PARTITION.
  if (err instanceof NotFoundError) return { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: err.message, expected: true };
  if (err instanceof StreamClosedError) return { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: err.message, expected: true };
  if (err instanceof StorageWriteError || err instanceof ObjectStoreError) {
    return { code: ErrorCode.KAFKA_STORAGE_ERROR, message: err.message, expected: true };
  }
  if (err instanceof CorruptObjectError || err instanceof ObjectNotFoundError) {
    return { code: ErrorCode.KAFKA_STORAGE_ERROR, message: err.message, expected: false };
  }
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: err instanceof Error ? err.message : String(err), expected: false };
}
