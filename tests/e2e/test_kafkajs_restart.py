"""kafkajs: a live group member across broker restarts.

  1. 20,000 messages are stored; a kafkajs consumer (fetching 4 KiB at a
     time, so it is mid-stream) has received some of them when the broker
     restarts (SIGTERM). The member reconnects and finishes: every
     message arrives, intact, and the only repeats are messages the group had
     not committed when the broker went down.
  2. With everything committed, the broker is SIGKILLed and restarted; once
     the member is back in the group, 5,000 new messages arrive at it exactly
     once, and the committed offsets end at the log end.

NOCOPY_KAFKAJS_COMMIT selects how the member commits:
  auto   (default) kafkajs' usual configuration: eachMessage + autoCommit.
         Repeats must lie at or after the offsets committed just before the
         restart (read with kafkajs admin).
  manual eachBatch + consumer.commitOffsets() after every batch. Repeats
         must come from a batch whose commit did not complete. kafkajs
         treats UNKNOWN_MEMBER_ID (25) on such a commit as non-retriable
         and crashes for good, so this variant needs the broker to keep the
         group's members and generation across the restart, as Kafka does
         (nocopy stores them in __consumer_offsets; ctest runs it as
         e2e_kafkajs_restart_manual)."""
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402
import test_kafkajs as kjs  # noqa: E402
from test_kafkajs import say  # noqa: E402

MODE = os.environ.get("NOCOPY_KAFKAJS_COMMIT", "auto")


def uncommitted_deliveries(node):
    """Manual mode: (partition, offset) of messages delivered in a batch whose
    commit did not follow it (batches are handled one at a time)."""
    with node.cond:
        events = list(node.events)
    out, pending = set(), None
    for e in events:
        if e["ev"] == "batch":
            if pending is not None:
                out.update((pending["p"], m[0]) for m in pending["msgs"])
            pending = e
        elif e["ev"] == "committed" and pending is not None:
            if e["p"] == pending["p"] and e["offset"] == pending["msgs"][-1][0] + 1:
                pending = None
    if pending is not None:
        out.update((pending["p"], m[0]) for m in pending["msgs"])
    return out


def committed_offsets(b, log_dir):
    info = kjs.inspect(b, log_dir)
    return {x["p"]: int(x["offset"]) for x in info["committed"]}


def wait_committed(b, log_dir, node, ends, timeout):
    """Polls the group's committed offsets (kafkajs admin) until they reach `ends`."""
    deadline = time.time() + timeout
    while True:
        committed = committed_offsets(b, log_dir)
        if committed == ends:
            return committed
        check(time.time() < deadline, "committed %s never reached the log end %s\n%s" % (committed, ends, node.tail()))
        check_alive(node)
        time.sleep(0.5)  # polling the broker's state; nothing to wait on


def check_alive(node):
    crashed = [e for e in node.of("crash") if not e["restart"]] + node.of("error")
    check(node.proc.poll() is None and not crashed, "consumer failed: %s\n%s" % (crashed, node.tail()))


def wait_distinct(node, keys, timeout, what):
    deadline = time.time() + timeout
    while len({m[2] for m in kjs.received(node)} & keys) < len(keys):
        check(time.time() < deadline, "%s: received %d of %d within %ss\n%s" % (
            what, len({m[2] for m in kjs.received(node)} & keys), len(keys), timeout, node.tail()))
        check_alive(node)
        with node.cond:
            node.cond.wait(0.2)


