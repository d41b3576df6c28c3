"""Runs the common compatibility scenarios against a real `nocopy broker`
process with one client program, and writes the client's result JSON.

Usage: driver.py <client-name> --go <module dir>
       driver.py <client-name> --python <script>
       driver.py <client-name> -- <client command...>

--go builds the module's program offline from the module cache (GOPROXY=off)
into a temp dir; --python runs the script with the compat venv's python
(~/.cache/nocopy/compat-venv). scripts/setup-compat.sh fills both; when they
are missing every scenario fails with that reason.

The client program (Go binary, or a Python script run by the compat venv)
implements this command line and prints one JSON object on stdout per call;
it exits non-zero with the reason on stderr when an operation fails:

  <prog> <bootstrap> version                         -> {"version": "v1.2.3"}
  <prog> <bootstrap> create <topic> <partitions>     -> {}
  <prog> <bootstrap> delete <topic>                  -> {}
  <prog> <bootstrap> list                            -> {"topics": [names]}
  <prog> <bootstrap> describe_topic <topic>          -> {"partitions": n}
  <prog> <bootstrap> describe_configs <topic>        -> {"configs": {name: value}}
  <prog> <bootstrap> describe_group <group>          -> {"state": s, "protocol_type": p}
  <prog> <bootstrap> produce <topic> <from> <count> <delay_ms>
      idempotent producer, acks=all; record i (from <= i < from+count) has
      key "k<i % 50>" and value "<i>"; sleeps delay_ms after every 100
      records; waits for every acknowledgement  -> {"acked": count}
  <prog> <bootstrap> consume <topic> <group> <count> <timeout_s>
      group member (auto.offset.reset=earliest, manual commits): after every
      poll it commits what it processed; stops once it has at least <count>
      records                                   -> {"records": [[partition, offset, key, value]]}
  <prog> <bootstrap> consume_committed <topic> <group> <count> <timeout_s>
      the same with isolation level read_committed
  <prog> <bootstrap> txn_produce <topic> <transactional_id> <from> <count> <commit|abort>
      a transactional producer (acks=all) sends records from..from+count-1
      (keys and values as produce) in one transaction and commits or aborts
      it                                        -> {"acked": count}

Scenario results go to $NOCOPY_COMPAT_RESULTS/<client>.json (default
build/compat-results): {"client", "version", "scenarios": [{name, status,
reason}]}. The driver exits 1 when a scenario fails, 0 when every scenario
passes or fails as expected (xfail).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import Broker  # noqa: E402

TOPIC = "compat-keys"
PARTS = 6
KEYS = 50
GROUP = "compat-group"
N_PRODUCE = 3000
N_RESTART = 4000
CALL_TIMEOUT = 120


class ClientError(Exception):
    pass


class Client:
    def __init__(self, argv, broker):
        self.argv = argv
        self.broker = broker

    def call(self, *args, timeout=CALL_TIMEOUT):
        cmd = self.argv + [self.broker.addr] + [str(a) for a in args]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise ClientError("%s timed out after %ss; stderr: %s" %
                              (args[0], timeout, (e.stderr or b"").decode(errors="replace")[-800:]))
        if r.returncode != 0:
            raise ClientError("%s exited %d: %s" % (args[0], r.returncode,
                                                    r.stderr.decode(errors="replace").strip()[-800:]))
        try:
            return json.loads(r.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise ClientError("%s printed no JSON: %r" % (args[0], r.stdout[-300:]))

    def start(self, *args):
        """The same call in a background thread: returns a function giving its result."""
        box = {}

        def run():
            try:
                box["ok"] = self.call(*args)
            except Exception as e:  # reported by join()
                box["err"] = e
        t = threading.Thread(target=run)
        t.start()

        def join():
            t.join(CALL_TIMEOUT + 10)
            if "err" in box:
                raise box["err"]
            return box["ok"]
        return join


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def check_records(records, lo, hi, who, allow_dups=False):
    """Every value lo..hi-1 exactly once (or at least once), keys on one partition each, in order."""
    seen = {}
    key_part = {}
    last = {}
    for part, off, key, value in records:
        i = int(value)
        check(key == "k%d" % (i % KEYS), "%s: value %d has key %r" % (who, i, key))
        check(key_part.setdefault(key, part) == part,
              "%s: key %s on partitions %d and %d" % (who, key, key_part[key], part))
        if not allow_dups:
            check(i > last.get(key, -1), "%s: key %s value %d after %d" % (who, key, i, last.get(key, -1)))
        last[key] = max(i, last.get(key, -1))
        seen[i] = seen.get(i, 0) + 1
    missing = [i for i in range(lo, hi) if i not in seen]
    check(not missing, "%s: %d records missing, e.g. %s" % (who, len(missing), missing[:5]))
    extra = [i for i in seen if not lo <= i < hi]
    check(not extra, "%s: unexpected values %s" % (who, extra[:5]))
    dups = [i for i, n in seen.items() if n > 1]
    if not allow_dups:
        check(not dups, "%s: %d records delivered twice, e.g. %s" % (who, len(dups), dups[:5]))
    return len(dups)


class Run:
    def __init__(self, name, argv):
        self.name = name
        self.argv = argv
        self.results = []
        self.failed = False

    def scenario(self, name, fn, xfail=None):
        t0 = time.time()
        try:
            fn()
            status, reason = "pass", ""
            if xfail:
                status, reason = "fail", "expected to fail (%s) but passed" % xfail
        except Exception as e:  # every failure is recorded with its reason
            reason = "%s: %s" % (type(e).__name__, e)
            status = "fail"
            if xfail and xfail in str(e):
                status, reason = "xfail", xfail
        if status == "fail":
            self.failed = True
        print("%-28s %-5s %5.1fs %s" % (name, status, time.time() - t0, reason), flush=True)
        self.results.append({"name": name, "status": status, "reason": reason})

    def write(self, version, versions=None):
        out = os.environ.get("NOCOPY_COMPAT_RESULTS") or os.path.join(os.getcwd(), "compat-results")
        os.makedirs(out, exist_ok=True)
        doc = {"client": self.name, "version": version, "scenarios": self.results}
        if versions is not None:
            doc["versions"] = versions  # {api label: versions the client used}
        with open(os.path.join(out, self.name + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


def wait_for_records(b, topic, n, timeout_s):
    """Until the topic's partitions hold at least n records together."""
    from confluent_kafka import Consumer, TopicPartition
    cons = Consumer({"bootstrap.servers": b.addr, "group.id": "compat-driver-watch"})
    try:
        deadline = time.time() + timeout_s
        while True:
            total = sum(cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTS))
            if total >= n:
                return
            check(time.time() < deadline, "%s holds %d records after %ds, waiting for %d" %
                  (topic, total, timeout_s, n))
            time.sleep(0.05)
    finally:
        cons.close()


