"""A follower cut off from the other brokers by a firewall rule in its
network namespace (it still reaches etcd), under an idempotent acks=all
producer (replication factor 3, min.insync.replicas=2):

- it leaves the ISR after replica.lag.time.max.ms and produce carries on;
- once the rule is removed it catches up (truncating first if it must) and
  rejoins the ISR;
- nothing acknowledged is lost or duplicated, a consumer saw nothing that
  was later truncated, and the three replicas hold identical batches below
  the high watermark (faults.check).

Needs root (ip netns, iptables) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402

TOPIC, PARTS = "cut-follower", 1


def scenario(c):
    faults.create_topic(c, TOPIC, PARTS)
    leader = faults.partitions_of(c, TOPIC)[0].leader
    follower = next(i for i in faults.BROKERS if i != leader)
    load = faults.Load(c, TOPIC, PARTS).start()
    watcher = faults.Watcher(c, TOPIC, PARTS).start()
    load.wait_acks(300, 20)

    c.run("cut", str(follower), "peers")
    print("broker %d (a follower of leader %d) cut off from the other brokers" % (follower, leader))
    took, _ = faults.wait_for("broker %d out of the ISR" % follower,
                              lambda: follower not in faults.partitions_of(c, TOPIC)[0].isrs, 20)
    print("broker %d left the ISR %.1f s after the cut" % (follower, took))
    load.wait_acks(400, 20, "acknowledgements with the follower out of the ISR")

    c.run("heal", str(follower))
    took, _ = faults.wait_for("broker %d back in the ISR" % follower,
                              lambda: follower in faults.partitions_of(c, TOPIC)[0].isrs, 30)
    print("broker %d back in the ISR %.1f s after the rule was removed" % (follower, took))
    load.wait_acks(300, 20)
    load.stop()
    watcher.stop()
    faults.check(c, TOPIC, PARTS, load, watcher)


if __name__ == "__main__":
    faults.run(scenario, "--replica-lag-time-max-ms 3000")
