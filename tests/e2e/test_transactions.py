"""Transactions with confluent-kafka-python (Debian's 1.7.0 on librdkafka 2.0.2)
against the real broker process.

  1. A transactional producer runs N transactions over a 3-partition topic,
     one record per partition each; every third is aborted.
  2. A read_committed consumer receives exactly the committed records, in
     order per partition (no aborted record, no marker); a read_uncommitted
     consumer receives every data record. The read_committed fetches go out
     without a user-space copy of record bytes: every record byte Fetch served
     (nocopy_fetch_bytes_total) went out zero copy (nocopy_send_bytes_zero_copy_total).
  3. Two producers with the same transactional.id: the older one is fenced
     (its commit fails fatally) and its records never become visible.
  4. A transaction left open is aborted after transaction.timeout.ms: the last
     stable offset (ListOffsets read_committed) catches up with the end.
  4b. Kafka's own kafka-transactions tool (TransactionsCommand, from the Kafka
     libs scripts/setup-compat.sh caches) lists and describes the open
     transaction (ListTransactions, DescribeTransactions).
  5. The broker is SIGKILLed with a transaction open; after the restart the
     coordinator aborts it at its timeout, the LSO advances, and a new
     producer with the same transactional.id commits.
"""
import os
import glob
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "txn"
N = int(os.environ.get("NOCOPY_TXN_COUNT", "1000"))


def producer(b, tid, timeout_ms=60000):
    p = Producer({"bootstrap.servers": b.addr, "transactional.id": tid, "transaction.timeout.ms": timeout_ms,
                  "linger.ms": 0})
    p.init_transactions(30)
    return p


def consume_all(b, isolation, expected, timeout=60):
    c = Consumer({"bootstrap.servers": b.addr, "group.id": "reader-" + isolation, "isolation.level": isolation,
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(3)])
    out = {0: [], 1: [], 2: []}
    eof = set()
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                eof.add(m.partition())
                if len(eof) == 3 and sum(len(v) for v in out.values()) >= expected:
                    break
                continue
            raise KafkaException(m.error())
        eof.discard(m.partition())
        out[m.partition()].append(m.value().decode())
    c.close()
    return out


def lso_and_end(b, partition):
    rc = Consumer({"bootstrap.servers": b.addr, "group.id": "w", "isolation.level": "read_committed"})
    ru = Consumer({"bootstrap.servers": b.addr, "group.id": "w", "isolation.level": "read_uncommitted"})
    lso = rc.get_watermark_offsets(TopicPartition(TOPIC, partition), timeout=10)[1]
    end = ru.get_watermark_offsets(TopicPartition(TOPIC, partition), timeout=10)[1]
    rc.close()
    ru.close()
    return lso, end


def transactions_tool(b):
    """kafka-transactions list / describe while tx-tool is open (Kafka's tool)."""
    libs = glob.glob(os.path.expanduser("~/.cache/nocopy/kafka-*/libs"))
    if not libs:
        print("kafka-transactions tool: no Kafka libs in ~/.cache/nocopy (scripts/setup-compat.sh); step not run")
        return
    tool = ["java", "-cp", os.path.join(sorted(libs)[-1], "*"), "org.apache.kafka.tools.TransactionsCommand",
            "--bootstrap-server", b.addr]
    r = subprocess.run(tool + ["list"], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and "tx-tool" in r.stdout and "Ongoing" in r.stdout, "kafka-transactions list: %s %s"
          % (r.stdout, r.stderr[-500:]))
    r = subprocess.run(tool + ["describe", "--transactional-id", "tx-tool"], capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0 and "Ongoing" in r.stdout and TOPIC + "-2" in r.stdout,
          "kafka-transactions describe: %s %s" % (r.stdout, r.stderr[-500:]))
    print("kafka-transactions list/describe show the open transaction")


