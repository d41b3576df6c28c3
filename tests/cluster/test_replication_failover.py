"""Replication under a leader crash: etcd plus three `nocopy broker` processes
in network namespaces (scripts/cluster.sh), driven by confluent-kafka.

An idempotent producer with acks=all writes numbered messages to a topic with
replication factor 3 and min.insync.replicas=2 (a topic config); its
partition's leader is SIGKILLed mid-run and the producer carries on. Then:

- every acknowledged message is read back exactly once from the new leader
  (and no message appears twice at all);
- the surviving replicas hold byte-identical batches (same offsets, same
  CRC) below the high watermark, read from their segment files after a clean
  stop;
- the killed broker, started again, truncates what it must, catches up and
  is back in the ISR; its log below the high watermark is identical too;
- a preferred leader election (ElectLeaders v1, election type 0) hands the
  partition back to it, the first replica of the assignment, with a new
  leader epoch; a second one is not needed (ELECTION_NOT_NEEDED).

Needs root (ip netns) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import glob
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cluster_failover as base  # noqa: E402  (Cluster, metadata, wait_for, fail)

fail = base.fail
TOPIC = "acked"
TOTAL = 6000        # messages produced
KILL_AFTER = 2000   # messages produced before the leader is killed
DEADLINE = 100      # seconds for the whole scenario


def produce_all(c, leader):
    """Produces TOTAL numbered messages at a steady pace, SIGKILLs `leader`
    once KILL_AFTER are produced (with acknowledgements still outstanding);
    returns (acked values, delivery errors, seconds from the kill to the
    first acknowledgement of a message produced after it)."""
    acked, errors = [], []
    state = {"killed_at": None, "kill_index": None, "first_after": None}

    def cb(err, msg):
        if err is not None:
            errors.append(str(err))
            return
        acked.append(msg.value())
        k = state["kill_index"]
        if k is not None and state["first_after"] is None and int(msg.value()) >= k:
            state["first_after"] = time.time() - state["killed_at"]

    p = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "enable.idempotence": True,
                  "linger.ms": 5, "message.timeout.ms": 60000, "log_level": 3,
                  "topic.metadata.refresh.interval.ms": 1000})
    t0 = time.time()
    for i in range(TOTAL):
        while True:
            try:
                p.produce(TOPIC, value=b"%08d" % i, partition=0, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        # About 1,500 messages a second, so the run spans the failover; the
        # last 100 before the kill go out in one burst without polling, so
        # some are still unacknowledged when the leader dies even on a
        # loaded machine where the broker keeps up with a slow producer.
        if i % 10 == 9 and not KILL_AFTER - 100 <= i < KILL_AFTER:
            p.poll(0.005)
        if i + 1 == KILL_AFTER:
            in_flight = i + 1 - len(acked) - len(errors)
            c.run("kill", str(leader))
            state["killed_at"], state["kill_index"] = time.time(), i + 1
            print("SIGKILL of leader %d with %d produced, %d acknowledged, %d outstanding" %
                  (leader, i + 1, len(acked), in_flight))
            if in_flight == 0:
                fail("nothing was in flight at the kill: the test would not exercise retries")
        if time.time() - t0 > DEADLINE / 2:
            fail("producing took longer than %d s" % (DEADLINE / 2))
    left = p.flush(60)
    if left:
        fail("%d messages still undelivered after flush" % left)
    return acked, errors, state["first_after"]


def read_back(addr):
    """Every value of TOPIC-0 from the leader at `addr`, and its high watermark."""
    cons = Consumer({"bootstrap.servers": addr, "group.id": "checker", "enable.auto.commit": False,
                     "log_level": 3})
    tp = TopicPartition(TOPIC, 0)
    _, high = cons.get_watermark_offsets(tp, timeout=10)
    cons.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
    values, t0 = [], time.time()
    last = -1
    while last + 1 < high and time.time() - t0 < 30:
        m = cons.poll(1.0)
        if m is None or m.error():
            continue
        values.append(m.value())
        last = m.offset()
    cons.close()
    if last + 1 < high:
        fail("read up to offset %d of %d" % (last, high))
    return values, high


def batches(data_dir, high, topic=TOPIC, partition=0):
    """(base offset, last offset, crc) of every batch of `topic`-`partition`
    below `high`, from the segment files of one broker's data directory."""
    out = []
    for path in sorted(glob.glob(os.path.join(data_dir, "%s-%d" % (topic, partition), "*.log")),
                       key=lambda f: int(os.path.basename(f).split(".")[0])):
        with open(path, "rb") as fh:
            data = fh.read()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            if length <= 0 or pos + 12 + length > len(data):
                break
            crc, = struct.unpack_from(">I", data, pos + 17)
            delta, = struct.unpack_from(">i", data, pos + 23)
            if base + delta < high:
                out.append((base, base + delta, crc))
            pos += 12 + length
    return out


