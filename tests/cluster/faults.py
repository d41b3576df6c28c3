"""Shared pieces of the cluster fault tests (etcd plus three brokers in
network namespaces, scripts/cluster.sh; faults injected with `kill`,
`start`, `cut N peers|all`, `heal N`, `etcd-stop`, `etcd-start`):

- Load: an idempotent producer on a thread writing numbered values
  ("%08d") to every partition of a topic, recording every acknowledgement
  (partition, offset, value) and every delivery error.
- Watcher: a consumer on a thread recording every (partition, offset, value)
  it is handed, to check afterwards that nothing it saw was later truncated.
- check(): reads every partition back from its leader and compares it with
  the acknowledgements (none lost, none duplicated, each at its
  acknowledged offset), with what the watcher saw, and, after a clean stop,
  compares the replicas' segment files batch by batch (offsets and CRCs)
  below the high watermark.
"""
import os
import shutil
import sys
import threading
import time
import urllib.request

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cluster_failover as base  # noqa: E402  (Cluster, metadata, wait_for, fail)
import test_replication_failover as repl  # noqa: E402  (batches)

fail = base.fail
wait_for = base.wait_for
BROKERS = (1, 2, 3)


def start_cluster(extra_args="", metrics=False):
    """metrics: the brokers serve /metrics on SUBNET.(10+i):9094 (see
    versions_used) instead of running with --no-metrics."""
    if os.geteuid() != 0:
        fail("needs root for network namespaces")
    if not os.access(os.environ.get("NOCOPY_ETCD", "/usr/bin/etcd"), os.X_OK):
        fail("etcd is not installed (scripts/setup.sh installs etcd-server)")
    if not shutil.which("iptables"):
        fail("iptables is not installed (scripts/setup.sh installs it)")
    c = base.Cluster()
    if metrics:
        c.env["NOCOPY_BROKER_ARGS"] = c.env["NOCOPY_BROKER_ARGS"].replace("--no-metrics", "")
    c.env["NOCOPY_BROKER_ARGS"] += " " + extra_args
    c.run("up")
    return c


def create_topic(c, topic, partitions, min_isr=2):
    admin = AdminClient({"bootstrap.servers": c.bootstrap(), "log_level": 0})
    fs = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=3,
                                       config={"min.insync.replicas": str(min_isr)})], operation_timeout=10)
    fs[topic].result(15)
    wait_for("every partition of %s led with a full ISR" % topic,
             lambda: all_in_sync(c, topic, partitions), 20)


def partitions_of(c, topic, ids=BROKERS):
    return base.metadata(c.bootstrap(ids), topic).topics[topic].partitions


def all_in_sync(c, topic, partitions, ids=BROKERS):
    parts = partitions_of(c, topic, ids)
    ok = len(parts) == partitions and all(p.leader in BROKERS and sorted(p.isrs) == [1, 2, 3]
                                          for p in parts.values())
    return parts if ok else None


