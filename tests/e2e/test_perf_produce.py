"""`nocopy perf produce` against the real broker with auto-create on (the
default): --partitions creates the topic with that many partitions (a
producer's metadata request must not auto-create it with the broker's default
first), every message is acknowledged, and a rate-limited run keeps its rate
and reports one latency sample per message; a following `perf consume` counts
every message exactly once across all partitions."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check, nocopy_bin  # noqa: E402


def perf(*args, timeout=120):
    out = subprocess.run([nocopy_bin(), "perf"] + list(args) + ["--json", "-q"], capture_output=True, timeout=timeout)
    check(out.returncode == 0, "perf %s failed (%d): %s" % (args[0], out.returncode, out.stderr.decode()[-2000:]))
    return json.loads(out.stdout)


def partitions_of(addr, topic):
    out = subprocess.run(["kcat", "-b", addr, "-L", "-t", topic, "-J"], capture_output=True, timeout=30, check=True)
    md = json.loads(out.stdout)
    return [len(t["partitions"]) for t in md["topics"] if t["topic"] == topic]


def main():
    with Broker("--default-partitions", "1") as b:
        r = perf("produce", "-b", b.addr, "-t", "p4", "-p", "4", "-n", "20000", "-s", "100")
        check(r["acked"] == 20000 and r["failed"] == 0, "produce: %r" % r)
        check(partitions_of(b.addr, "p4") == [4], "topic p4 partitions: %r" % partitions_of(b.addr, "p4"))

        r = perf("produce", "-b", b.addr, "-t", "p4", "-d", "2", "-r", "2000", "-s", "100", "--linger-ms", "0")
        check(r["failed"] == 0, "rate-limited produce failed: %r" % r)
        check(3000 <= r["acked"] <= 4400, "rate 2000/s for 2 s acked %d" % r["acked"])
        lat = r["ack_latency"]
        check(lat["count"] == r["acked"], "one latency sample per message: %r" % lat)

        c = perf("consume", "-b", b.addr, "-t", "p4", "-n", str(20000 + r["acked"]), "--idle-timeout", "5000")
        check(c["messages"] == 20000 + r["acked"], "consumed %r" % c)
        check(c["missing"] == 0 and c["duplicates"] == 0, "missing/duplicates: %r" % c)
    print("OK")


if __name__ == "__main__":
    main()
