"""Restart the broker -- SIGTERM (clean shutdown), and
separately SIGKILL with a syncing flush policy -- and the same consumption
still returns every acknowledged message."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

from kafka import KafkaProducer  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

N = int(os.environ.get("NOCOPY_E2E_RESTART_MESSAGES", "20000"))
PARTS = 3


def kcat_all(addr, topic):
    rows = {}
    for p in range(PARTS):
        out = subprocess.run(["kcat", "-C", "-b", addr, "-t", topic, "-p", str(p), "-o", "beginning", "-e", "-q",
                              "-f", "%o\t%k\t%s\n", "-X", "fetch.wait.max.ms=50"],
                             check=True, capture_output=True, timeout=120).stdout.decode()
        rows[p] = [tuple(line.split("\t")) for line in out.splitlines()]
    return rows


def check_rows(rows, expect_keys, who):
    seen = set()
    for p, rs in rows.items():
        for n, (off, k, v) in enumerate(rs):
            check(int(off) == n, "%s p%d: offset %s at position %d" % (who, p, off, n))
            check(k not in seen, "%s: key %s twice" % (who, k))
            check(v == "value-" + k, "%s: key %s has value %s" % (who, k, v))
            seen.add(k)
    missing = set(expect_keys) - seen
    check(not missing, "%s: %d acknowledged messages missing, e.g. %s" % (who, len(missing), sorted(missing)[:3]))
    return seen


def create(addr, topic):
    a = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=10000)
    a.create_topics([NewTopic(topic, PARTS, 1)])
    a.close()


def sigterm_case():
    b = Broker().start()
    try:
        create(b.addr, "restart-term")
        lines = "".join("k%06d\tvalue-k%06d\n" % (i, i) for i in range(N))
        subprocess.run(["kcat", "-P", "-b", b.addr, "-t", "restart-term", "-K", "\t", "-X", "acks=all"],
                       input=lines.encode(), check=True, timeout=120)
        t0 = time.time()
        rc = b.stop(signal.SIGTERM)
        check(rc == 0, "SIGTERM: exit code %s" % rc)
        print("SIGTERM shutdown took %.2fs" % (time.time() - t0))
        for p in range(PARTS):
            d = os.path.join(b.data_dir, "restart-term-%d" % p)
            check(os.path.exists(os.path.join(d, ".clean_shutdown")), "no clean-shutdown marker in " + d)
        check("shutdown complete" in b.log(), "no shutdown log line")
        b.start()
        keys = ["k%06d" % i for i in range(N)]
        check_rows(kcat_all(b.addr, "restart-term"), keys, "after SIGTERM")
        # The log continues where it stopped.
        subprocess.run(["kcat", "-P", "-b", b.addr, "-t", "restart-term", "-K", "\t", "-p", "0"],
                       input=b"extra\tvalue-extra\n", check=True, timeout=60)
        check_rows(kcat_all(b.addr, "restart-term"), keys + ["extra"], "after SIGTERM + produce")
        print("SIGTERM restart: %d messages intact" % N)
    finally:
        b.stop()


def sigkill_case():
    b = Broker("--flush", "every").start()
    try:
        create(b.addr, "restart-kill")
        p = KafkaProducer(bootstrap_servers=b.addr, acks="all", linger_ms=2, api_version_auto_timeout_ms=10000)
        acked = []
        futs = [(("k%06d" % i), p.send("restart-kill", key=("k%06d" % i).encode(),
                                       value=("value-k%06d" % i).encode(), partition=i % PARTS))
                for i in range(N)]
        p.flush(60)
        for k, f in futs:
            f.get(timeout=10)
            acked.append(k)
        # More in flight while we kill: only acknowledged ones must survive.
        for i in range(N, N + 2000):
            p.send("restart-kill", key=("k%06d" % i).encode(), value=("value-k%06d" % i).encode(),
                   partition=i % PARTS)
        rc = b.stop(signal.SIGKILL)
        check(rc == -signal.SIGKILL, "SIGKILL: exit code %s" % rc)
        p.close(timeout=1)
        b.start()
        seen = check_rows(kcat_all(b.addr, "restart-kill"), acked, "after SIGKILL")
        print("SIGKILL restart: %d acknowledged messages intact (%d stored)" % (len(acked), len(seen)))
    finally:
        b.stop()


if __name__ == "__main__":
    sigterm_case()
    sigkill_case()
    print("OK")