class Load:
    """An idempotent acks=all producer on a thread: value i goes to
    partition i % partitions, at about `rate` messages a second."""

    def __init__(self, c, topic, partitions, rate=400, acks="all", idempotent=True):
        self.topic, self.partitions, self.rate = topic, partitions, rate
        self.acked = {}     # value -> (partition, offset)
        self.errors = []    # (value, error)
        self.produced = 0
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        conf = {"bootstrap.servers": c.bootstrap(), "acks": acks, "enable.idempotence": idempotent,
                "linger.ms": 5, "message.timeout.ms": 30000, "log_level": 0,
                "topic.metadata.refresh.interval.ms": 1000, "retry.backoff.ms": 100}
        if os.environ.get("NOCOPY_FAULTS_DEBUG"):  # librdkafka debug contexts, e.g. "broker,topic,msg"
            conf.update({"debug": os.environ["NOCOPY_FAULTS_DEBUG"], "log_level": 7})
        self.p = Producer(conf)
        self.t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.t0 = time.time()
        self.t.start()
        return self

    def _cb(self, err, msg):
        with self.lock:
            v = msg.value()
            if err is not None:
                self.errors.append((v, str(err)))
            else:
                if v in self.acked:
                    self.errors.append((v, "acknowledged twice"))
                self.acked[v] = (msg.partition(), msg.offset())

    def _run(self):
        i = 0
        while not self.stop_flag.is_set():
            target = (time.time() - self.t0) * self.rate
            while i < target and not self.stop_flag.is_set():
                try:
                    self.p.produce(self.topic, value=b"%08d" % i, partition=i % self.partitions, on_delivery=self._cb)
                    i += 1
                except BufferError:
                    break
            self.produced = i
            self.p.poll(0.02)

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def wait_acks(self, n, limit, what="acknowledgements"):
        """Waits until `n` more messages are acknowledged than now."""
        start = self.acked_count()
        try:
            wait_for("%d more %s" % (n, what), lambda: self.acked_count() >= start + n, limit)
        except SystemExit:
            with self.lock:
                print("load: %d produced, %d acknowledged, last delivery errors %r" %
                      (self.produced, len(self.acked), self.errors[-3:]))
            raise

    def stop(self, flush=45):
        self.stop_flag.set()
        self.t.join(10)
        left = self.p.flush(flush)
        if left:
            fail("%d messages still undelivered after %d s" % (left, flush))
        print("load: %d produced, %d acknowledged, %d delivery errors %s" %
              (self.produced, len(self.acked), len(self.errors), sorted({e for _, e in self.errors})[:3]))
        dup_acks = [v for v, e in self.errors if e == "acknowledged twice"]
        if dup_acks:
            fail("values acknowledged twice: %r" % dup_acks[:3])


class Watcher:
    """A read_uncommitted consumer on a thread, recording what it is handed."""

    def __init__(self, c, topic, partitions):
        self.seen = []  # (partition, offset, value)
        self.stop_flag = threading.Event()
        self.c = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": "watcher-%d" % os.getpid(),
                           "enable.auto.commit": False, "log_level": 0, "topic.metadata.refresh.interval.ms": 1000,
                           "fetch.wait.max.ms": 200})
        self.c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        self.t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.t.start()
        return self

    def _run(self):
        while not self.stop_flag.is_set():
            m = self.c.poll(0.2)
            if m is not None and not m.error():
                self.seen.append((m.partition(), m.offset(), m.value()))

    def wait_complete(self, load, limit=30):
        """Waits until it has been handed every acknowledged value: a
        consumer that follows the partitions sees no gap."""
        def missing():
            got = {v for _, _, v in list(self.seen)}
            return [v for v in list(load.acked) if v not in got]
        t0 = time.time()
        while missing() and time.time() - t0 < limit:
            time.sleep(0.5)
        gone = missing()
        if gone:
            fail("the consumer was never handed %d acknowledged messages, e.g. %r" % (len(gone), sorted(gone)[:5]))
        print("the consumer was handed all %d acknowledged messages" % len(load.acked))

    def stop(self):
        self.stop_flag.set()
        self.t.join(10)
        self.c.close()


def read_partition(addr, topic, partition, limit=30):
    """[(offset, value)] of one partition below its high watermark, read from `addr`."""
    cons = Consumer({"bootstrap.servers": addr, "group.id": "checker-%d" % os.getpid(),
                     "enable.auto.commit": False, "log_level": 0})
    tp = TopicPartition(topic, partition)
    _, high = cons.get_watermark_offsets(tp, timeout=10)
    cons.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    out, t0, last = [], time.time(), -1
    while last + 1 < high and time.time() - t0 < limit:
        m = cons.poll(0.5)
        if m is None or m.error():
            continue
        out.append((m.offset(), m.value()))
        last = m.offset()
    cons.close()
    if last + 1 < high:
        fail("%s-%d: read up to offset %d of %d" % (topic, partition, last, high))
    return out, high


