"""The librdkafka side of test_reauth.py, run by the compat venv's
confluent-kafka (librdkafka 2.x re-authenticates, KIP-368): one producer and
one group consumer on a SASL listener, a record every 50 ms for `seconds`
while consuming, then the rest consumed. argv: JSON {"conf", "topic",
"seconds"}; prints one JSON line {produced, delivered, consumed, missing,
duplicates, errors}. The topic is created before the consumer subscribes, so
librdkafka never reports a subscribed topic that does not exist yet. Every
call is bounded by timeouts."""
import json
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def main():
    req = json.loads(sys.argv[1])
    conf, topic, seconds = req["conf"], req["topic"], req["seconds"]
    errors, delivered = [], []

    def on_error(e):
        errors.append("error_cb: %s" % e)

    def on_delivery(err, msg):
        if err is not None:
            errors.append("delivery: %s" % err)
        else:
            delivered.append(msg.value().decode())

    admin = AdminClient(conf)
    admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)[topic].result(timeout=20)
    producer = Producer(dict(conf, **{"error_cb": on_error, "acks": "all", "linger.ms": 5}))
    consumer = Consumer(dict(conf, **{"group.id": "reauth-group", "auto.offset.reset": "earliest",
                                      "error_cb": on_error, "enable.auto.commit": True,
                                      "auto.commit.interval.ms": 500}))
    consumer.subscribe([topic])
    consumed = {}
    produced = 0

    def poll_consumer(timeout):
        m = consumer.poll(timeout)
        if m is None:
            return
        if m.error() is not None:
            errors.append("consume: %s" % m.error())
            return
        v = m.value().decode()
        consumed[v] = consumed.get(v, 0) + 1

    end = time.time() + seconds
    while time.time() < end:
        producer.produce(topic, ("r%06d" % produced).encode(), on_delivery=on_delivery)
        produced += 1
        producer.poll(0)
        poll_consumer(0.05)
    left = producer.flush(30)
    if left:
        errors.append("%d records not delivered within 30 s" % left)
    deadline = time.time() + 30
    while len(consumed) < produced and time.time() < deadline:
        poll_consumer(0.2)
    consumer.close()
    want = {"r%06d" % i for i in range(produced)}
    print(json.dumps({"produced": produced, "delivered": len(delivered), "consumed": len(consumed),
                      "missing": sorted(want - set(consumed))[:10],
                      "duplicates": sum(1 for c in consumed.values() if c > 1), "errors": errors[:20]}))


if __name__ == "__main__":
    main()
