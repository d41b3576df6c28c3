"""A seeded random fault schedule over a bounded time (FAULT_SECONDS) under
an idempotent acks=all producer on three partitions (replication factor 3,
min.insync.replicas=2) and a consumer following them. One fault at a time,
each undone before the next: SIGKILL of a broker and its restart, a clean
restart, a broker cut off from the other brokers or from them and etcd
(iptables in its namespace) and healed, etcd stopped and started.

Afterwards the checker (faults.check) reads every partition back and
compares it with every acknowledgement: no acknowledged write lost, none
duplicated or moved from its acknowledged offset, values in produce order;
the consumer was handed every acknowledged message and nothing later
truncated; the replicas' segment files hold identical batches below the
high watermark.

NOCOPY_FAULT_SEED fixes the schedule (printed either way). Needs root (ip
netns, iptables) and /usr/bin/etcd. NOCOPY_BIN names the broker.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402

TOPIC, PARTS = "random-faults", 3
FAULT_SECONDS = 60


def schedule(rng):
    """[(kind, broker, seconds the fault lasts, pause after it)] covering FAULT_SECONDS."""
    out, total = [], 0.0
    while total < FAULT_SECONDS:
        kind = rng.choice(["kill", "restart", "cut-peers", "cut-all", "etcd"])
        broker = rng.choice(faults.BROKERS)
        lasts = round(rng.uniform(2, 8), 1)
        pause = round(rng.uniform(1, 4), 1)
        out.append((kind, broker, lasts, pause))
        total += lasts + pause
    return out


def inject(c, kind, broker):
    if kind == "kill":
        c.run("kill", str(broker))
    elif kind == "restart":
        c.run("stop", str(broker))
    elif kind == "cut-peers":
        c.run("cut", str(broker), "peers")
    elif kind == "cut-all":
        c.run("cut", str(broker), "all")
    else:
        c.run("etcd-stop")


def undo(c, kind, broker):
    if kind in ("kill", "restart"):
        c.run("start", str(broker))
    elif kind.startswith("cut"):
        c.run("heal", str(broker))
    else:
        c.run("etcd-start")


def scenario(c):
    seed = int(os.environ.get("NOCOPY_FAULT_SEED", random.randrange(1 << 30)))
    print("fault schedule seed %d (NOCOPY_FAULT_SEED=%d reproduces it)" % (seed, seed))
    plan = schedule(random.Random(seed))
    faults.create_topic(c, TOPIC, PARTS)
    load = faults.Load(c, TOPIC, PARTS).start()
    watcher = faults.Watcher(c, TOPIC, PARTS).start()
    load.wait_acks(300, 20)
    t0 = time.time()
    for kind, broker, lasts, pause in plan:
        before = load.acked_count()
        inject(c, kind, broker)
        time.sleep(lasts)
        undo(c, kind, broker)
        time.sleep(pause)
        print("%5.1f s: %-9s broker %d for %.1f s, then %.1f s; %d acknowledged meanwhile" %
              (time.time() - t0, kind, broker, lasts, pause, load.acked_count() - before))
    took, _ = faults.wait_for("every partition led with a full ISR after the faults",
                              lambda: faults.all_in_sync(c, TOPIC, PARTS), 60)
    print("every partition led with a full ISR %.1f s after the last fault" % took)
    load.wait_acks(300, 40)
    load.stop()
    watcher.wait_complete(load)
    watcher.stop()
    faults.check(c, TOPIC, PARTS, load, watcher)


if __name__ == "__main__":
    faults.run(scenario, "--replica-lag-time-max-ms 3000")
