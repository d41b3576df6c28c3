"""etcd stopped for longer than the brokers' session timeout, under an
idempotent acks=all producer on three partitions (replication factor 3,
min.insync.replicas=2, leaders on different brokers):

- while etcd is down the brokers keep serving the partitions, whose state
  does not change: produce is acknowledged and consumers read;
- when etcd is back the brokers register again and every partition has a
  leader and a full ISR; no broker exited;
- nothing acknowledged is lost or duplicated, no consumer saw a message
  that was later truncated, and the replicas hold identical batches below
  the high watermark (faults.check).

Needs root (ip netns) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402

TOPIC, PARTS = "etcd-outage", 3
OUTAGE = 10  # seconds, over three session timeouts


def brokers_alive(c):
    for i in faults.BROKERS:
        with open(os.path.join(c.dir, "b%d.pid" % i)) as f:
            pid = int(f.read())
        try:
            os.kill(pid, 0)
        except OSError:
            faults.fail("broker %d (pid %d) exited" % (i, pid))


def scenario(c):
    faults.create_topic(c, TOPIC, PARTS)
    load = faults.Load(c, TOPIC, PARTS).start()
    watcher = faults.Watcher(c, TOPIC, PARTS).start()
    load.wait_acks(300, 20)

    c.run("etcd-stop")
    t0 = time.time()
    print("etcd stopped")
    load.wait_acks(1000, OUTAGE - 1, "acknowledgements while etcd is down")
    seen = len(watcher.seen)
    time.sleep(max(0.0, OUTAGE - (time.time() - t0)))
    if len(watcher.seen) <= seen:
        faults.fail("the consumer read nothing while etcd was down")
    brokers_alive(c)
    print("%.1f s without etcd: produce acknowledged and consumers served throughout" % (time.time() - t0))

    c.run("etcd-start")
    t1 = time.time()
    faults.wait_for("three brokers registered and a controller in etcd",
                    lambda: "registered brokers: 3" in (st := c.run("status")) and "controller: none" not in st, 30)
    # Sessions that lapsed during the outage end now: wait past one more
    # session timeout, then every partition must be led with a full ISR.
    time.sleep(4)
    faults.wait_for("every partition led with a full ISR after etcd's return",
                    lambda: faults.all_in_sync(c, TOPIC, PARTS), 40)
    print("etcd back; brokers registered, every partition led with a full ISR %.1f s later" % (time.time() - t1))
    load.wait_acks(500, 30)
    load.stop()
    watcher.stop()
    brokers_alive(c)
    faults.check(c, TOPIC, PARTS, load, watcher)


if __name__ == "__main__":
    faults.run(scenario, "--replica-lag-time-max-ms 3000")
