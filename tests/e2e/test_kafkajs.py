"""Produce, consume and consumer groups with kafkajs 2.2.4 (node; installed
into tests/e2e/kafkajs by scripts/setup.sh). kafkajs has no manual
assignment: it consumes only through consumer groups, so this covers both
from one client.

  A. kafkajs admin creates a 3-partition topic (CreateTopics, Metadata).
     10,000 keyed messages with headers and timestamps are produced with
     acks=-1; two consumers join one group; once the group has split the
     partitions between them, 10,000 more (uncompressed), 2,000 gzip and
     1,000 from an idempotent producer (InitProducerId) are produced while
     they consume. Each consumer commits after every batch. Every message
     arrives exactly once, keys/values/headers/timestamps intact, in offset
     and produce order per partition; both members received some; committed
     offsets equal the log end offsets (kafkajs admin: OffsetFetch,
     ListOffsets, DescribeGroups "Stable" with 2 members, ListGroups).
  B. One member leaves (LeaveGroup): the other takes over its partitions and
     receives exactly the next 2,000, from the committed offsets.
  C. A third member joins, then is SIGKILLed: once its session times out
     (6 s) the survivor gets its partitions back and receives exactly the
     next 2,000.
  D. Everyone leaves (group "Empty"); a new member receives exactly the next
     2,000, starting at the committed offsets.
  E. kafkajs admin: offsets by timestamp match the stored messages; setOffsets
     rewinds the group to where D began and a new member, fetching with 1 KiB
     limits (smaller than any batch), receives D's 2,000 again; DeleteTopics
     removes the topic.

The JS side prints JSON lines on stdout; kafkajs' own log goes to stderr
(kafkajs-*.log in <data dir>.kafkajs/; KAFKAJS_LOG=debug for protocol
detail). Data and logs are removed when the test passes (unless NOCOPY_E2E_KEEP=1),
kept when it fails."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

KJS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafkajs")
TOPIC = "kjs"
GROUP = "kjs-group"
# Message timestamps: an hour ago, so time-based retention (7 days by
# default; Kafka deletes segments whose newest timestamp is older) keeps
# them. Passed to the node scripts, which derive the same timestamps.
T0 = int(os.environ.setdefault("NOCOPY_E2E_T0", str(int(time.time() * 1000) - 3600 * 1000)))
ABC = "abcdefghijklmnopqrstuvwxyz"
STORED = {}  # (partition, offset) -> message index, from every checked delivery


# ------------------------------------------------ expected message contents
# The same functions as kafkajs/common.js.

def key(i):
    return "k%07d" % i


def value(i):
    return ("v%07d-" % i) + (ABC * (1 + i % 7))[:20 + i % 150]


def headers(i):
    return {"idx": str(i).encode().hex(),
            "bin": bytes([0, 255, i & 0xFF, (i >> 8) & 0xFF]).hex(),
            "multi": [("first-%d" % i).encode().hex(), ("second-%d" % i).encode().hex()]}


def index_of(k):
    return int(k[1:])


# ------------------------------------------------------------ node helpers

class Node:
    """One node process running a kafkajs script; stdout JSON lines are
    collected by a reader thread, stderr goes to a file."""

    def __init__(self, log_dir, name, script, *args):
        self.name = name
        self.err_path = os.path.join(log_dir, "kafkajs-%s.log" % name)
        self.errf = open(self.err_path, "ab")
        self.proc = subprocess.Popen(["node", script] + [str(a) for a in args], cwd=KJS,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errf)
        self.events = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                ev = {"ev": "garbage", "line": raw.decode(errors="replace")}
            with self.cond:
                self.events.append(ev)
                self.cond.notify_all()
        with self.cond:
            self.events.append({"ev": "eof"})
            self.cond.notify_all()

    def wait_for(self, pred, timeout, what):
        """Blocks until pred(events) is true; raises with the node log on timeout or exit."""
        deadline = time.time() + timeout
        with self.cond:
            while not pred(self.events):
                left = deadline - time.time()
                if left <= 0 or (self.events and self.events[-1]["ev"] == "eof"):
                    raise AssertionError("%s: %s not seen (%s)\n%s" % (
                        self.name, what, "exited" if left > 0 else "timeout", self.tail()))
                self.cond.wait(min(left, 0.5))
            return list(self.events)

    def of(self, kind):
        with self.cond:
            return [e for e in self.events if e["ev"] == kind]

    def stop(self, timeout=30):
        """Asks a consumer to leave the group and exit; returns its exit code."""
        try:
            self.proc.stdin.write(b"stop\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s did not stop within %ss\n%s" % (self.name, timeout, self.tail()))
        self.reader.join(5)
        self.errf.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode(errors="replace")[-6000:]
        except OSError:
            return ""


def run_node(log_dir, name, script, *args, timeout=60):
    """Runs a one-shot script to completion; returns its last JSON line."""
    n = Node(log_dir, name, script, *args)
    n.proc.stdin.close()
    try:
        rc = n.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        n.kill()
        raise AssertionError("%s %s timed out after %ss\n%s" % (script, args, timeout, n.tail()))
    n.reader.join(5)
    n.errf.close()
    check(rc == 0, "%s %s exited with %d: %s\n%s" % (script, args, rc, n.events, n.tail()))
    return n.events[-2]  # [-1] is eof


def produce(b, log_dir, first, count, codec, per_send, mode=""):
    r = run_node(log_dir, "produce-%d" % first, "produce.js", b.addr, TOPIC, first, count, codec, per_send, mode)
    check(r["ev"] == "produced" and r["count"] == count, "produce %d..%d: %s" % (first, first + count, r))
    return r


def inspect(b, log_dir):
    r = run_node(log_dir, "inspect", "admin.js", b.addr, "inspect", TOPIC, GROUP)
    check(r["ev"] == "inspect", "inspect: %s" % r)
    return r


def received(node):
    """-> [(partition, offset, key, value, timestamp, headers)] in arrival order."""
    out = []
    for e in node.of("batch"):
        for off, k, v, ts, h in e["msgs"]:
            out.append((e["p"], off, k, v, ts, h))
    return out


def check_messages(got, want_indices):
    """Exactly once, contents intact, in offset and produce order per partition."""
    seen = {}
    for p, off, k, v, ts, h in got:
        check(k is not None and k.startswith("k"), "bad key %r at %d/%d" % (k, p, off))
        i = index_of(k)
        check(k not in seen, "%s delivered twice: %d/%d and %d/%d" % (k, seen.get(k, (0, 0))[0],
                                                                        seen.get(k, (0, 0))[1], p, off))
        seen[k] = (p, off)
        check(v == value(i), "%s: value %r" % (k, v))
        check(ts == str(T0 + i), "%s: timestamp %s, want %d" % (k, ts, T0 + i))
        check(h == headers(i), "%s: headers %s, want %s" % (k, h, headers(i)))
    want = {key(i) for i in want_indices}
    missing = want - set(seen)
    extra = set(seen) - want
    check(not missing, "%d messages missing, e.g. %s" % (len(missing), sorted(missing)[:5]))
    check(not extra, "%d unexpected messages, e.g. %s" % (len(extra), sorted(extra)[:5]))
    by_part = {}
    for k, (p, off) in seen.items():
        by_part.setdefault(p, []).append((off, index_of(k)))
    for p, lst in by_part.items():
        lst.sort()
        idx = [i for _, i in lst]
        check(idx == sorted(idx), "partition %d: keys out of produce order" % p)
    return by_part


def last_assignment(node):
    joins = node.of("join")
    return set(joins[-1]["assign"].get(TOPIC, [])) if joins else None


def wait_split(a, b, timeout=30):
    """Waits for a generation in which members a and b split {0,1,2}."""
    deadline = time.time() + timeout
    while True:
        sa, sb = last_assignment(a), last_assignment(b)
        if sa and sb and not (sa & sb) and sa | sb == {0, 1, 2}:
            return sa, sb
        check(time.time() < deadline, "group never split the partitions: %s %s, %s %s\n%s\n%s" %
              (a.name, sa, b.name, sb, a.tail(), b.tail()))
        check(a.proc.poll() is None and b.proc.poll() is None, "a consumer exited:\n%s\n%s" %
              (a.tail(), b.tail()))
        with a.cond:
            a.cond.wait(0.1)


def log_end(b, log_dir):
    return {o["p"]: int(o["high"]) for o in inspect(b, log_dir)["offsets"]}


def expect(b, log_dir, nodes, marks, indices, starts, timeout, what):
    """Waits until `nodes` received len(indices) messages beyond `marks` (per
    node counts taken before) and committed up to the log end; checks those
    are exactly `indices`, and that each partition's offsets run from
    starts[p] to the log end. Records where each message is stored in STORED.
    -> (log end offsets, {node name: new messages})."""
    want = len(indices)
    deadline = time.time() + timeout
    while sum(len(received(n)) - marks.get(n.name, 0) for n in nodes) < want:
        check(time.time() < deadline, "%s: received %d of %d within %ss\n%s" % (
            what, sum(len(received(n)) - marks.get(n.name, 0) for n in nodes), want, timeout,
            "\n".join(n.name + ":\n" + n.tail() for n in nodes)))
        for n in nodes:
            crashed = [e for e in n.of("crash") + n.of("error") if not e.get("restart", False)]
            check(not crashed and n.proc.poll() is None,
                  "%s: %s failed: %s\n%s" % (what, n.name, crashed or "exited %s" % n.proc.poll(), n.tail()))
        with nodes[0].cond:
            nodes[0].cond.wait(0.2)
    ends = log_end(b, log_dir)

    def committed_to_end(_):
        last = {}
        for n in nodes:
            for e in n.of("committed"):
                last[e["p"]] = max(last.get(e["p"], 0), e["offset"])
        return all(last.get(p, -1) == ends[p] for p in ends if ends[p] > starts.get(p, 0))
    nodes[0].wait_for(committed_to_end, 30, "%s: commits up to the log end %s" % (what, ends))
    new = {n.name: received(n)[marks.get(n.name, 0):] for n in nodes}
    by_part = check_messages([m for lst in new.values() for m in lst], indices)
    for p, lst in by_part.items():
        offs = [o for o, _ in lst]
        check(offs == list(range(starts.get(p, 0), ends[p])), "%s: partition %d offsets %d..%d, want %d..%d" % (
            what, p, offs[0], offs[-1], starts.get(p, 0), ends[p] - 1))
    for p, lst in by_part.items():
        for off, i in lst:
            STORED[(p, off)] = i
    return ends, new


def marks_of(*nodes):
    return {n.name: len(received(n)) for n in nodes}


START = time.time()


def say(msg):
    print("[%5.1f s] %s" % (time.time() - START, msg), flush=True)


def stop_all(b, log_dir, consumers, ok):
    """The tests' `finally`: kills the consumers still running, stops the
    broker (which must exit 0) and, when the test failed, prints the tail of
    the broker log and where the logs were kept."""
    for c in consumers:
        c.kill()
    try:
        rc = b.stop()
        check(rc == 0, "broker exited with %s" % rc)
    finally:
        if not ok:
            sys.stderr.write("---- broker log ----\n" + b.log()[-20000:] + "\n")
            sys.stderr.write("logs kept: %s, %s\n" % (b.log_path, log_dir))


def remove_logs(b, log_dir):
    """After a pass: removes the broker's data and log and the node logs,
    unless NOCOPY_E2E_KEEP is set (to read them)."""
    if os.environ.get("NOCOPY_E2E_KEEP"):
        print("kept: %s %s %s" % (b.data_dir, os.path.normpath(b.log_path), log_dir))
        return
    os.unlink(os.path.normpath(b.log_path))
    for path in (b.data_dir, log_dir):
        shutil.rmtree(path, ignore_errors=True)


def main():
    if not shutil.which("node") or not os.path.isdir(os.path.join(KJS, "node_modules", "kafkajs")):
        sys.exit("kafkajs is not installed: run scripts/setup.sh (node + npm ci in tests/e2e/kafkajs)")
    started = time.time()
    b = Broker("--group-initial-rebalance-delay-ms", "0").start()
    log_dir = b.data_dir + ".kafkajs"  # the node processes' stderr
    os.makedirs(log_dir, exist_ok=True)
    consumers = []
    ok = False
    try:
        r = run_node(log_dir, "create", "admin.js", b.addr, "create", TOPIC, 3)
        check(r["ev"] == "created" and r["partitions"] == [0, 1, 2], "create: %s" % r)

        # A: two members split the topic; half of it exists before they join,
        # the rest (three ways of producing) arrives while they consume.
        produce(b, log_dir, 0, 10000, "none", 500)
        c1 = Node(log_dir, "c1", "consume.js", b.addr, TOPIC, GROUP, "c1")
        c2 = Node(log_dir, "c2", "consume.js", b.addr, TOPIC, GROUP, "c2")
        consumers = [c1, c2]
        a1, a2 = wait_split(c1, c2)
        say("group split: c1 %s, c2 %s" % (sorted(a1), sorted(a2)))
        produce(b, log_dir, 10000, 10000, "none", 500)
        produce(b, log_dir, 20000, 2000, "gzip", 1000)
        produce(b, log_dir, 22000, 1000, "none", 250, "idempotent")
        n = 23000
        ends, new = expect(b, log_dir, [c1, c2], {}, range(n), {}, 60, "two members")
        check(sum(ends.values()) == n, "log end offsets %s do not add up to %d" % (ends, n))
        check(new["c1"] and new["c2"], "one member received nothing: c1 %d, c2 %d" %
              (len(new["c1"]), len(new["c2"])))
        stale = [e for c in consumers for e in c.of("batch") if e["stale"]]
        say("two members: c1 %d msgs from partitions %s, c2 %d from %s (%d stale batches)" %
              (len(new["c1"]), sorted({m[0] for m in new["c1"]}), len(new["c2"]),
               sorted({m[0] for m in new["c2"]}), len(stale)))
        info = inspect(b, log_dir)
        committed = {c["p"]: int(c["offset"]) for c in info["committed"]}
        check(committed == ends, "committed %s != log end %s" % (committed, ends))
        check(GROUP in info["groups"], "ListGroups %s lacks %s" % (info["groups"], GROUP))
        check(info["group"] and info["group"][0]["state"] == "Stable" and info["group"][0]["members"] == 2,
              "DescribeGroups with two members: %s" % info["group"])
        say("committed = log end %s; DescribeGroups %s" % (committed, info["group"][0]))

        # B: c2 leaves (LeaveGroup); c1 takes over its partitions from the
        # committed offsets.
        check(c2.stop() == 0 and c2.of("stopped"), "c2 exited badly:\n%s" % c2.tail())
        consumers = [c1]
        m = marks_of(c1)
        produce(b, log_dir, n, 2000, "none", 500)
        ends2, _ = expect(b, log_dir, [c1], m, range(n, n + 2000), ends, 45, "after c2 left")
        check(last_assignment(c1) == {0, 1, 2}, "c1 assignment after c2 left: %s" % last_assignment(c1))
        say("c2 left: c1 took over and received exactly the 2000 new messages from %s" % ends)
        n += 2000

        # C: c3 joins, then dies without leaving (SIGKILL); once its session
        # times out c1 takes its partitions back from the committed offsets.
        c3 = Node(log_dir, "c3", "consume.js", b.addr, TOPIC, GROUP, "c3")
        consumers = [c1, c3]
        a1, a3 = wait_split(c1, c3)
        c3.kill()
        t_kill = time.time()
        consumers = [c1]
        m = marks_of(c1)
        produce(b, log_dir, n, 2000, "none", 500)
        ends3, _ = expect(b, log_dir, [c1], m, range(n, n + 2000), ends2, 45, "after c3 died")
        check(not received(c3), "c3 received %d messages though nothing new existed while it lived" %
              len(received(c3)))
        check(last_assignment(c1) == {0, 1, 2}, "c1 assignment after c3 died: %s" % last_assignment(c1))
        say("c3 (%s) killed: c1 got its partitions back after %.1f s and received exactly the 2000 new messages" %
              (sorted(a3), time.time() - t_kill))
        n += 2000

        # D: everyone leaves; a new member resumes from the committed offsets.
        check(c1.stop() == 0 and c1.of("stopped"), "c1 exited badly:\n%s" % c1.tail())
        consumers = []
        info = inspect(b, log_dir)
        committed = {c["p"]: int(c["offset"]) for c in info["committed"]}
        check(committed == ends3, "committed %s != log end %s" % (committed, ends3))
        check(info["group"] and info["group"][0]["state"] == "Empty" and info["group"][0]["members"] == 0,
              "DescribeGroups after everyone left: %s" % info["group"])
        produce(b, log_dir, n, 2000, "none", 500)
        c4 = Node(log_dir, "c4", "consume.js", b.addr, TOPIC, GROUP, "c4")
        consumers = [c4]
        ends4, _ = expect(b, log_dir, [c4], {}, range(n, n + 2000), committed, 45, "new member")
        check(c4.stop() == 0, "c4 exited badly:\n%s" % c4.tail())
        consumers = []
        check(last_assignment(c4) == {0, 1, 2}, "c4 assignment %s" % last_assignment(c4))
        info = inspect(b, log_dir)
        committed4 = {c["p"]: int(c["offset"]) for c in info["committed"]}
        check(committed4 == ends4, "committed %s != log end %s after resume" % (committed4, ends4))
        say("group empty: a new member received exactly the 2000 new messages from %s; committed %s" %
              (committed, committed4))

        # E: kafkajs admin on the same data. ListOffsets by timestamp: the
        # first offset whose message timestamp is >= T0 + 15000.
        ts_index = 15000
        r = run_node(log_dir, "by-time", "admin.js", b.addr, "offsets-by-time", TOPIC, T0 + ts_index)
        want = {p: min(off for (q, off), i in STORED.items() if q == p and i >= ts_index) for p in range(3)}
        got = {o["p"]: o["offset"] for o in r["offsets"]}
        check(got == want, "offsets for timestamp T0+%d: %s, want %s" % (ts_index, got, want))
        # setOffsets rewinds the (inactive) group to where phase D began; a
        # new member then receives phase D's messages once more.
        r = run_node(log_dir, "set-offsets", "admin.js", b.addr, "set-offsets", TOPIC, GROUP,
                     ",".join("%d=%d" % (p, o) for p, o in sorted(committed.items())))
        check({o["p"]: o["offset"] for o in r["committed"]} == committed, "setOffsets: %s, want %s" %
              (r["committed"], committed))
        # c5 fetches with 1 KiB limits: every answer is one whole batch over
        # the limit (KIP-74) or ends in a truncated batch.
        c5 = Node(log_dir, "c5", "consume.js", b.addr, TOPIC, GROUP, "c5", 1024)
        consumers = [c5]
        expect(b, log_dir, [c5], {}, range(n, n + 2000), committed, 45, "after setOffsets")
        check(c5.stop() == 0, "c5 exited badly:\n%s" % c5.tail())
        consumers = []
        r = run_node(log_dir, "delete", "admin.js", b.addr, "delete", TOPIC)
        check(TOPIC not in r["topics"], "topic list after DeleteTopics: %s" % r["topics"])
        say("admin: offsets by timestamp %s; setOffsets %s replayed the 2000; topic deleted" % (got, committed))
        ok = True
    finally:
        stop_all(b, log_dir, consumers, ok)
    remove_logs(b, log_dir)
    print("kafkajs e2e OK in %.1f s" % (time.time() - started))


if __name__ == "__main__":
    main()
