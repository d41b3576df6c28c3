"""Transactions' cost, measured in one run against one broker process with
confluent-kafka (librdkafka 2.0.2):

  produce: transactional (TXNS transactions of 100 x 1 KiB records, each
           committed) vs idempotent (the same records, acks=all, no
           transactions), alternated ROUNDS times; throughput ratio of the
           medians.
  consume: the whole topic read by a read_committed and a read_uncommitted
           consumer (assign, from the beginning), alternated ROUNDS times;
           throughput ratio of the medians.

Usage: NOCOPY_BIN=build/nocopy /usr/bin/python3 benchmarks/broker/txn_bench.py
Prints one JSON object with the figures and ratios.
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from harness import Broker  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TXNS = int(os.environ.get("TXNS", "200"))
PER_TXN = 100
SIZE = 1024
ROUNDS = int(os.environ.get("ROUNDS", "3"))
LINGER = int(os.environ.get("LINGER_MS", "0"))  # both modes; a transaction waits for it once per commit
VALUE = b"x" * SIZE


def produce(b, topic, transactional):
    conf = {"bootstrap.servers": b.addr, "enable.idempotence": True, "acks": "all", "linger.ms": LINGER}
    if transactional:
        conf["transactional.id"] = "bench-%s-%f" % (topic, time.time())
    p = Producer(conf)
    if transactional:
        p.init_transactions(30)
    t0 = time.perf_counter()
    for _ in range(TXNS):
        if transactional:
            p.begin_transaction()
        for _ in range(PER_TXN):
            while True:
                try:
                    p.produce(topic, VALUE)
                    break
                except BufferError:
                    p.poll(0.01)
        if transactional:
            p.commit_transaction(30)
    p.flush(60)
    return TXNS * PER_TXN / (time.perf_counter() - t0)


def consume(b, topic, isolation, expected):
    c = Consumer({"bootstrap.servers": b.addr, "group.id": "bench", "isolation.level": isolation,
                  "enable.auto.commit": False, "fetch.max.bytes": 52428800,
                  "fetch.wait.max.ms": 100})  # a stray long poll (seen in both modes) costs 100 ms, not 500
    c.assign([TopicPartition(topic, 0, 0)])
    n = 0
    t0 = time.perf_counter()
    while n < expected:
        msgs = c.consume(10000, 1.0)
        n += sum(1 for m in msgs if not m.error())
    took = time.perf_counter() - t0
    c.close()
    return n / took


def main():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.addr})
        for f in admin.create_topics([NewTopic("bench-txn", 1, 1), NewTopic("bench-idem", 1, 1)]).values():
            f.result(30)
        txn, idem = [], []
        for _ in range(ROUNDS):
            txn.append(produce(b, "bench-txn", True))
            idem.append(produce(b, "bench-idem", False))
        total = ROUNDS * TXNS * PER_TXN
        rc, ru = [], []
        for _ in range(ROUNDS):
            rc.append(consume(b, "bench-txn", "read_committed", total))
            ru.append(consume(b, "bench-txn", "read_uncommitted", total))
        m = b.metrics()
        out = {
            "records_per_txn": PER_TXN, "record_bytes": SIZE, "txns_per_round": TXNS, "rounds": ROUNDS,
            "produce_transactional_msgs_s": round(statistics.median(txn)),
            "produce_idempotent_msgs_s": round(statistics.median(idem)),
            "produce_ratio_txn_over_idempotent": round(statistics.median(txn) / statistics.median(idem), 3),
            "consume_read_committed_msgs_s": round(statistics.median(rc)),
            "consume_read_uncommitted_msgs_s": round(statistics.median(ru)),
            "consume_ratio_committed_over_uncommitted": round(statistics.median(rc) / statistics.median(ru), 3),
            "send_bytes_zero_copy": m.get("nocopy_send_bytes_zero_copy_total"),
            "fetch_record_bytes": m.get('nocopy_fetch_bytes_total{strategy="sendfile"}'),
            "all_rounds": {"txn": [round(x) for x in txn], "idem": [round(x) for x in idem],
                           "read_committed": [round(x) for x in rc], "read_uncommitted": [round(x) for x in ru]},
        }
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
