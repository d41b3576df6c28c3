"""Transactions survive the loss of their coordinator (etcd plus three
brokers in network namespaces, scripts/cluster.sh; confluent-kafka):

- A 3-partition topic (replication factor 3, min.insync.replicas 2) whose
  partitions are led by the three brokers.
- A transactional producer writes one record to every partition per
  transaction, every third transaction aborted. FindCoordinator (key type 1)
  must name, on every broker, the leader of the id's partition of
  __transaction_state (abs(String.hashCode(id)) % partitions, computed here
  independently); the markers to the partitions the other brokers lead go
  over the network (WriteTxnMarkers).
- That broker is SIGKILLed inside a transaction (its records written, its
  partitions added), which the producer then commits. Another broker leads the partition and
  loads it (its log says so); the producer carries on against it (or
  re-initialises when librdkafka calls the error fatal) and runs more
  transactions, some committed after the kill.

Checks: a read_committed consumer sees every record of every transaction
whose commit was acknowledged exactly once, no record of a transaction whose
abort was acknowledged, and of a transaction whose outcome the client could
not learn (an error mid-commit) all of its records or none.
Then a transactional batch of a producer with no ongoing transaction, sent
to a partition led by another broker than the coordinator, is refused
INVALID_TXN_STATE: the leader asked the coordinator (produce verification
across brokers).

Needs root (ip netns) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import os
import re
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
import test_cluster_failover as base  # noqa: E402
import test_group_coordinator_failover as groups  # noqa: E402  (java_hash, group_partition)

fail = base.fail
wait_for = base.wait_for
TOPIC, PARTS = "txn-data", 3
TXN_ID = "failover-txn"
STATE_PARTITIONS = 6  # --transaction-state-log-num-partitions below
BEFORE, AFTER = 45, 45  # transactions before and after the kill
LIMIT = 80  # seconds for the whole scenario, cluster start excluded


def state_leader(c, ids):
    parts = base.metadata(c.bootstrap(ids), "__transaction_state").topics["__transaction_state"].partitions
    if len(parts) != STATE_PARTITIONS:
        return None
    return parts[groups.group_partition(TXN_ID, STATE_PARTITIONS)].leader


def find_txn_coordinator(addr, key):
    """FindCoordinator v1 (key type 1) straight to `addr`: (error, node id)."""
    raw = base.RawAt(addr)
    try:
        k = key.encode()
        r = raw.call(10, 1, len(k).to_bytes(2, "big") + k + b"\x01")
        err = int.from_bytes(r[4:6], "big", signed=True)
        mlen = int.from_bytes(r[6:8], "big", signed=True)
        at = 8 + max(mlen, 0)
        return err, int.from_bytes(r[at:at + 4], "big", signed=True)
    finally:
        raw.close()


def stray_batch_error(c, broker, partition):
    """A transactional batch of a producer with no ongoing transaction, Produce v3 straight to `broker`."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=True, producer_id=987654321,
                                  producer_epoch=0, base_sequence=0, batch_size=1 << 30)
    b.append(0, timestamp=int(time.time() * 1000), key=None, value=b"stray", headers=[])
    body = base.harness.kstr(TXN_ID) + base.harness.produce_body(TOPIC, partition, bytes(b.build()), acks=-1)[2:]
    raw = base.RawAt(c.addr(broker))
    try:
        return base.harness.parse_produce_v3(raw.call(0, 3, body))[0]
    finally:
        raw.close()


def new_producer(c):
    p = Producer({"bootstrap.servers": c.bootstrap(), "transactional.id": TXN_ID, "log_level": 0,
                  "transaction.timeout.ms": 20000, "topic.metadata.refresh.interval.ms": 1000,
                  "linger.ms": 1})
    p.init_transactions(30)
    return p


