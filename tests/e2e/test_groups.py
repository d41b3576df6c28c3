"""Consumer groups through the broker's
GroupsService. Two kafka-python consumers in one group split a 6-partition
topic with nothing delivered twice and nothing missed; committed offsets
survive a broker restart (SIGTERM) and the group resumes after them."""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

from kafka import KafkaConsumer  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

N = 6000


def produce(addr, start, count):
    lines = "".join("k%06d\tv%06d\n" % (i, i) for i in range(start, start + count))
    subprocess.run(["kcat", "-P", "-b", addr, "-t", "g6", "-K", "\t", "-X", "acks=all"], input=lines.encode(),
                   check=True, timeout=120)


def consumer(addr):
    return KafkaConsumer("g6", bootstrap_servers=addr, group_id="grp", auto_offset_reset="earliest",
                         enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500,
                         max_poll_records=500, fetch_max_wait_ms=100, api_version_auto_timeout_ms=10000)


def drain(c, want, got, timeout=60):
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        for tp, msgs in c.poll(timeout_ms=500).items():
            for m in msgs:
                got.append((tp.partition, m.offset, m.key.decode()))
        c.commit()
    return got


def main():
    b = Broker("--group-initial-rebalance-delay-ms", "0").start()
    try:
        a = KafkaAdminClient(bootstrap_servers=b.addr, request_timeout_ms=10000)
        a.create_topics([NewTopic("g6", 6, 1)])
        a.close()
        produce(b.addr, 0, N)

        c1, c2 = consumer(b.addr), consumer(b.addr)
        got1, got2 = [], []
        stop = threading.Event()

        def run(c, got):
            while not stop.is_set():
                for tp, msgs in c.poll(timeout_ms=300).items():
                    for m in msgs:
                        got.append((tp.partition, m.offset, m.key.decode()))
                c.commit()

        t1 = threading.Thread(target=run, args=(c1, got1))
        t2 = threading.Thread(target=run, args=(c2, got2))
        t1.start()
        t2.start()
        deadline = time.time() + 90
        while len(got1) + len(got2) < N and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # anything extra would show up now
        stop.set()
        t1.join()
        t2.join()
        keys = [k for _, _, k in got1 + got2]
        check(len(keys) == len(set(keys)), "%d messages delivered twice" % (len(keys) - len(set(keys))))
        check(len(set(keys)) == N, "%d of %d messages delivered" % (len(set(keys)), N))
        print("two consumers: %d + %d messages, partitions %s / %s" %
              (len(got1), len(got2), sorted({p for p, _, _ in got1}), sorted({p for p, _, _ in got2})))
        c1.close()
        c2.close()

        rc = b.stop(signal.SIGTERM)
        check(rc == 0, "SIGTERM exit %s" % rc)
        b.start()
        produce(b.addr, N, 100)
        c3 = consumer(b.addr)
        got3 = drain(c3, 100, [])
        time.sleep(1)
        drain(c3, 10**9, got3, timeout=2)
        c3.close()
        keys3 = sorted(k for _, _, k in got3)
        check(keys3 == ["k%06d" % i for i in range(N, N + 100)],
              "after restart the group read %d messages (first %s), want exactly the 100 new ones" %
              (len(keys3), keys3[:2]))
        print("after restart: resumed from committed offsets, %d new messages, no repeats" % len(keys3))
    finally:
        b.stop()
    print("OK")


if __name__ == "__main__":
    main()
