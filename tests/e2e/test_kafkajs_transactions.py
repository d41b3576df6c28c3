"""kafkajs transactions against the real broker: transaction.send / commit /
abort over a 3-partition topic (every third transaction aborted), sendOffsets
in a committed and in an aborted transaction, then a kafkajs group consumer
(read_committed, kafkajs' default) receives exactly the committed messages in
order per partition, and the group's offset is the committed one."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402
import test_kafkajs as kjs  # noqa: E402

COUNT = 60


def main():
    b = Broker("--group-initial-rebalance-delay-ms", "0").start()
    log_dir = b.data_dir + ".kafkajs"
    os.makedirs(log_dir, exist_ok=True)
    ok = False
    try:
        r = kjs.run_node(log_dir, "txn", "txn.js", b.addr, "kjs-txn", COUNT, timeout=150)
        check(r["ev"] == "txn", "txn.js: %s" % r)
        for p in ("0", "1", "2"):
            check(r["seen"][p] == r["committed"][p], "partition %s: read_committed saw %s, expected %s"
                  % (p, r["seen"][p][:10], r["committed"][p][:10]))
        check(r["offset"] == 10, "the group offset is %s, expected 10 (the aborted sendOffsets must not count)"
              % r["offset"])
        print("kafkajs: %d transactions, %d committed messages read back, group offset %d"
              % (COUNT + 2, sum(len(v) for v in r["committed"].values()), r["offset"]))
        ok = True
    finally:
        kjs.stop_all(b, log_dir, [], ok)
    kjs.remove_logs(b, log_dir)
    print("PASS")


if __name__ == "__main__":
    main()
