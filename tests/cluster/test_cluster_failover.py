"""A real cluster: etcd plus three `nocopy broker` processes, each in its own
network namespace (scripts/cluster.sh), driven by confluent-kafka
(librdkafka):

- Metadata from any broker lists all three brokers, the controller, and a
  live leader, the replicas and the ISR of every partition.
- SIGKILL of a partition's leader: the controller elects another ISR member
  within a few seconds, and the same producer instance delivers to the
  partition again with no operator action.
- SIGKILL of the controller: another broker becomes the controller and takes
  over the dead broker's partitions.
- InitProducerId on every broker: no producer id is handed out twice.
- `cluster.sh down` stops every process by PID and removes the namespaces.

Needs root (ip netns) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import harness  # noqa: E402  (raw requests: build_batch, produce_body, fetch_body_v4)


class RawAt(harness.Raw):
    """harness.Raw to host:port (a broker in a namespace)."""

    def __init__(self, addr, timeout=10):
        host, port = addr.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=timeout)
        self.corr = 0
SCRIPT = os.path.join(ROOT, "scripts", "cluster.sh")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


class Cluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nocopy-cluster-")
        n = random.randrange(10, 250)
        self.env = dict(os.environ,
                        NOCOPY_CLUSTER_DIR=self.dir,
                        NOCOPY_CLUSTER_NAME="nct%d" % (os.getpid() % 100000),
                        NOCOPY_CLUSTER_SUBNET="10.%d.%d" % (200 + n % 50, n),
                        NOCOPY_ETCD_PORT=str(22000 + n * 2),
                        NOCOPY_BROKER_ARGS="--threads 1 --no-metrics --session-timeout-ms 3000")
        self.subnet = self.env["NOCOPY_CLUSTER_SUBNET"]

    def run(self, *args):
        r = subprocess.run(["bash", SCRIPT] + list(args), env=self.env, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            self.dump_logs()
            fail("cluster.sh %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r.stdout

    def addr(self, i):
        return "%s.%d:9092" % (self.subnet, 10 + i)

    def bootstrap(self, ids=(1, 2, 3)):
        return ",".join(self.addr(i) for i in ids)

    def dump_logs(self):
        for f in sorted(os.listdir(self.dir)):
            if f.endswith(".log"):
                with open(os.path.join(self.dir, f), errors="replace") as fh:
                    print("---- %s (tail)" % f)
                    print("".join(fh.readlines()[-25:]))


def metadata(bootstrap, topic=None):
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000, "log_level": 0})
    return admin.list_topics(topic=topic, timeout=5)


def wait_for(what, pred, limit):
    t0 = time.time()
    last = None
    while time.time() - t0 < limit:
        try:
            last = pred()
            if last:
                return time.time() - t0, last
        except Exception as e:  # a broker we asked may just have died
            last = e
        time.sleep(0.2)
    fail("%s: not within %.0f s (last: %r)" % (what, limit, last))


def produce_one(producer, topic, partition, value, limit=20):
    result = {}

    def cb(err, msg):
        result["err"] = err

    producer.produce(topic, value=value, partition=partition, on_delivery=cb)
    t0 = time.time()
    while "err" not in result and time.time() - t0 < limit:
        producer.poll(0.1)
    if "err" not in result:
        fail("delivery to %s-%d not reported within %d s" % (topic, partition, limit))
    if result["err"] is not None:
        fail("delivery to %s-%d failed: %s" % (topic, partition, result["err"]))
    return time.time() - t0


def main():
    if os.geteuid() != 0:
        fail("needs root for network namespaces")
    if not os.access(os.environ.get("NOCOPY_ETCD", "/usr/bin/etcd"), os.X_OK):
        fail("etcd is not installed (scripts/setup.sh installs etcd-server)")
    c = Cluster()
    c.run("up")
    try:
        scenario(c)
    except SystemExit:
        c.dump_logs()
        raise
    finally:
        c.run("down")
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if c.env["NOCOPY_CLUSTER_NAME"] + "-b" in out:
        fail("namespaces left after down: " + out)
    shutil.rmtree(c.dir, ignore_errors=True)
    print("PASS")


def scenario(c):
    # Metadata lists every broker, whichever broker answers.
    for i in (1, 2, 3):
        md = metadata(c.addr(i))
        if sorted(md.brokers) != [1, 2, 3]:
            fail("broker %d lists brokers %s" % (i, sorted(md.brokers)))
        if md.controller_id not in (1, 2, 3):
            fail("no controller in the metadata: %r" % md.controller_id)
    # Producer ids are unique across the cluster (blocks reserved in etcd):
    # InitProducerId v0 (no transactional id) to each broker, twice.
    pids = []
    for i in (1, 2, 3, 1, 2, 3):
        raw = RawAt(c.addr(i))
        _, err, pid, epoch = struct.unpack(">ihqh", raw.call(22, 0, struct.pack(">hi", -1, 60000))[:16])
        raw.close()
        if err != 0 or epoch != 0:
            fail("InitProducerId on broker %d: error %d, epoch %d" % (i, err, epoch))
        pids.append(pid)
    if len(set(pids)) != len(pids):
        fail("brokers handed out the same producer id: %r" % pids)
    admin = AdminClient({"bootstrap.servers": c.bootstrap()})
    fs = admin.create_topics([NewTopic("orders", num_partitions=3, replication_factor=3)], operation_timeout=10)
    fs["orders"].result(15)
    bad = admin.create_topics([NewTopic("too-wide", num_partitions=1, replication_factor=4)])
    try:
        bad["too-wide"].result(15)
        fail("replication factor 4 on 3 brokers was accepted")
    except Exception as e:
        if "INVALID_REPLICATION_FACTOR" not in str(e):
            fail("replication factor 4: unexpected error %s" % e)

    def all_led():
        t = metadata(c.bootstrap()).topics["orders"]
        parts = t.partitions
        ok = len(parts) == 3 and all(p.leader in (1, 2, 3) and sorted(p.replicas) == [1, 2, 3]
                                      and p.leader in p.isrs for p in parts.values())
        return parts if ok else None

    _, parts = wait_for("every partition led", all_led, 15)
    leaders = sorted(p.leader for p in parts.values())
    if leaders != [1, 2, 3]:
        fail("leaders are not spread round-robin: %s" % leaders)

    producer = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "linger.ms": 0, "log_level": 3,
                         "message.timeout.ms": 30000, "topic.metadata.refresh.interval.ms": 1000})
    for p in range(3):
        produce_one(producer, "orders", p, b"before-%d" % p)

    # A broker that does not lead the partition refuses Produce and Fetch.
    leader0 = parts[0].leader
    other = [i for i in (1, 2, 3) if i != leader0][0]
    raw = RawAt(c.addr(other))
    batch = harness.build_batch([(None, b"misdirected", None, int(time.time() * 1000))])
    err, _ = harness.parse_produce_v3(raw.call(0, 3, harness.produce_body("orders", 0, batch)))
    if err != 6:
        fail("Produce to non-leader %d: error %d, expected NOT_LEADER_OR_FOLLOWER (6)" % (other, err))
    err, _, _ = harness.parse_fetch_v4(raw.call(1, 4, harness.fetch_body_v4("orders", 0, 0, 0)))
    if err != 6:
        fail("Fetch from non-leader %d: error %d, expected NOT_LEADER_OR_FOLLOWER (6)" % (other, err))
    raw.close()
    raw = RawAt(c.addr(leader0))
    err, _ = harness.parse_produce_v3(raw.call(0, 3, harness.produce_body("orders", 0, batch)))
    if err != 0:
        fail("Produce to leader %d: error %d" % (leader0, err))
    raw.close()

    # SIGKILL the leader of partition 0.
    t_kill = time.time()
    c.run("kill", str(leader0))
    survivors = [i for i in (1, 2, 3) if i != leader0]

    def moved():
        p0 = metadata(c.bootstrap(survivors)).topics["orders"].partitions[0]
        return p0 if p0.leader in survivors and leader0 not in p0.isrs else None

    took, p0 = wait_for("leadership of orders-0 to move off broker %d" % leader0, moved, 15)
    print("leader of orders-0 moved %d -> %d in %.1f s after SIGKILL" % (leader0, p0.leader, took))
    produce_one(producer, "orders", 0, b"after-kill", limit=30)
    print("the same producer delivered to the new leader %.1f s after SIGKILL" % (time.time() - t_kill))

    # Bring the broker back; then SIGKILL the controller.
    c.run("start", str(leader0))
    wait_for("broker %d back" % leader0, lambda: leader0 in metadata(c.bootstrap(survivors)).brokers, 15)
    ctrl = metadata(c.bootstrap()).controller_id
    c.run("kill", str(ctrl))
    rest = [i for i in (1, 2, 3) if i != ctrl]

    def new_controller():
        md = metadata(c.bootstrap(rest))
        if md.controller_id not in rest or ctrl in md.brokers:
            return None
        t = md.topics["orders"].partitions
        return md if all(p.leader in rest for p in t.values()) else None

    took, md = wait_for("a new controller after SIGKILL of controller %d" % ctrl, new_controller, 20)
    print("controller %d -> %d in %.1f s; every partition led by a live broker" % (ctrl, md.controller_id, took))
    for p in range(3):
        produce_one(producer, "orders", p, b"after-controller-%d" % p, limit=30)


if __name__ == "__main__":
    main()
