"""A consumer group survives the loss of its coordinator (etcd plus three
brokers in network namespaces, scripts/cluster.sh; confluent-kafka):

- 3,000 numbered records go to a 3-partition topic (replication factor 3,
  acks=all), all acknowledged.
- Consumer A of group G consumes with manual, synchronous commits every 100
  records, until every partition has a commit. FindCoordinator must name the leader of G's partition of
  __consumer_offsets (abs(String.hashCode(G)) % partitions, computed here
  independently).
- That broker is SIGKILLed. Another broker leads the partition, loads G
  from its replicated log (its log says so) and FindCoordinator names it; A
  goes on consuming and committing (commits retried while the coordinator
  moves) until every partition's committed offset has advanced.
- A is closed without a further commit; consumer B joins G and must start
  exactly at the last offsets committed (from before and after the kill)
  and read every partition to its end.

Checks: no record below an offset the group had committed at that moment is
delivered again (to A or B), none is skipped (A and B together see every
offset of every partition), and B's first offset per partition is the
committed offset.

Needs root (ip netns) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import os
import re
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
import test_cluster_failover as base  # noqa: E402

fail = base.fail
wait_for = base.wait_for
TOPIC, PARTS, RECORDS = "grp-data", 3, 3000
GROUP = "failover-group"
OFFSETS_PARTITIONS = 6  # --offsets-topic-num-partitions below


def java_hash(s):
    """java.lang.String#hashCode: over UTF-16 code units, wrapping in 32 bits."""
    b = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(b), 2):
        h = (h * 31 + int.from_bytes(b[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def group_partition(group, n):
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % n


def offsets_leader(c, ids):
    parts = base.metadata(c.bootstrap(ids), "__consumer_offsets").topics["__consumer_offsets"].partitions
    if len(parts) != OFFSETS_PARTITIONS:
        return None
    return parts[group_partition(GROUP, OFFSETS_PARTITIONS)].leader


def find_coordinator(addr, group):
    """FindCoordinator v0 straight to `addr`: (error, node id)."""
    raw = base.RawAt(addr)
    try:
        key = group.encode()
        body = len(key).to_bytes(2, "big") + key
        r = raw.call(10, 0, body)
        err = int.from_bytes(r[0:2], "big", signed=True)
        node = int.from_bytes(r[2:6], "big", signed=True)
        return err, node
    finally:
        raw.close()


class Tracker:
    """What the group's consumers were handed, checked against what the group had committed."""

    def __init__(self):
        self.committed = {p: 0 for p in range(PARTS)}  # acknowledged commits; 0 = nothing yet
        self.seen = {p: set() for p in range(PARTS)}
        self.below = []  # (consumer, partition, offset, committed then)

    def delivered(self, who, m):
        p, off = m.partition(), m.offset()
        if off < self.committed[p]:
            self.below.append((who, p, off, self.committed[p]))
        self.seen[p].add(off)

    def commit(self, consumer, limit=30):
        """A synchronous commit of the consumer's positions, retried while the coordinator moves."""
        t0, last = time.time(), None
        while time.time() - t0 < limit:
            try:
                for tp in consumer.commit(asynchronous=False):
                    if tp.error is not None:
                        raise KafkaException(tp.error)
                    if tp.offset >= 0:
                        self.committed[tp.partition] = max(self.committed[tp.partition], tp.offset)
                return time.time() - t0
            except KafkaException as e:
                if e.args and e.args[0].code() == KafkaError._NO_OFFSET:
                    return time.time() - t0  # nothing consumed since the last commit
                last = e
                time.sleep(0.2)
        fail("commit not acknowledged within %d s: %s" % (limit, last))


def new_consumer(c):
    return Consumer({"bootstrap.servers": c.bootstrap(), "group.id": GROUP, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "log_level": 0, "topic.metadata.refresh.interval.ms": 1000,
                     "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000, "fetch.wait.max.ms": 200,
                     "max.partition.fetch.bytes": 1024})


def consume(consumer, tracker, who, until, limit, commit_every=100):
    """Consumes until `until(tracker)`, committing every `commit_every` records; returns how many it got."""
    n, t0 = 0, time.time()
    while not until(tracker):
        if time.time() - t0 > limit:
            fail("%s: stuck after %d records (seen %r)" % (who, n, {p: len(s) for p, s in tracker.seen.items()}))
        m = consumer.poll(0.2)
        if m is None or m.error():
            continue
        tracker.delivered(who, m)
        n += 1
        if n % commit_every == 0:
            tracker.commit(consumer)
    return n


def total_seen(t):
    return sum(len(s) for s in t.seen.values())


def scenario(c):
    faults.create_topic(c, TOPIC, PARTS)
    # Small batches and small fetches: the consumers move through the three
    # partitions together, so each has commits before and after the kill.
    p = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "enable.idempotence": True, "log_level": 0,
                  "linger.ms": 5, "batch.num.messages": 20})
    acked = []
    for i in range(RECORDS):
        p.produce(TOPIC, value=b"%08d" % i, partition=i % PARTS,
                  on_delivery=lambda err, m: acked.append(err is None))
        p.poll(0)
    p.flush(30)
    if len(acked) != RECORDS or not all(acked):
        fail("%d of %d records acknowledged" % (sum(acked), RECORDS))
    ends = {q: RECORDS // PARTS + (1 if q < RECORDS % PARTS else 0) for q in range(PARTS)}

    t = Tracker()
    a = new_consumer(c)
    a.subscribe([TOPIC])
    consume(a, t, "A", lambda t: total_seen(t) >= 1000 and min(t.committed.values()) > 0, 60)
    took = t.commit(a)
    _, coord = wait_for("__consumer_offsets with %d partitions" % OFFSETS_PARTITIONS,
                        lambda: offsets_leader(c, faults.BROKERS), 20)
    for i in faults.BROKERS:
        err, node = find_coordinator(c.addr(i), GROUP)
        if (err, node) != (0, coord):
            fail("broker %d: FindCoordinator answered (error %d, node %d), the partition's leader is %d"
                 % (i, err, node, coord))
    before = dict(t.committed)
    print("A consumed %d records and committed %r (last commit %.2f s); coordinator: broker %d (partition %d)"
          % (total_seen(t), before, took, coord, group_partition(GROUP, OFFSETS_PARTITIONS)))

    c.run("kill", str(coord))
    t_kill = time.time()
    live = [i for i in faults.BROKERS if i != coord]
    _, new_coord = wait_for("a new leader of the group's partition",
                            lambda: (lambda l: l if l in live else None)(offsets_leader(c, live)), 30)
    wait_for("FindCoordinator naming broker %d on the live brokers" % new_coord,
             lambda: all(find_coordinator(c.addr(i), GROUP) == (0, new_coord) for i in live), 20)
    print("broker %d SIGKILLed; broker %d coordinates the group %.1f s later" % (coord, new_coord, time.time() - t_kill))

    consume(a, t, "A", lambda t: total_seen(t) >= 2000 and all(t.committed[q] > before[q] for q in range(PARTS)), 60)
    took = t.commit(a)
    after = dict(t.committed)
    print("A consumed up to %d records after the kill and committed %r (%.2f s)" % (total_seen(t), after, took))
    a.close()

    b_first, b_last = {}, {}
    b = new_consumer(c)
    b.subscribe([TOPIC])
    t0 = time.time()
    while any(after[q] < ends[q] and b_last.get(q, -1) < ends[q] - 1 for q in range(PARTS)):
        if time.time() - t0 > 60:
            fail("B: partitions not read to their ends: last offsets %r, ends %r" % (b_last, ends))
        m = b.poll(0.2)
        if m is None or m.error():
            continue
        b_first.setdefault(m.partition(), m.offset())
        b_last[m.partition()] = m.offset()
        t.delivered("B", m)
    b.close()

    log = open(os.path.join(c.dir, "b%d.log" % new_coord), errors="replace").read()
    loaded = re.findall(r"groups: loaded __consumer_offsets-%d .*" % group_partition(GROUP, OFFSETS_PARTITIONS), log)
    if not loaded or not re.search(r", [1-9]\d* groups?$", loaded[-1]):
        fail("broker %d did not log loading the group's partition with its group: %r" % (new_coord, loaded[-1:]))
    print("broker %d: %s" % (new_coord, loaded[-1]))
    if t.below:
        fail("%d records below a committed offset delivered again, e.g. %r" % (len(t.below), t.below[:3]))
    for q in range(PARTS):
        if b_first.get(q, ends[q]) != after[q]:
            fail("B started partition %d at %r, the group had committed %d" % (q, b_first.get(q), after[q]))
        missing = [o for o in range(ends[q]) if o not in t.seen[q]]
        if missing:
            fail("partition %d: offsets never delivered: %r" % (q, missing[:5]))
    print("B resumed at the committed offsets %r; no record below a committed offset delivered again, none skipped"
          % after)


if __name__ == "__main__":
    faults.run(scenario, "--offsets-topic-num-partitions %d --min-insync-replicas 2" % OFFSETS_PARTITIONS)