def elect_preferred(addr, topic, partition):
    """One ElectLeaders v1 request (election type 0, preferred) for one
    partition; returns (top-level error, partition error, message)."""
    def string(x):
        b = x.encode()
        return struct.pack(">h", len(b)) + b
    body = (struct.pack(">b", 0) + struct.pack(">i", 1) + string(topic) + struct.pack(">ii", 1, partition) +
            struct.pack(">i", 30000))
    req = struct.pack(">hhi", 43, 1, 7) + string("elect-check") + body
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(struct.pack(">i", len(req)) + req)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                fail("ElectLeaders: connection closed after %d bytes" % len(data))
            data += chunk
    pos = 8  # size, correlation id
    _, top = struct.unpack_from(">ih", data, pos)
    pos += 6
    n_topics, = struct.unpack_from(">i", data, pos)
    pos += 4
    if n_topics != 1:
        fail("ElectLeaders: %d topic results" % n_topics)
    tlen, = struct.unpack_from(">h", data, pos)
    pos += 2 + tlen + 4  # topic name, partition result count (1)
    _, err, mlen = struct.unpack_from(">ihh", data, pos)
    pos += 8
    msg = data[pos:pos + mlen].decode() if mlen >= 0 else None
    return top, err, msg


def scenario(c):
    admin = AdminClient({"bootstrap.servers": c.bootstrap()})
    fs = admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=3,
                                       config={"min.insync.replicas": "2"})], operation_timeout=10)
    fs[TOPIC].result(15)

    def led():
        p = base.metadata(c.bootstrap()).topics[TOPIC].partitions[0]
        return p if p.leader in (1, 2, 3) and sorted(p.isrs) == [1, 2, 3] else None

    _, p0 = base.wait_for("a leader and a full ISR", led, 15)
    leader = p0.leader
    survivors = [i for i in (1, 2, 3) if i != leader]
    acked, errors, first_after = produce_all(c, leader)
    print("%d acknowledged, %d delivery errors %s; first message produced after the kill acknowledged %.1f s after it" %
          (len(acked), len(errors), sorted(set(errors))[:3], first_after or -1))

    def moved():
        p = base.metadata(c.bootstrap(survivors)).topics[TOPIC].partitions[0]
        return p if p.leader in survivors else None

    _, p1 = base.wait_for("a new leader", moved, 15)
    values, high = read_back(c.addr(p1.leader))
    seen = {}
    for v in values:
        seen[v] = seen.get(v, 0) + 1
    dups = [v for v, n in seen.items() if n > 1]
    if dups:
        fail("%d values read more than once, e.g. %r" % (len(dups), dups[:3]))
    missing = [v for v in acked if v not in seen]
    if missing:
        fail("%d acknowledged messages lost, e.g. %r" % (len(missing), missing[:3]))
    print("new leader %d: all %d acknowledged messages read back once (%d records below %d)" %
          (p1.leader, len(acked), len(values), high))

    # The killed broker comes back, truncates if needed, catches up and rejoins the ISR.
    c.run("start", str(leader))

    def rejoined():
        p = base.metadata(c.bootstrap(survivors)).topics[TOPIC].partitions[0]
        return p if sorted(p.isrs) == [1, 2, 3] else None

    took, _ = base.wait_for("broker %d back in the ISR" % leader, rejoined, 30)
    print("broker %d back in the ISR %.1f s after its restart" % (leader, took))

    # It is the preferred replica (first of the assignment): an election hands
    # the partition back to it.
    top, err, msg = elect_preferred(c.addr(survivors[0]), TOPIC, 0)
    if (top, err) != (0, 0):
        fail("preferred election: errors %d/%d (%s)" % (top, err, msg))

    def back():
        p = base.metadata(c.bootstrap()).topics[TOPIC].partitions[0]
        return p if p.leader == leader else None

    base.wait_for("broker %d leading again" % leader, back, 15)
    top, err, _ = elect_preferred(c.addr(leader), TOPIC, 0)
    if err != 84:
        fail("a second preferred election answered %d, not ELECTION_NOT_NEEDED (84)" % err)
    print("preferred election: broker %d leads again; a second one is not needed" % leader)
    return high


def main():
    if os.geteuid() != 0:
        fail("needs root for network namespaces")
    if not os.access(os.environ.get("NOCOPY_ETCD", "/usr/bin/etcd"), os.X_OK):
        fail("etcd is not installed (scripts/setup.sh installs etcd-server)")
    c = base.Cluster()
    c.env["NOCOPY_BROKER_ARGS"] += " --replica-lag-time-max-ms 5000"
    c.run("up")
    try:
        high = scenario(c)
    except SystemExit:
        c.dump_logs()
        c.run("down")
        raise
    c.run("down")  # a clean stop: every replica's segments are complete on disk
    logs = {i: batches(os.path.join(c.dir, "b%d" % i), high) for i in (1, 2, 3)}
    ref = logs[1]
    if not ref or ref[-1][1] != high - 1:
        fail("broker 1 holds batches up to %r, the high watermark is %d" % (ref[-1:] or None, high))
    for i in (2, 3):
        if logs[i] != ref:
            diff = next((k for k, (a, b) in enumerate(zip(ref, logs[i])) if a != b), min(len(ref), len(logs[i])))
            fail("broker %d differs from broker 1 below the high watermark at batch %d: %r vs %r" %
                 (i, diff, logs[i][diff:diff + 1], ref[diff:diff + 1]))
    print("all three replicas hold the same %d batches below the high watermark %d" % (len(ref), high))
    shutil.rmtree(c.dir, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
