# kafka-python against Floe: produce N records with a codec, consume them by
# manual assignment (no group), and look up offsets by time.
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, codec, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=None if codec == "none" else codec, linger_ms=5)
t0 = int(time.time() * 1000)
futures = [p.send(topic, key=f"k{i}".encode(), value=f"{codec}-{i}".encode(), partition=0) for i in range(count)]
p.flush(60)
acked = [f.get(30).offset for f in futures]
p.close()

c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, consumer_timeout_ms=5000)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.seek_to_beginning(tp)
read = [(m.offset, m.value.decode()) for m in c]
by_time = c.offsets_for_times({tp: t0})[tp]
c.close()
print(json.dumps({
    "acked": len(acked),
    "acked_offsets_ok": acked == list(range(count)),
    "read": len(read),
    "values_ok": [v for (_, v) in read] == [f"{codec}-{i}" for i in range(count)],
    "offset_for_time": None if by_time is None else by_time.offset,
}))