def main():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.addr})
        for f in admin.create_topics([NewTopic(TOPIC, 3, 1)]).values():
            f.result(30)

        # 1. N transactions, every third aborted.
        p = producer(b, "tx-main")
        committed = {0: [], 1: [], 2: []}
        t0 = time.time()
        for i in range(N):
            p.begin_transaction()
            for part in range(3):
                p.produce(TOPIC, value=("%d-%d" % (i, part)).encode(), partition=part)
            if i % 3 == 2:
                p.flush(30)  # on the broker before the abort (librdkafka drops unsent records at abort)
                p.abort_transaction(30)
            else:
                p.commit_transaction(30)
                for part in range(3):
                    committed[part].append("%d-%d" % (i, part))
        took = time.time() - t0
        print("%d transactions in %.1f s (%.0f/s)" % (N, took, N / took))

        # 2. read_committed vs read_uncommitted.
        m0 = b.metrics()
        rc = consume_all(b, "read_committed", sum(len(v) for v in committed.values()))
        for part in range(3):
            check(rc[part] == committed[part], "partition %d: read_committed saw %d records, expected %d (first diff %s)"
                  % (part, len(rc[part]), len(committed[part]),
                     next((x for x in zip(rc[part], committed[part]) if x[0] != x[1]), None)))
        m1 = b.metrics()
        fkey = 'nocopy_fetch_bytes_total{strategy="sendfile"}'
        served = m1[fkey] - m0.get(fkey, 0)
        zc = m1["nocopy_send_bytes_zero_copy_total"] - m0.get("nocopy_send_bytes_zero_copy_total", 0)
        check(served > 0 and zc >= served,
              "read_committed: %d record bytes served, only %d sent zero copy" % (served, zc))
        print("read_committed fetches: %d record bytes served, %d bytes sent zero copy" % (served, zc))
        ru = consume_all(b, "read_uncommitted", 3 * N)
        for part in range(3):
            check(ru[part] == ["%d-%d" % (i, part) for i in range(N)],
                  "partition %d: read_uncommitted saw %d records, expected %d" % (part, len(ru[part]), N))
        print("read_committed: %d records, read_uncommitted: %d" % (sum(map(len, rc.values())),
                                                                   sum(map(len, ru.values()))))

        # 3. Fencing.
        old = producer(b, "tx-fence")
        old.begin_transaction()
        old.produce(TOPIC, value=b"zombie", partition=0)
        old.flush(10)
        new = producer(b, "tx-fence")  # bumps the epoch, aborts the old transaction
        fenced = False
        try:
            old.produce(TOPIC, value=b"zombie-2", partition=0)
            old.commit_transaction(10)
        except KafkaException as e:
            fenced = True
            print("old producer fenced: %s" % e)
        check(fenced, "the older producer with the same transactional.id was not fenced")
        new.begin_transaction()
        new.produce(TOPIC, value=b"after-fence", partition=0)
        new.commit_transaction(30)
        committed[0].append("after-fence")

        # 4. Transaction timeout.
        slow = producer(b, "tx-slow", timeout_ms=2000)
        slow.begin_transaction()
        slow.produce(TOPIC, value=b"left-open", partition=1)
        slow.flush(10)
        lso, end = lso_and_end(b, 1)
        check(lso < end, "an open transaction must hold the LSO back (lso %d, end %d)" % (lso, end))
        deadline = time.time() + 15
        while time.time() < deadline:
            lso, end = lso_and_end(b, 1)
            if lso == end:
                break
            time.sleep(0.3)
        check(lso == end, "the timed-out transaction was not aborted (lso %d, end %d)" % (lso, end))
        print("open transaction aborted after its timeout; LSO %d == end" % lso)

        # 4b. Kafka's kafka-transactions tool sees an open transaction.
        tool_tx = producer(b, "tx-tool")
        tool_tx.begin_transaction()
        tool_tx.produce(TOPIC, value=b"tool", partition=2)
        tool_tx.flush(10)
        transactions_tool(b)
        tool_tx.abort_transaction(30)

        # 5. SIGKILL with a transaction open, then restart.
        k = producer(b, "tx-kill", timeout_ms=3000)
        k.begin_transaction()
        k.produce(TOPIC, value=b"in-flight", partition=2)
        k.flush(10)
        lso, end = lso_and_end(b, 2)
        check(lso < end, "open transaction before the kill must hold the LSO back")
        b.stop(sig=signal.SIGKILL)
        b.start()
        lso, end = lso_and_end(b, 2)
        check(lso < end, "after the restart the open transaction must still hold the LSO back (%d, %d)" % (lso, end))
        deadline = time.time() + 15
        while time.time() < deadline and lso < end:
            time.sleep(0.3)
            lso, end = lso_and_end(b, 2)
        check(lso == end, "the transaction open at the kill was not aborted after the restart (%d, %d)" % (lso, end))
        k2 = producer(b, "tx-kill")
        k2.begin_transaction()
        k2.produce(TOPIC, value=b"after-restart", partition=2)
        k2.commit_transaction(30)
        committed[2].append("after-restart")
        rc = consume_all(b, "read_committed", sum(len(v) for v in committed.values()))
        for part in range(3):
            check(rc[part] == committed[part], "after the restart, partition %d: read_committed saw %d, expected %d"
                  % (part, len(rc[part]), len(committed[part])))
        print("after SIGKILL + restart: read_committed sees exactly the committed records")
    print("PASS")


if __name__ == "__main__":
    main()
