"""Exactly once through a consume-transform-produce loop (confluent-kafka,
librdkafka 2.0.2) while things are killed: N input records on 3 partitions;
a worker (txn_ctp_worker.py) copies them to an output topic, committing its
input offsets in each transaction. The worker is SIGKILLed mid-run and
restarted; then the broker is SIGKILLed mid-run and restarted (a worker that
fails meanwhile is restarted). At the end the output topic, read with
read_committed, holds each input record exactly once."""
import collections
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

N = 6000
HERE = os.path.dirname(os.path.abspath(__file__))


def committed_output(b):
    c = Consumer({"bootstrap.servers": b.addr, "group.id": "ctp-check", "isolation.level": "read_committed",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition("ctp-out", p, 0) for p in range(3)])
    out, eof = [], set()
    deadline = time.time() + 30
    while len(eof) < 3 and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:
                eof.add(m.partition())
            continue
        out.append(m.value().decode())
    c.close()
    return out


class Worker:
    def __init__(self, b):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "txn_ctp_worker.py"), b.addr],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.started = 1

    def ensure(self, b):
        if self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "txn_ctp_worker.py"), b.addr],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started += 1

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def wait_output(b, w, at_least, timeout):
    deadline = time.time() + timeout
    n = 0
    while time.time() < deadline:
        w.ensure(b)
        n = len(committed_output(b))
        if n >= at_least:
            return n
        time.sleep(0.5)
    raise AssertionError("output stuck at %d committed records (wanted %d)" % (n, at_least))


def main():
    with Broker("--group-initial-rebalance-delay-ms", "0") as b:
        admin = AdminClient({"bootstrap.servers": b.addr})
        for f in admin.create_topics([NewTopic("ctp-in", 3, 1), NewTopic("ctp-out", 3, 1)]).values():
            f.result(30)
        p = Producer({"bootstrap.servers": b.addr, "enable.idempotence": True})
        for i in range(N):
            p.produce("ctp-in", value=b"%06d" % i, partition=i % 3)
            if i % 1000 == 0:
                p.flush(30)
        p.flush(30)
        w = Worker(b)
        try:
            n = wait_output(b, w, N // 4, 90)
            w.kill()  # the client dies mid-run
            print("worker SIGKILLed at %d committed output records" % n)
            w.ensure(b)
            n = wait_output(b, w, N // 2, 90)
            b.stop(sig=signal.SIGKILL)  # the broker dies mid-run
            print("broker SIGKILLed at %d committed output records" % n)
            b.start()
            wait_output(b, w, N, 120)
            time.sleep(2)  # anything still in flight
        finally:
            w.kill()
        out = committed_output(b)
        counts = collections.Counter(out)
        dups = [v for v, k in counts.items() if k > 1]
        missing = N - len(counts)
        check(not dups, "%d input records appear more than once in the output, e.g. %s" % (len(dups), dups[:5]))
        check(missing == 0 and len(out) == N, "output holds %d records (%d distinct) for %d inputs"
              % (len(out), len(counts), N))
        check(set(counts) == {"out-%06d" % i for i in range(N)}, "output records differ from the inputs")
        print("each of %d input records is in the output exactly once (%d worker starts)" % (N, w.started))
    print("PASS")


if __name__ == "__main__":
    main()