def check(c, topic, partitions, load, watcher=None, stop_cluster=True):
    """Every check of the module docstring; stops the cluster (clean) at the end
    and removes its directory when everything holds. Returns the values read
    back, {value: (partition, offset)}."""
    wait_for("a full ISR on every partition before the check", lambda: all_in_sync(c, topic, partitions), 60)
    parts = partitions_of(c, topic)
    logs, highs = {}, {}
    for p in range(partitions):
        logs[p], highs[p] = read_partition(c.addr(parts[p].leader), topic, p)
    acked = dict(load.acked)
    where = {}
    for p, records in logs.items():
        for off, v in records:
            if v in where:
                fail("value %r twice: %r and %r" % (v, where[v], (p, off)))
            where[v] = (p, off)
    lost = [v for v in acked if v not in where]
    if lost:
        fail("%d acknowledged messages lost, e.g. %r" % (len(lost), sorted(lost)[:5]))
    moved = [(v, a, where[v]) for v, a in acked.items() if where[v] != a]
    if moved:
        fail("%d acknowledged messages not at their acknowledged offset, e.g. %r" % (len(moved), moved[:3]))
    # Per partition the values (numbered in produce order) must increase:
    # an idempotent producer's retries never reorder nor duplicate.
    for p, records in logs.items():
        vals = [int(v) for _, v in records]
        bad = [k for k in range(1, len(vals)) if vals[k] <= vals[k - 1]]
        if bad:
            fail("partition %d: values out of order at offset %d: %r" % (p, records[bad[0]][0], vals[bad[0] - 1:bad[0] + 1]))
    print("check: %d acknowledged messages all read back once at their offsets (%d records in %d partitions)" %
          (len(acked), sum(len(r) for r in logs.values()), partitions))
    if watcher is not None:
        final = {(p, off): v for p, records in logs.items() for off, v in records}
        stale = [(p, off, v) for p, off, v in watcher.seen if (p, off) in final and final[(p, off)] != v]
        beyond = [(p, off, v) for p, off, v in watcher.seen if (p, off) not in final and off < highs[p]]
        if stale or beyond:
            fail("a consumer saw records that were later truncated or replaced: %r" % (stale + beyond)[:3])
        print("check: the watching consumer saw %d records, none later truncated" % len(watcher.seen))
    if not stop_cluster:
        return where
    # Let the followers take the last high watermark, then stop cleanly and
    # compare the replicas' segment files.
    time.sleep(1.5)
    c.run("down")
    for p in range(partitions):
        seg = {i: repl.batches(os.path.join(c.dir, "b%d" % i), highs[p], topic, p) for i in BROKERS}
        ref = seg[parts[p].leader]
        if highs[p] and (not ref or ref[-1][1] != highs[p] - 1):
            fail("partition %d: the leader's batches end at %r, the high watermark is %d" % (p, ref[-1:], highs[p]))
        for i in BROKERS:
            if seg[i] != ref:
                k = next((k for k, (a, b) in enumerate(zip(ref, seg[i])) if a != b), min(len(ref), len(seg[i])))
                fail("partition %d: broker %d differs from the leader below the high watermark at batch %d: %r vs %r"
                     % (p, i, k, seg[i][k:k + 1], ref[k:k + 1]))
    print("check: the three replicas of each partition hold identical batches below the high watermark")
    shutil.rmtree(c.dir, ignore_errors=True)
    return where


def versions_used(c, ids, into):
    """Merges {api label: sorted versions} of the requests brokers `ids`
    have counted (counters restart with a broker process) into `into`.
    Needs start_cluster(metrics=True)."""
    for i in ids:
        url = "http://%s.%d:9094/metrics" % (c.subnet, 10 + i)
        try:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError as e:
            fail("%s: %s" % (url, e))
        base.harness.versions_in(base.harness.parse_metrics(text), into)
    return into


def run(scenario, extra_args="", metrics=False):
    """Starts a cluster, runs scenario(c), dumps the logs on failure, always stops it."""
    c = start_cluster(extra_args, metrics)
    try:
        scenario(c)
    except BaseException:
        c.dump_logs()
        subprocess_down(c)
        raise
    subprocess_down(c)
    print("PASS")


def subprocess_down(c):
    try:
        c.run("down")
    except SystemExit:
        pass
