#!/usr/bin/env python3
"""Cluster mode, measured on a real cluster: etcd plus three `nocopy broker`
processes, each in its own network namespace (scripts/cluster.sh, through
the fault tests' harness tests/cluster/faults.py), brokers with their default
settings unless --broker-args says otherwise.

  produce   1 KiB acks=all produce (`nocopy perf produce`, librdkafka) to a
            topic of replication factor 3 and to one of replication factor 1,
            alternated --rounds times (the order swaps every round); per round
            msgs/s, MB/s and the load average; medians and rf3/rf1.
            Both topics have 3 partitions with the same leaders (broker 1, 2,
            3), so the only difference is the two followers per partition.
  failover  --kills times: SIGKILL of the leader of a one-partition topic
            (replication factor 3, min.insync.replicas 2) while an acks=all
            producer (confluent-kafka, librdkafka defaults otherwise; not
            idempotent unless --idempotent) sends one 1 KiB message every
            --interval-ms; the time from the SIGKILL to the first
            acknowledgement after it (necessarily the new leader's: the
            producer pauses until nothing is in flight just before the
            kill). A new producer per kill, so that no reconnect backoff
            left from an earlier kill is measured. The killed broker is
            started again and waited for back in the ISR before the next
            kill. Per kill, from the brokers' logs: when the controller
            moved the leadership (lease expiry + election).
            min / median / p90 / max.

Usage (root: network namespaces; build first):
  NOCOPY_BIN=build/nocopy /usr/bin/python3 benchmarks/cluster/cluster_bench.py produce \
      [--rounds 5] [--messages 300000] [--out produce.json]
  NOCOPY_BIN=build/nocopy /usr/bin/python3 benchmarks/cluster/cluster_bench.py failover \
      [--kills 10] [--out failover.json]
  --broker-args '...': extra `nocopy broker` flags for every broker (e.g.
  --session-timeout-ms 2000); default none.
Prints one JSON object (and writes it to --out).
"""
import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))
import faults  # noqa: E402  (wait_for, partitions_of, subprocess_down)
import test_cluster_failover as base  # noqa: E402  (Cluster)

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NOCOPY = os.environ.get("NOCOPY_BIN", os.path.join(ROOT, "build", "nocopy"))


def log(*a):
    print("[%s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def loadavg():
    return round(os.getloadavg()[0], 2)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def start_cluster(broker_args):
    """scripts/cluster.sh up with `broker_args` as the brokers' only extra
    flags (the tests' harness adds shorter sessions and one thread)."""
    if not os.access(os.environ.get("NOCOPY_ETCD", "/usr/bin/etcd"), os.X_OK):
        raise SystemExit("etcd is not installed (scripts/setup.sh installs etcd-server)")
    c = base.Cluster()
    c.env["NOCOPY_BROKER_ARGS"] = broker_args
    c.run("up")
    return c


def finish(c):
    """Stops the cluster; its directory (data and logs) is removed after a
    successful run and kept, with the logs dumped, after a failed one."""
    faults.subprocess_down(c)
    shutil.rmtree(c.dir, ignore_errors=True)


def create(c, topic, assignment, configs=None):
    admin = AdminClient({"bootstrap.servers": c.bootstrap(), "log_level": 0})
    fs = admin.create_topics([NewTopic(topic, len(assignment), replica_assignment=assignment, config=configs or {})],
                             operation_timeout=10)
    fs[topic].result(15)
    rf = len(assignment[0])

    def ready():
        parts = faults.partitions_of(c, topic)
        return len(parts) == len(assignment) and all(
            p.leader == assignment[i][0] and len(p.isrs) == rf for i, p in parts.items())
    faults.wait_for("%s led with a full ISR" % topic, ready, 30)


def median(xs):
    return statistics.median(xs) if xs else None


def quantile(xs, q):
    """Nearest-rank quantile."""
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 1)) - 1))]


# --------------------------------------------------------------------------
# produce: replication factor 3 vs 1


