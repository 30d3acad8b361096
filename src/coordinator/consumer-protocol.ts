// The part of the "consumer" embedded protocol (ConsumerProtocolSubscription,
// carried opaquely in JoinGroup metadata) the coordinator must understand:
// which topics a member subscribes to. Kafka uses it to refuse OffsetDelete on
// a subscribed topic and to expire offsets of topics nobody subscribes to any more.
import { DecodeError, Reader } from '../protocol/primitives.js';

/**
 * The subscribed topics, or null when the bytes are not a subscription we can
 * read. Every version starts with the version and the topic list, so newer
 * versions parse too. Member metadata comes from clients: hostile bytes end in
 * null, never in an exception.
 */
export function subscribedTopics(metadata: Buffer): string[] | null {
  try {
    const r = new Reader(metadata);
    const version = r.int16();
    if (version < 0) return null;
    const count = r.int32();
    if (count < 0) return null;
    r.checkCount(count * 2, 'topics');
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const len = r.int16();
      if (len < 0) return null;
      topics.push(r.utf8(len));
    }
    return topics;
  } catch (err) {
    if (err instanceof DecodeError) return null;
    throw err;
  }
}
