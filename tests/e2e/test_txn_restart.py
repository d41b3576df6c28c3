"""Transactions across a broker SIGKILL and restart, with the compat venv's
confluent-kafka 2.x (a newer librdkafka than Debian's), against the real
broker process. Three transactions are open when the broker is killed:

  survivor  -- open over partitions 0 and 1; the same producer keeps running
               through the kill, adds partition 2 after the restart and
               commits: read_committed sees its three records.
  aborter   -- open over partition 0; aborts after the restart: its record is
               never seen by read_committed.
  abandoned -- open over partition 3, its producer gone; 210,000 plain records
               follow it in that partition (more than any fixed-size tail the
               broker might scan at start-up). After the restart the LSO of
               partition 3 still stops at its record; the coordinator, recovered
               from __transaction_state, aborts it at its transaction.timeout.ms
               (counted from before the kill); the LSO then reaches the end and a
               read_committed consumer starting at its record skips it.

At the end the LSO of every partition is its end and read_committed consumers
see exactly the committed records. Runs under ~/.cache/nocopy/compat-venv's
python (re-executing itself there), filled by scripts/setup-compat.sh.
"""
import os
import signal
import sys
import time

VENV = os.path.join(os.path.expanduser("~"), ".cache", "nocopy", "compat-venv")
if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        sys.exit("no compat venv at %s: run scripts/setup-compat.sh" % VENV)
    os.execv(py, [py] + sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

import confluent_kafka  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "txr"
FILLER = 210000
ABANDONED_TIMEOUT_MS = 45000


def txn_producer(b, tid, timeout_ms=120000):
    p = Producer({"bootstrap.servers": b.addr, "transactional.id": tid, "transaction.timeout.ms": timeout_ms,
                  "linger.ms": 0, "message.timeout.ms": min(60000, timeout_ms)})
    p.init_transactions(30)
    return p


def produce_flushed(p, value, partition):
    """Produces one record and waits for its offset."""
    got = {}

    def done(err, msg):
        got["err"], got["offset"] = err, (msg.offset() if msg is not None else None)

    p.produce(TOPIC, value=value, partition=partition, on_delivery=done)
    p.flush(30)
    check(got.get("err") is None and got.get("offset") is not None, "%r not delivered: %r" % (value, got))
    return got["offset"]


def offsets(b, partition):
    """(LSO, end) of the partition: ListOffsets read_committed and read_uncommitted."""
    out = []
    for iso in ("read_committed", "read_uncommitted"):
        c = Consumer({"bootstrap.servers": b.addr, "group.id": "w", "isolation.level": iso})
        out.append(c.get_watermark_offsets(TopicPartition(TOPIC, partition), timeout=10)[1])
        c.close()
    return tuple(out)


def read_committed(b, start, want, timeout=60):
    """Records (partition, offset, value) a read_committed consumer returns
    from `start` {partition: offset} until it has `want` of them or every
    partition is at its end."""
    c = Consumer({"bootstrap.servers": b.addr, "group.id": "rc", "isolation.level": "read_committed",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(TOPIC, p, o) for p, o in start.items()])
    out, eof = [], set()
    deadline = time.time() + timeout
    while time.time() < deadline and len(out) < want and len(eof) < len(start):
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                eof.add(m.partition())
            continue
        eof.discard(m.partition())
        out.append((m.partition(), m.offset(), m.value().decode()))
    c.close()
    return out


def fill(b, partition):
    p = Producer({"bootstrap.servers": b.addr, "linger.ms": 20, "batch.num.messages": 10000})
    for i in range(FILLER):
        while True:
            try:
                p.produce(TOPIC, value=b"f", partition=partition)
                break
            except BufferError:
                p.poll(0.1)
    check(p.flush(60) == 0, "filler records not delivered")


def main():
    print("confluent-kafka %s, librdkafka %s" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0]))
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.addr})
        admin.create_topics([NewTopic(TOPIC, 4, 1)])[TOPIC].result(10)

        survivor = txn_producer(b, "survivor")
        survivor.begin_transaction()
        produce_flushed(survivor, b"s-0", 0)
        produce_flushed(survivor, b"s-1", 1)
        aborter = txn_producer(b, "aborter")
        aborter.begin_transaction()
        produce_flushed(aborter, b"a-0", 0)
        abandoned = txn_producer(b, "abandoned", ABANDONED_TIMEOUT_MS)
        abandoned.begin_transaction()
        t_begin = time.time()
        first = produce_flushed(abandoned, b"x-3", 3)
        # `abandoned` is not used again: it never commits nor aborts.
        fill(b, 3)
        lso, end = offsets(b, 3)
        check(lso == first and end == first + 1 + FILLER, "before the kill: LSO %d end %d, first %d" % (lso, end, first))

        b.stop(sig=signal.SIGKILL)
        b.start()
        lso, end = offsets(b, 3)
        check(time.time() - t_begin < ABANDONED_TIMEOUT_MS / 1000, "too slow to see the LSO before the timeout")
        check(lso == first and end == first + 1 + FILLER,
              "after the restart the abandoned transaction must hold the LSO at %d (LSO %d, end %d)" % (first, lso, end))
        print("after SIGKILL + restart: the transaction %d records behind the end still holds the LSO" % FILLER)

        produce_flushed(survivor, b"s-2", 2)
        survivor.commit_transaction(60)
        aborter.abort_transaction(60)
        print("after the restart: survivor committed, aborter aborted")

        deadline = time.time() + ABANDONED_TIMEOUT_MS / 1000 + 30
        while time.time() < deadline and offsets(b, 3)[0] < end:
            time.sleep(0.5)
        lso, end3 = offsets(b, 3)
        check(lso == end3 and end3 == end + 1, "the abandoned transaction was not aborted: LSO %d end %d" % (lso, end3))
        print("abandoned transaction aborted at its timeout %.1f s after it began" % (time.time() - t_begin))
        for part in range(3):
            lso, endp = offsets(b, part)
            check(lso == endp, "partition %d: LSO %d end %d" % (part, lso, endp))

        got = read_committed(b, {0: 0, 1: 0, 2: 0}, 10)
        values = sorted(v for _, _, v in got)
        check(values == ["s-0", "s-1", "s-2"], "read_committed saw %r, expected the survivor's three" % values)
        got = read_committed(b, {3: first}, 1)
        check(got and got[0][1] == first + 1 and got[0][2] == "f",
              "read_committed from the abandoned record: first record %r, expected filler at %d" % (got[:1], first + 1))
        print("read_committed sees exactly the committed records")
    print("PASS")


if __name__ == "__main__":
    main()