def perf_produce(c, topic, n, size):
    cmd = [NOCOPY, "perf", "produce", "-b", c.bootstrap(), "-t", topic, "-n", str(n), "-s", str(size),
           "-a", "all", "--json", "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise SystemExit("nocopy perf produce to %s failed (%d): %s" % (topic, r.returncode, r.stderr[-600:]))
    j = json.loads(r.stdout)
    return {"msgs_per_s": j["msgs_per_s"], "mb_per_s": j["mb_per_s"], "acked": j["acked"],
            "p50_us": (j.get("ack_latency") or {}).get("p50_us"),
            "p99_us": (j.get("ack_latency") or {}).get("p99_us")}


def run_produce(a):
    c = start_cluster(a.broker_args)
    try:
        create(c, "rf1", [[1], [2], [3]])
        create(c, "rf3", [[1, 2, 3], [2, 3, 1], [3, 1, 2]])
        rounds = []
        for r in range(a.rounds):
            order = ["rf3", "rf1"] if r % 2 == 0 else ["rf1", "rf3"]
            for topic in order:
                before = loadavg()
                res = perf_produce(c, topic, a.messages, a.size)
                res.update({"round": r, "topic": topic, "load_before": before, "load_after": loadavg()})
                rounds.append(res)
                log("round %d %s: %.0f msgs/s, %.1f MB/s (load %.2f -> %.2f)" %
                    (r, topic, res["msgs_per_s"], res["mb_per_s"], before, res["load_after"]))
        rf1 = [x["msgs_per_s"] for x in rounds if x["topic"] == "rf1"]
        rf3 = [x["msgs_per_s"] for x in rounds if x["topic"] == "rf3"]
        ratios = [b / a_ for a_, b in zip(rf1, rf3)]
        out = {"benchmark": "produce_rf3_vs_rf1", "date": utc_now(), "message_bytes": a.size,
               "messages_per_round": a.messages, "rounds": a.rounds, "broker_args": a.broker_args,
               "rf1_median_msgs_s": round(median(rf1)), "rf3_median_msgs_s": round(median(rf3)),
               "rf1_median_mb_s": round(median([x["mb_per_s"] for x in rounds if x["topic"] == "rf1"]), 1),
               "rf3_median_mb_s": round(median([x["mb_per_s"] for x in rounds if x["topic"] == "rf3"]), 1),
               "rf3_over_rf1": round(median(rf3) / median(rf1), 3),
               "per_round_rf3_over_rf1": [round(x, 3) for x in ratios],
               "load_average": [min(x["load_before"] for x in rounds), max(x["load_after"] for x in rounds)],
               "all_rounds": rounds}
    except BaseException:
        c.dump_logs()
        faults.subprocess_down(c)
        raise
    finish(c)
    return out


# --------------------------------------------------------------------------
# failover: SIGKILL of the leader to the first acknowledgement after it


class Sender:
    """An acks=all producer on a thread sending one numbered value
    every `interval` seconds to partition 0; pause() waits until nothing is
    in flight. Every acknowledgement is recorded with the time it arrived
    (produce time + librdkafka's measured latency)."""

    def __init__(self, c, topic, size, interval, idempotent):
        self.topic, self.interval = topic, interval
        self.pad = b"x" * (size - 8)
        self.lock = threading.Lock()
        self.sent = {}      # value -> monotonic time of produce()
        self.acks = []      # (ack time, value, offset)
        self.errors = []
        self.outstanding = 0
        self.paused = threading.Event()
        self.stop_flag = threading.Event()
        conf = {"bootstrap.servers": c.bootstrap(), "acks": "all", "enable.idempotence": idempotent,
                "linger.ms": 0, "log_level": 3}
        if os.environ.get("NOCOPY_BENCH_DEBUG"):  # librdkafka debug contexts, e.g. "broker,topic,metadata"
            conf.update({"debug": os.environ["NOCOPY_BENCH_DEBUG"], "log_level": 7})
        self.p = Producer(conf)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _cb(self, err, msg):
        now = time.monotonic()
        with self.lock:
            self.outstanding -= 1
            v = msg.value()[:8]
            if err is not None:
                self.errors.append((now, str(err)))
                return
            lat = msg.latency()
            at = self.sent[v] + lat if lat is not None else now
            self.acks.append((min(at, now), v, msg.offset()))

    def _run(self):
        i, nxt = 0, time.monotonic()
        while not self.stop_flag.is_set():
            now = time.monotonic()
            if not self.paused.is_set() and now >= nxt:
                v = b"%08d" % i
                with self.lock:
                    self.sent[v] = time.monotonic()
                    self.outstanding += 1
                self.p.produce(self.topic, value=v + self.pad, partition=0, on_delivery=self._cb)
                i += 1
                nxt = now + self.interval
            self.p.poll(0.001)

    def pause(self, limit=30):
        self.paused.set()
        faults.wait_for("nothing in flight", lambda: self.outstanding == 0, limit)

    def resume(self):
        self.paused.clear()

    def first_ack_after(self, t):
        with self.lock:
            later = [x for x in self.acks if x[0] > t]
        return min(later) if later else None

    def stop(self):
        self.stop_flag.set()
        self.t.join(10)
        self.p.flush(30)


LOG_TS = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\]")