class Run:
    """The producer's transactions and what the client learnt of each one's outcome."""

    def __init__(self, c):
        self.c = c
        self.p = new_producer(c)
        self.outcome = {}  # transaction number -> "committed" | "aborted" | "unknown"
        self.reinits = 0

    def one(self, i, before_end=None):
        commit = i % 3 != 2
        try:
            self.p.begin_transaction()
            for q in range(PARTS):
                self.p.produce(TOPIC, value=b"%05d-%d" % (i, q), partition=q)
            if before_end:
                before_end(self.p)
            self._end(commit)
            self.outcome[i] = "committed" if commit else "aborted"
        except KafkaException as e:
            err = e.args[0]
            print("transaction %d: %s (retriable %s, abortable %s, fatal %s)"
                  % (i, err, err.retriable(), err.txn_requires_abort(), err.fatal()))
            self.outcome[i] = "unknown"
            self._recover(i, err)

    def _end(self, commit):
        t0 = time.time()
        while True:
            try:
                return self.p.commit_transaction(30) if commit else self.p.abort_transaction(30)
            except KafkaException as e:
                if not e.args[0].retriable() or time.time() - t0 > 30:
                    raise
                time.sleep(0.1)

    def _recover(self, i, err):
        if not err.fatal() and err.txn_requires_abort():
            try:
                self._end(False)
                self.outcome[i] = "aborted"  # an abort acknowledged: its records are never readable
                return
            except KafkaException as e:
                print("transaction %d: abort failed: %s" % (i, e.args[0]))
        # Fatal, or the abort failed: a new producer of the same id fences
        # this one and has its coordinator abort whatever it left open.
        self.reinits += 1
        self.p = new_producer(self.c)


def read_committed(c):
    """Every record of TOPIC, read with isolation.level=read_committed to each partition's end."""
    cons = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": "txn-check", "isolation.level": "read_committed",
                     "enable.auto.commit": False, "enable.partition.eof": True, "log_level": 0})
    cons.assign([TopicPartition(TOPIC, q, 0) for q in range(PARTS)])
    seen, eof, t0 = [], set(), time.time()
    while len(eof) < PARTS:
        if time.time() - t0 > 30:
            fail("read_committed: partitions %r not read to their end" % sorted(set(range(PARTS)) - eof))
        m = cons.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            continue
        eof.discard(m.partition())
        seen.append(m.value().decode())
    cons.close()
    return seen


