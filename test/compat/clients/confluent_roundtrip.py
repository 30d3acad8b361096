# confluent-kafka-python (librdkafka) against Floe: produce N records with a
# compression codec and acks=all, consume them back by manual assignment,
# look up offsets by time. Prints one JSON line with what it saw.
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

bootstrap, topic, codec, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

errors = []
acked = {}


def on_delivery(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        # delivery reports carry no headers here; the value names the record
        acked[int(msg.value().decode().rsplit("-", 1)[1])] = msg.offset()


p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "acks": "all", "linger.ms": 10})
t0 = int(time.time() * 1000)
for i in range(count):
    while True:
        try:
            p.produce(topic, key=f"k{i % 10}", value=f"{codec}-{i}", headers=[("i", str(i))], on_delivery=on_delivery)
            break
        except BufferError:
            p.poll(0.1)
    p.poll(0)
left = p.flush(60)

c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compat-manual", "enable.auto.commit": False, "auto.offset.reset": "earliest"})
c.assign([TopicPartition(topic, 0, 0)])
read = []
deadline = time.time() + 60
while len(read) < count and time.time() < deadline:
    msgs = c.consume(num_messages=10000, timeout=1.0)
    for m in msgs:
        if m.error():
            errors.append(str(m.error()))
            continue
        read.append((m.offset(), m.key().decode(), m.value().decode(), dict(m.headers())["i"].decode()))
by_time = c.offsets_for_times([TopicPartition(topic, 0, t0)], timeout=10)[0].offset
c.close()

md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
mismatches = sum(1 for (o, k, v, i) in read if v != f"{codec}-{i}" or k != f"k{int(i) % 10}" or acked.get(int(i)) != o)
print(json.dumps({
    "unflushed": left,
    "acked": len(acked),
    "read": len(read),
    "distinct": len({r[3] for r in read}),
    "contiguous": [r[0] for r in read] == list(range(len(read))),
    "mismatches": mismatches,
    "offset_for_time": by_time,
    "topic_in_metadata": topic in md.topics,
    "errors": errors[:5],
}))