def main():
    if not shutil.which("node") or not os.path.isdir(os.path.join(kjs.KJS, "node_modules", "kafkajs")):
        sys.exit("kafkajs is not installed: run scripts/setup.sh (node + npm ci in tests/e2e/kafkajs)")
    check(MODE in ("auto", "manual"), "NOCOPY_KAFKAJS_COMMIT must be auto or manual")
    b = Broker("--group-initial-rebalance-delay-ms", "0").start()
    log_dir = b.data_dir + ".kafkajs"
    os.makedirs(log_dir, exist_ok=True)
    consumers = []
    ok = False
    try:
        r = kjs.run_node(log_dir, "create", "admin.js", b.addr, "create", kjs.TOPIC, 3)
        check(r["ev"] == "created", "create: %s" % r)
        n = 20000
        kjs.produce(b, log_dir, 0, n, "none", 100)  # small batches, many fetches

        c = kjs.Node(log_dir, "c1", "consume.js", b.addr, kjs.TOPIC, kjs.GROUP, "c1", 4096,
                     "auto" if MODE == "auto" else "")
        consumers = [c]
        c.wait_for(lambda ev: sum(len(e["msgs"]) for e in ev if e["ev"] == "batch") >= 4000, 30,
                   "4000 messages before the restart")
        floor = {p: max(o, 0) for p, o in committed_offsets(b, log_dir).items()}
        before = len(kjs.received(c))
        check(b.stop() == 0, "broker exited badly on SIGTERM")
        b.start()
        say("%s commits: SIGTERM restart after %d of %d messages (committed then >= %s)" % (MODE, before, n, floor))

        wait_distinct(c, {kjs.key(i) for i in range(n)}, 60, "after the SIGTERM restart")
        ends = kjs.log_end(b, log_dir)
        wait_committed(b, log_dir, c, ends, 30)
        got = kjs.received(c)
        first = {}
        for m in got:
            first.setdefault(m[2], m)
        repeats = [m for m in got if first[m[2]] is not m]
        if MODE == "manual":
            allowed = uncommitted_deliveries(c)
            bad = [m for m in repeats if (m[0], m[1]) not in allowed]
        else:
            bad = [m for m in repeats if m[1] < floor[m[0]]]
        check(not bad, "%d repeats of messages committed before the restart, e.g. %s" %
              (len(bad), [(m[0], m[1], m[2]) for m in bad[:5]]))
        kjs.check_messages(list(first.values()), range(n))
        say("all %d received; %d repeats, none of them committed before the restart" % (n, len(repeats)))

        # SIGKILL with everything committed: the member resumes exactly.
        joins = len(c.of("join"))
        b.stop(signal.SIGKILL)
        b.start()
        # nocopy restores the group's members and generation from
        # __consumer_offsets, so the member's heartbeats and commits keep
        # working (kafkajs may still rejoin after losing its connection).
        # Had it been dropped (a broker that forgets members), its next
        # heartbeat would get UNKNOWN_MEMBER_ID and it would rejoin; messages
        # fetched before that could not be auto-committed and would come
        # again after the rejoin. So produce only once any rejoin is done.
        rejoin_by = time.time() + 5
        with c.cond:
            while len([e for e in c.events if e["ev"] == "join"]) == joins and time.time() < rejoin_by:
                c.cond.wait(0.2)
        say("SIGKILL restart: member %s" % ("rejoined" if len(c.of("join")) > joins else "kept (no rejoin)"))
        m = len(got)
        kjs.produce(b, log_dir, n, 5000, "none", 500)
        new_keys = {kjs.key(i) for i in range(n, n + 5000)}
        wait_distinct(c, new_keys, 60, "after the SIGKILL restart")
        ends2 = kjs.log_end(b, log_dir)
        committed = wait_committed(b, log_dir, c, ends2, 30)
        new = kjs.received(c)[m:]
        by_part = kjs.check_messages(new, range(n, n + 5000))
        for p, lst in by_part.items():
            check([o for o, _ in lst] == list(range(ends[p], ends2[p])), "partition %d: offsets after SIGKILL" % p)
        check(c.stop() == 0, "consumer exited badly:\n%s" % c.tail())
        consumers = []
        say("SIGKILL restart: the member received exactly the 5000 new messages from %s; committed %s" %
            (ends, committed))
        ok = True
    finally:
        kjs.stop_all(b, log_dir, consumers, ok)
    kjs.remove_logs(b, log_dir)
    say("kafkajs restart e2e OK")


if __name__ == "__main__":
    main()