def restart_case(c, b, sig, lo, group):
    """A producer and a group consumer across a broker restart by `sig`."""
    c.call("create", "%s-%d" % (TOPIC, sig), PARTS)
    topic = "%s-%d" % (TOPIC, sig)
    c.call("produce", topic, lo, N_RESTART // 2, 0)
    first = c.call("consume", topic, group, N_RESTART // 4, 60)["records"]
    # The second half is produced while the broker goes down and comes back:
    # the broker stops once the producer is connected and writing (a client
    # still starting would only meet a closed port).
    prod = c.start("produce", topic, lo + N_RESTART // 2, N_RESTART // 2, 60)
    wait_for_records(b, topic, N_RESTART // 2 + 100, 60)
    rc = b.stop(sig)
    check(rc == (0 if sig == signal.SIGTERM else -sig), "broker exit code %s after signal %d" % (rc, sig))
    time.sleep(0.5)
    b.start()
    check(prod()["acked"] == N_RESTART // 2, "producer did not get every acknowledgement")
    rest = c.call("consume", topic, group, N_RESTART - len(first), 90)["records"]
    check_records(first + rest, lo, lo + N_RESTART, "after restart")


def transactions_case(c):
    """Committed, aborted and committed again by one transactional id (two
    producer sessions: the second fences and resumes the first's id); a
    read_committed group member must read the committed records exactly once
    and none of the aborted ones, which lie between them in the log."""
    topic = TOPIC + "-txn"
    c.call("create", topic, 3)
    r = c.call("txn_produce", topic, "compat-txn", 300000, 200, "commit")
    check(r["acked"] == 200, "first transaction: acked %s of 200" % r["acked"])
    c.call("txn_produce", topic, "compat-txn", 900000, 200, "abort")
    r = c.call("txn_produce", topic, "compat-txn", 300200, 200, "commit")
    check(r["acked"] == 200, "third transaction: acked %s of 200" % r["acked"])
    got = c.call("consume_committed", topic, GROUP + "-txn", 400, 60)["records"]
    check_records(got, 300000, 300400, "read_committed after commit, abort, commit")


SCENARIOS = ["admin_create_delete_topics", "admin_describe_topics", "admin_describe_configs",
             "produce_idempotent_keys", "consume_group_commit", "admin_describe_groups",
             "restart_sigterm", "restart_sigkill", "transactions_commit_abort"]
VENV = os.path.join(os.path.expanduser("~"), ".cache", "nocopy", "compat-venv")
SETUP = "run scripts/setup-compat.sh (needs the Go module proxy and PyPI)"


def client_argv(kind, arg, tmp):
    """The command line of the client program, or raises ClientError saying what is missing."""
    if kind == "--go":
        exe = os.path.join(tmp, "client")
        env = dict(os.environ, GOPROXY="off", GOFLAGS="-mod=readonly")
        r = subprocess.run(["go", "build", "-o", exe, "."], cwd=arg, env=env, capture_output=True,
                           timeout=300)
        if r.returncode != 0:
            raise ClientError("go build failed in %s (%s): %s" %
                              (arg, SETUP, r.stderr.decode(errors="replace").strip()[-600:]))
        return [exe]
    if kind == "--python":
        py = os.path.join(VENV, "bin", "python")
        if not os.path.exists(py):
            raise ClientError("no compat venv at %s (%s)" % (VENV, SETUP))
        return [py, arg]
    return [arg]


def main():
    if len(sys.argv) < 4 or sys.argv[2] not in ("--go", "--python", "--"):
        sys.exit("usage: driver.py <client-name> (--go <dir> | --python <script> | -- <command>)")
    name = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="nocopy-compat-")
    try:
        argv = client_argv(sys.argv[2], sys.argv[3], tmp) + sys.argv[4:]
    except (ClientError, OSError, subprocess.TimeoutExpired) as e:
        run = Run(name, None)
        for s in SCENARIOS:
            run.results.append({"name": s, "status": "fail", "reason": "client not installed: %s" % e})
        run.write("not installed")
        sys.exit("%s: %s" % (name, e))
    run = Run(name, argv)
    # Syncing flush so that SIGKILL loses nothing the broker acknowledged.
    b = Broker("--flush", "every").start()
    c = Client(argv, b)
    version = "unknown"
    versions = {}
    try:
        version = c.call("version")["version"]
        print("%s %s against %s" % (name, version, b.addr), flush=True)

        def create_delete():
            c.call("create", TOPIC, PARTS)
            c.call("create", "compat-doomed", 2)
            check("compat-doomed" in c.call("list")["topics"], "created topic not listed")
            c.call("delete", "compat-doomed")
            deadline = time.time() + 10
            while "compat-doomed" in c.call("list")["topics"]:
                check(time.time() < deadline, "deleted topic still listed after 10 s")
                time.sleep(0.2)

        def describe_topic():
            n = c.call("describe_topic", TOPIC)["partitions"]
            check(n == PARTS, "%d partitions described, %d created" % (n, PARTS))

        def describe_configs():
            cfg = c.call("describe_configs", TOPIC)["configs"]
            for k in ("retention.ms", "cleanup.policy"):
                check(k in cfg, "no %s among %s" % (k, sorted(cfg)[:20]))

        def produce():
            r = c.call("produce", TOPIC, 0, N_PRODUCE, 0)
            check(r["acked"] == N_PRODUCE, "acked %s of %d" % (r["acked"], N_PRODUCE))

        def consume():
            # Everything, committed; then new records, and a new member of the
            # same group must start after the committed offsets.
            first = c.call("consume", TOPIC, GROUP, N_PRODUCE, 60)["records"]
            check_records(first, 0, N_PRODUCE, "group consume")
            c.call("produce", TOPIC, N_PRODUCE, 500, 0)
            rest = c.call("consume", TOPIC, GROUP, 500, 60)["records"]
            check_records(rest, N_PRODUCE, N_PRODUCE + 500, "group consume after commit")

        def describe_group():
            g = c.call("describe_group", GROUP)
            check(g["state"].lower() == "empty", "group state %r, want Empty" % g["state"])
            check(g["protocol_type"] == "consumer", "protocol type %r" % g["protocol_type"])

        run.scenario("admin_create_delete_topics", create_delete)
        run.scenario("admin_describe_topics", describe_topic)
        run.scenario("admin_describe_configs", describe_configs)
        run.scenario("produce_idempotent_keys", produce)
        run.scenario("consume_group_commit", consume)
        run.scenario("admin_describe_groups", describe_group)
        b.versions_used(versions)
        run.scenario("restart_sigterm",
                     lambda: restart_case(c, b, signal.SIGTERM, 100000, GROUP + "-term"))
        run.scenario("restart_sigkill",
                     lambda: restart_case(c, b, signal.SIGKILL, 200000, GROUP + "-kill"))
        run.scenario("transactions_commit_abort", lambda: transactions_case(c))
        b.versions_used(versions)
        print("versions used: %s" % json.dumps(versions, sort_keys=True), flush=True)
    finally:
        run.write(version, versions)
        rc = b.stop(signal.SIGTERM) if b.alive() else 0
        if run.failed or rc not in (0, None):
            sys.stderr.write("---- broker log ----\n" + b.log()[-6000:] + "\n")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(b.data_dir, ignore_errors=True)
        if os.path.exists(b.log_path):
            os.unlink(b.log_path)
    sys.exit(1 if run.failed else 0)


if __name__ == "__main__":
    main()
