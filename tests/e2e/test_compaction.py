"""Log compaction end to end with confluent-kafka-python (Debian's python3-confluent-kafka
on librdkafka, run by /usr/bin/python3).

  1. AdminClient creates a one-partition topic with cleanup.policy=compact,
     64 KiB segments, min.cleanable.dirty.ratio=0.01 and
     delete.retention.ms=3000.
  2. An lz4 producer writes 100,000 updates over 1,000 keys, then
     tombstones for 50 of them, then 2,000 more updates of other keys (so the
     tombstones' segment is sealed).
  3. The broker's cleaner (backoff 200 ms) compacts the sealed segments. A
     fresh consumer from the beginning must then see, below the cleaner
     checkpoint, each key at most once, far fewer records than were written,
     and overall exactly the latest value of every live key; the deleted
     keys appear only as tombstones.
  4. Past delete.retention.ms and after more writes make the log dirty
     again, a fresh consumer sees no trace of the deleted keys, and still
     every live key's latest value.
The broker's data and log are removed when the test passes (unless
NOCOPY_E2E_KEEP=1), kept when it fails."""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "compacted"
KEYS = 1000
UPDATES = 100_000
DELETED = range(0, 50)
DEADLINE = time.time() + 100  # the whole test stays well under ctest's timeout


def produce(broker, items):
    """items: (key index, value bytes or None), in order; waits for every ack."""
    # batch.size: a produce request must fit in one 64 KiB segment.
    p = Producer({"bootstrap.servers": broker.addr, "compression.type": "lz4", "linger.ms": 20, "batch.size": 16384,
                  "enable.idempotence": True, "acks": "all"})
    errors = []

    def on_ack(err, _msg):
        if err is not None:
            errors.append(str(err))

    for k, v in items:
        while True:
            try:
                p.produce(TOPIC, key=b"key-%04d" % k, value=v, callback=on_ack)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    check(p.flush(60) == 0, "producer did not flush")
    check(not errors, "produce errors: %s" % errors[:5])


def consume_all(broker):
    """Every record of the partition from the beginning: [(offset, key, value)]."""
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": "check-%f" % time.time(),
                  "enable.auto.commit": False, "enable.partition.eof": True, "fetch.wait.max.ms": 50})
    _, high = c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)
    c.assign([TopicPartition(TOPIC, 0, 0)])
    out = []
    deadline = time.time() + 30
    while time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                if out and out[-1][0] >= high - 1:
                    break
                continue
            raise RuntimeError(str(m.error()))
        out.append((m.offset(), m.key(), m.value()))
        if m.offset() >= high - 1:
            break
    c.close()
    check(not out or out[-1][0] >= high - 1, "consumer stopped at %s of %d" % (out[-1][0] if out else None, high))
    return out


def checkpoint(broker):
    path = os.path.join(broker.data_dir, "cleaner-offset-checkpoint")
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except OSError:
        return 0
    for line in lines[2:]:
        parts = line.split()
        if len(parts) == 3 and parts[0] == TOPIC and parts[1] == "0":
            return int(parts[2])
    return 0


def verify(broker, latest, want_tombstones):
    """None when the log is compacted as expected, else why not."""
    recs = consume_all(broker)
    cp = checkpoint(broker)
    seen = {}
    below = {}
    for off, k, v in recs:
        seen[k] = v
        if off < cp:
            below[k] = below.get(k, 0) + 1
    dup = [k for k, n in below.items() if n > 1]
    if cp == 0 or dup:
        return "checkpoint %d, %d keys more than once below it" % (cp, len(dup))
    if len(recs) > UPDATES // 10:
        return "%d records read: not compacted" % len(recs)
    for k, v in latest.items():
        key = b"key-%04d" % k
        if v is None:
            if want_tombstones and key in seen and seen[key] is not None:
                return "deleted key %s has value %r" % (key, seen[key])
            if not want_tombstones and key in seen:
                return "deleted key %s still present (%r)" % (key, seen[key])
        elif seen.get(key) != v:
            return "key %s: %r, want %r" % (key, seen.get(key), v)
    return None


def wait_compacted(broker, latest, want_tombstones):
    why = None
    while time.time() < DEADLINE:
        why = verify(broker, latest, want_tombstones)
        if why is None:
            return
        time.sleep(0.5)
    raise AssertionError("not compacted in time: %s\n%s" % (why, broker.log()[-3000:]))


def main():
    b = Broker("--log-cleaner-backoff-ms", "200")
    ok = False
    try:
        with b:
            admin = AdminClient({"bootstrap.servers": b.addr})
            fut = admin.create_topics([NewTopic(TOPIC, 1, 1, config={
                "cleanup.policy": "compact", "segment.bytes": "65536", "min.cleanable.dirty.ratio": "0.01",
                "delete.retention.ms": "3000"})])
            fut[TOPIC].result(15)

            latest = {}
            items = []
            for i in range(UPDATES):
                k = (i * 7919) % KEYS
                v = b"v%06d-" % i + b"x" * (i % 23)
                items.append((k, v))
                latest[k] = v
            for k in DELETED:
                items.append((k, None))
                latest[k] = None
            for i in range(2000):
                k = 500 + i % 500
                v = b"w%06d" % i + os.urandom(40)  # incompressible: the filler seals the tombstones' segment
                items.append((k, v))
                latest[k] = v
            t0 = time.time()
            produce(b, items)
            print("produced %d records in %.1f s" % (len(items), time.time() - t0))

            t0 = time.time()
            wait_compacted(b, latest, want_tombstones=True)
            print("compacted in %.1f s (checkpoint %d)" % (time.time() - t0, checkpoint(b)))
            m = b.metrics()
            check(m.get("nocopy_log_cleaner_runs_total", 0) >= 1, "no cleaner runs in the metrics")
            check(m.get("nocopy_mapped_content_bytes_read_total", 0) > 0, "no mapped content reads")

            # Past delete.retention.ms, more writes make the log dirty again:
            # the tombstones go.
            time.sleep(3.5)
            more = []
            for i in range(2000):
                k = 500 + i % 500
                v = b"z%06d" % i + os.urandom(40)
                more.append((k, v))
                latest[k] = v
            produce(b, more)
            wait_compacted(b, latest, want_tombstones=False)
            print("tombstones removed; %d records left" % len(consume_all(b)))
        ok = True
    finally:
        if ok and not os.environ.get("NOCOPY_E2E_KEEP"):
            shutil.rmtree(b.data_dir, ignore_errors=True)
            try:
                os.remove(b.log_path)
            except OSError:
                pass
        elif not ok:
            print("kept", b.data_dir, b.log_path)
    print("ok")


if __name__ == "__main__":
    main()
