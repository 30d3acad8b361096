# confluent-kafka-python (librdkafka) consumer-group member with the
# cooperative-sticky assignor. Modes:
#   produce FROM TO          values FROM..TO spread over the topic's partitions
#   consume GROUP MAX IDLE_S reads up to MAX records, committing each one
#                            synchronously, stops after IDLE_S without records
# Prints one JSON line with what it saw.
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, mode = sys.argv[1], sys.argv[2], sys.argv[3]

if mode == "create":
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive its futures
    fs = admin.create_topics([NewTopic(topic, num_partitions=int(sys.argv[4]), replication_factor=1)])
    for f in fs.values():
        f.result(30)
    print(json.dumps({"created": topic}))
elif mode == "produce":
    first, last = int(sys.argv[4]), int(sys.argv[5])
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(first, last + 1):
        p.produce(topic, value=str(i), partition=i % 3)
        p.poll(0)
    print(json.dumps({"unflushed": p.flush(60)}))
else:
    group, limit, idle = sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
    assignments = []
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "partition.assignment.strategy": "cooperative-sticky",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })
    c.subscribe([topic], on_assign=lambda consumer, parts: assignments.append(sorted(p.partition for p in parts)))
    values, errors = [], []
    last_record = time.time()
    deadline = time.time() + 120
    while len(values) < limit and time.time() < deadline and time.time() - last_record < idle:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                errors.append(str(m.error()))
            continue
        c.commit(message=m, asynchronous=False)
        values.append(int(m.value().decode()))
        last_record = time.time()
    c.close()
    print(json.dumps({"values": values, "assignments": assignments, "errors": errors}))