def log_events(path, pattern, since_wall):
    """Wall-clock times (s since the epoch) of the lines of `path` matching
    `pattern` logged at or after since_wall (spdlog's local-time stamps)."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = LOG_TS.match(line)
                if not m or not re.search(pattern, line):
                    continue
                t = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%d %H:%M:%S")) + float("0." + m.group(1)[20:])
                if t >= since_wall - 0.001:
                    out.append((t, line.strip()))
    except OSError:
        pass
    return out


def run_failover(a):
    c = start_cluster(a.broker_args)
    try:
        topic = "failover"
        create(c, topic, [[1, 2, 3]], {"min.insync.replicas": "2"})
        kills, errors = [], []
        for k in range(a.kills):
            # A new producer per kill: librdkafka keeps the reconnect backoff
            # (up to reconnect.backoff.max.ms, 10 s) it built up against a
            # broker while that broker was down, and a kill soon after its
            # restart would measure that instead of the failover.
            s = Sender(c, topic, a.size, a.interval_ms / 1000.0, a.idempotent)
            faults.wait_for("acknowledgements", lambda: len(s.acks) >= 20, 30)
            parts = faults.partitions_of(c, topic)
            leader = parts[0].leader
            s.pause()
            load = loadavg()
            wall0, t0 = time.time(), time.monotonic()
            c.run("kill", str(leader))
            s.resume()
            faults.wait_for("an acknowledgement after killing broker %d" % leader,
                            lambda: s.first_ack_after(t0) is not None, a.limit)
            ack_t, value, offset = s.first_ack_after(t0)
            survivors = [i for i in faults.BROKERS if i != leader]

            def new_leader_of():
                p0 = faults.partitions_of(c, topic, survivors)[0]
                return p0.leader if p0.leader in survivors else None
            new_leader = faults.wait_for("a new leader", new_leader_of, 30)[1]
            # The controller's log line for the leader change.
            moved = []
            for i in faults.BROKERS:
                if i != leader:
                    moved += log_events(os.path.join(c.dir, "b%d.log" % i),
                                        r"%s-0 leader %d -> " % (topic, leader), wall0)
            rec = {"kill": k, "killed": leader, "new_leader": new_leader, "load": load,
                   "kill_to_ack_s": round(ack_t - t0, 3), "first_ack_offset": offset,
                   "kill_to_leader_moved_s": round(min(moved)[0] - wall0, 3) if moved else None,
                   "delivery_errors": len(s.errors)}
            kills.append(rec)
            s.stop()
            errors += s.errors
            log("kill %d: broker %d -> %d, first ack %.3f s after SIGKILL (controller moved the leader at %s s), "
                "load %.2f" % (k, leader, new_leader, rec["kill_to_ack_s"], rec["kill_to_leader_moved_s"], load))
            c.run("start", str(leader))
            t_back = time.monotonic()
            faults.wait_for("broker %d back in the ISR" % leader,
                            lambda: sorted(faults.partitions_of(c, topic)[0].isrs) == [1, 2, 3], 60)
            rec["rejoin_isr_s"] = round(time.monotonic() - t_back, 2)
            time.sleep(a.settle_s)
        xs = [k["kill_to_ack_s"] for k in kills]
        moved = [k["kill_to_leader_moved_s"] for k in kills if k["kill_to_leader_moved_s"] is not None]
        out = {"benchmark": "failover", "date": utc_now(), "kills": a.kills, "broker_args": a.broker_args,
               "message_bytes": a.size, "interval_ms": a.interval_ms, "idempotent": a.idempotent,
               "kill_to_first_ack_s": {"min": min(xs), "median": round(median(xs), 3), "p90": quantile(xs, 0.9),
                                       "max": max(xs)},
               "kill_to_leader_moved_s": {"min": min(moved), "median": round(median(moved), 3),
                                          "p90": quantile(moved, 0.9), "max": max(moved)} if moved else None,
               "load_average": [min(k["load"] for k in kills), max(k["load"] for k in kills)],
               "delivery_errors": errors[:5], "all_kills": kills}
    except BaseException:
        c.dump_logs()
        faults.subprocess_down(c)
        raise
    finish(c)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--messages", type=int, default=300000)
    f = sub.add_parser("failover")
    f.add_argument("--kills", type=int, default=10)
    f.add_argument("--interval-ms", type=float, default=10)
    f.add_argument("--limit", type=float, default=60, help="seconds to wait for the first acknowledgement")
    f.add_argument("--idempotent", action="store_true",
                   help="idempotent producers (each new one gets a producer id from whichever broker it asks)")
    f.add_argument("--settle-s", type=float, default=2, help="seconds between a rejoin and the next kill")
    for x in (p, f):
        x.add_argument("--size", type=int, default=1024)
        x.add_argument("--broker-args", default="")
        x.add_argument("--out")
    a = ap.parse_args()
    if a.size < 16:
        ap.error("--size must be at least 16")
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces)")
    out = run_produce(a) if a.what == "produce" else run_failover(a)
    text = json.dumps(out, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
