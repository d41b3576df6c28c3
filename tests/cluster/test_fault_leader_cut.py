"""The leader of a partition cut off from etcd and from the other brokers
(firewall rules in its namespace; clients still reach it), under an
idempotent acks=all producer (replication factor 3, min.insync.replicas=2):

- once its etcd session may have expired it refuses produce with
  NOT_LEADER_OR_FOLLOWER, acks=1 as well as acks=all, and no acks=1 write
  it took while cut off survives;
- another replica of the ISR leads and the producer carries on;
- once the rules are removed it truncates to the new leader's log (the
  leader's diverging_epoch answer names where its tail diverged), catches up
  and rejoins the ISR;
- nothing acknowledged is lost or duplicated, no consumer saw a message
  that was later truncated, and the replicas hold identical batches below
  the high watermark (faults.check).

Needs root (ip netns, iptables) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
import harness  # noqa: E402  (on the path through test_cluster_failover)
import test_cluster_failover as base  # noqa: E402

TOPIC, PARTS = "cut-leader", 1
RAW_BASE = 90000000  # values of the raw acks=1 writes to the cut-off leader


def raw_produce(addr, value, acks):
    """One produce of `value` to TOPIC-0 at `addr`: its error code."""
    raw = base.RawAt(addr, timeout=15)
    try:
        batch = harness.build_batch([(None, b"%08d" % value, None, int(time.time() * 1000))])
        err, _ = harness.parse_produce_v3(raw.call(0, 3, harness.produce_body(TOPIC, 0, batch, acks=acks,
                                                                               timeout_ms=3000)))
        return err
    finally:
        raw.close()


def scenario(c):
    faults.create_topic(c, TOPIC, PARTS)
    leader = faults.partitions_of(c, TOPIC)[0].leader
    others = [i for i in faults.BROKERS if i != leader]
    load = faults.Load(c, TOPIC, PARTS).start()
    watcher = faults.Watcher(c, TOPIC, PARTS).start()
    load.wait_acks(300, 20)

    c.run("cut", str(leader), "all")
    t_cut = time.time()
    print("leader %d cut off from etcd and the other brokers" % leader)
    taken, k = 0, 0
    while True:
        err = raw_produce(c.addr(leader), RAW_BASE + k, 1)
        k += 1
        if err == 6:
            break
        if err != 0:
            faults.fail("acks=1 produce to the cut-off leader: error %d" % err)
        taken += 1
        if time.time() - t_cut > 10:
            faults.fail("the cut-off leader still takes acks=1 writes %.1f s after the cut" % (time.time() - t_cut))
        time.sleep(0.2)
    print("the cut-off leader refuses acks=1 produce %.1f s after the cut (%d acks=1 writes taken before)" %
          (time.time() - t_cut, taken))
    err = raw_produce(c.addr(leader), RAW_BASE + k, -1)
    if err != 6:
        faults.fail("acks=all produce to the fenced leader: error %d, expected NOT_LEADER_OR_FOLLOWER (6)" % err)

    took, p = faults.wait_for("a new leader among %s" % others,
                              lambda: (lambda p: p if p.leader in others else None)(
                                  faults.partitions_of(c, TOPIC, others)[0]), 20)
    print("broker %d leads %.1f s after the cut" % (p.leader, time.time() - t_cut))
    load.wait_acks(400, 40, "acknowledgements from the new leader")

    c.run("heal", str(leader))
    took, _ = faults.wait_for("broker %d back in the ISR" % leader,
                              lambda: leader in faults.partitions_of(c, TOPIC, others)[0].isrs, 40)
    print("broker %d back in the ISR %.1f s after the rules were removed" % (leader, took))
    if taken:
        # The writes it took while cut off are a tail the new leader never had:
        # the follower must have cut it (at the diverging_epoch of the
        # leader's Fetch answer, or through OffsetForLeaderEpoch).
        with open(os.path.join(c.dir, "b%d.log" % leader), errors="replace") as fh:
            cuts = [l.strip() for l in fh if "truncated a divergent tail" in l]
        if not cuts:
            faults.fail("broker %d rejoined without truncating its divergent tail of %d writes" % (leader, taken))
        print("broker %d: %s" % (leader, cuts[0][cuts[0].find("replica"):]))
    load.wait_acks(300, 20)
    load.stop()
    watcher.stop()
    where = faults.check(c, TOPIC, PARTS, load, watcher)
    survived = [v for v in where if int(v) >= RAW_BASE]
    if survived:
        faults.fail("acks=1 writes the cut-off leader took survived: %r" % survived[:3])


if __name__ == "__main__":
    faults.run(scenario, "--replica-lag-time-max-ms 3000")
