"""A consume-transform-produce worker for test_txn_exactly_once.py: reads
`ctp-in` (read_committed, offsets of group ctp), writes "out-<value>" to the
same partition of `ctp-out` and commits its input offsets in the same
transaction (send_offsets_to_transaction). Any error ends the process with
status 3: the test starts a new worker, whose init_transactions fences this
one and aborts its open transaction; it resumes from the committed offsets.

Usage: txn_ctp_worker.py <bootstrap>"""
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition


def main():
    addr = sys.argv[1]
    c = Consumer({"bootstrap.servers": addr, "group.id": "ctp", "isolation.level": "read_committed",
                  "enable.auto.commit": False, "enable.auto.offset.store": False})
    tps = [TopicPartition("ctp-in", p) for p in range(3)]
    start = []
    for tp in c.committed(tps, timeout=30):
        start.append(TopicPartition("ctp-in", tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING))
    c.assign(start)
    p = Producer({"bootstrap.servers": addr, "transactional.id": "ctp-worker", "transaction.timeout.ms": 10000,
                  "linger.ms": 0})
    p.init_transactions(30)
    print("ready", flush=True)
    while True:
        msgs = [m for m in c.consume(100, 0.5) if not m.error()]
        if not msgs:
            continue
        p.begin_transaction()
        for m in msgs:
            p.produce("ctp-out", value=b"out-" + m.value(), partition=m.partition())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
        p.commit_transaction(30)
        print("committed %d" % len(msgs), flush=True)


if __name__ == "__main__":
    try:
        main()
    except KafkaException as e:
        print("error: %s" % e, file=sys.stderr, flush=True)
        sys.exit(3)