def scenario(c):
    t_start = time.time()
    faults.create_topic(c, TOPIC, PARTS)
    leaders = {q: p.leader for q, p in faults.partitions_of(c, TOPIC).items()}
    print("partition leaders of %s: %r" % (TOPIC, leaders))
    run = Run(c)
    _, coord = wait_for("__transaction_state with %d partitions" % STATE_PARTITIONS,
                        lambda: state_leader(c, faults.BROKERS), 20)
    for i in faults.BROKERS:
        err, node = find_txn_coordinator(c.addr(i), TXN_ID)
        if (err, node) != (0, coord):
            fail("broker %d: FindCoordinator(transaction) answered (error %d, node %d), the partition's leader is %d"
                 % (i, err, node, coord))
    for i in range(BEFORE):
        run.one(i)
    if any(o == "unknown" for o in run.outcome.values()):
        fail("transactions failed before any fault: %r" % run.outcome)
    print("%d transactions before the kill; coordinator: broker %d (partition %d)"
          % (BEFORE, coord, groups.group_partition(TXN_ID, STATE_PARTITIONS)))

    # The kill lands inside a transaction: its records are written (flush)
    # and its partitions added, then the coordinator dies; the producer
    # commits it at the new coordinator, which loaded it Ongoing.
    t_kill = []

    def kill(p):
        if p.flush(10):
            fail("transaction %d: records not delivered before the kill" % BEFORE)
        c.run("kill", str(coord))
        t_kill.append(time.time())

    live = [i for i in faults.BROKERS if i != coord]
    for i in range(BEFORE, BEFORE + AFTER):
        if time.time() - t_start > LIMIT:
            fail("only %d transactions within %d s" % (i, LIMIT))
        run.one(i, kill if i == BEFORE else None)
        if i == BEFORE:
            print("transaction %d (open across the kill): %s, %.1f s after the kill"
                  % (i, run.outcome[i], time.time() - t_kill[0]))
    after_ok = sum(1 for i in range(BEFORE, BEFORE + AFTER) if run.outcome[i] == "committed")
    print("%d transactions after the kill in %.1f s: %d committed, %d re-initialisations"
          % (AFTER, time.time() - t_kill[0], after_ok, run.reinits))
    if after_ok < AFTER // 2:
        fail("only %d of %d transactions after the kill committed: %r" % (after_ok, AFTER, run.outcome))
    _, new_coord = wait_for("a new leader of the id's partition",
                            lambda: (lambda l: l if l in live else None)(state_leader(c, live)), 10)
    for i in live:
        err, node = find_txn_coordinator(c.addr(i), TXN_ID)
        if (err, node) != (0, new_coord):
            fail("broker %d: FindCoordinator(transaction) answered (error %d, node %d) after the kill, leader %d"
                 % (i, err, node, new_coord))
    log = open(os.path.join(c.dir, "b%d.log" % new_coord), errors="replace").read()
    part = groups.group_partition(TXN_ID, STATE_PARTITIONS)
    loaded = re.findall(r"transactions: loaded __transaction_state-%d .*" % part, log)
    if not loaded:
        fail("broker %d did not log loading partition %d of __transaction_state" % (new_coord, part))
    print("broker %d: %s" % (new_coord, loaded[-1]))
    run.p.flush(10)
    # Produce verification across brokers: the leader of a partition asks
    # the id's coordinator (another broker) before it appends a batch that
    # would open a transaction there; one outside any transaction is refused.
    now_leaders = {q: p.leader for q, p in faults.partitions_of(c, TOPIC, live).items()}
    q = next(q for q, b in now_leaders.items() if b != new_coord and b in live)
    err = stray_batch_error(c, now_leaders[q], q)
    if err != 48:
        fail("a transactional batch outside any transaction to %s-%d on broker %d: error %d, not INVALID_TXN_STATE "
             "from coordinator %d" % (TOPIC, q, now_leaders[q], err, new_coord))
    print("a stray transactional batch to %s-%d (broker %d) refused by coordinator %d: INVALID_TXN_STATE"
          % (TOPIC, q, now_leaders[q], new_coord))

    seen = read_committed(c)
    count = {}
    for v in seen:
        count[v] = count.get(v, 0) + 1
    twice = [v for v, n in count.items() if n > 1]
    if twice:
        fail("%d records read twice, e.g. %r" % (len(twice), twice[:3]))
    unknown = 0
    for i, o in sorted(run.outcome.items()):
        present = [q for q in range(PARTS) if "%05d-%d" % (i, q) in count]
        if o == "committed" and len(present) != PARTS:
            fail("committed transaction %d: only partitions %r readable" % (i, present))
        if o == "aborted" and present:
            fail("aborted transaction %d: partitions %r readable" % (i, present))
        if o == "unknown":
            unknown += 1
            if present and len(present) != PARTS:
                fail("transaction %d (outcome unknown to the client) half visible: partitions %r" % (i, present))
    expected = {"%05d-%d" % (i, q) for i, o in run.outcome.items() for q in range(PARTS) if o != "aborted"}
    stray = [v for v in count if v not in expected]
    if stray:
        fail("records of no transaction read: %r" % stray[:3])
    committed = sum(1 for o in run.outcome.values() if o == "committed")
    aborted = sum(1 for o in run.outcome.values() if o == "aborted")
    print("read_committed: %d records; %d transactions committed, %d aborted, %d of unknown outcome (all or none "
          "visible); none read twice (%.1f s in all)" % (len(seen), committed, aborted, unknown, time.time() - t_start))


if __name__ == "__main__":
    faults.run(scenario, "--transaction-state-log-num-partitions %d --min-insync-replicas 2" % STATE_PARTITIONS)
