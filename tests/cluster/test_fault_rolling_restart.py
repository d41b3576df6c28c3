"""A rolling restart of all three brokers (each stopped cleanly, started
again and waited for back in every ISR before the next) under an
idempotent acks=all producer on three partitions (replication factor 3,
min.insync.replicas=2) and a consumer following them:

- zero acknowledged messages lost or duplicated;
- the consumer is handed every acknowledged message (no gap in the
  sequence numbers) and nothing later truncated;
- the replicas hold identical batches below the high watermark
  (faults.check).

Needs root (ip netns) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402

TOPIC, PARTS = "rolling", 3


def scenario(c):
    faults.create_topic(c, TOPIC, PARTS)
    load = faults.Load(c, TOPIC, PARTS).start()
    watcher = faults.Watcher(c, TOPIC, PARTS).start()
    load.wait_acks(300, 20)
    for i in faults.BROKERS:
        t0 = time.time()
        c.run("stop", str(i))
        c.run("start", str(i))
        faults.wait_for("broker %d back in every ISR" % i, lambda: faults.all_in_sync(c, TOPIC, PARTS), 40)
        print("broker %d restarted and back in every ISR in %.1f s" % (i, time.time() - t0))
        load.wait_acks(300, 30)
    load.stop()
    watcher.wait_complete(load)
    watcher.stop()
    faults.check(c, TOPIC, PARTS, load, watcher)


if __name__ == "__main__":
    faults.run(scenario, "--replica-lag-time-max-ms 3000")
