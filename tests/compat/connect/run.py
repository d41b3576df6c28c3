"""Kafka Connect in distributed mode (connect-runtime, pinned in pom.xml)
against a real `nocopy broker`:

  connect_distributed_start          the worker creates its config, offset and
                                     status topics and answers on its REST port
  connect_internal_topics_compacted  those topics have cleanup.policy=compact
                                     (Connect refuses to run on others)
  connect_source_to_sink             a counting source connector and a file
                                     sink connector (src/, compiled here) move
                                     records through a topic: the sink gets
                                     0..n with no gap
  connect_restart_resumes            the worker stops (SIGTERM) and starts
                                     again: it reads its connectors back from
                                     the config topic, the source resumes after
                                     its committed offset, the sink after its
                                     group's committed offsets (no gap; no
                                     number written twice by a source restarted
                                     from zero)
  connect_offsets_compacted          the offset topic, created by Connect with
                                     small segments, was cleaned by the broker
                                     while Connect used it (records removed)

Writes $NOCOPY_COMPAT_RESULTS/kafka-connect.json; exits non-zero when a
scenario fails. Bounded: each wait has a deadline, the whole run ~2 minutes.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness  # noqa: E402
import compat_common  # noqa: E402

SCENARIOS = ["connect_distributed_start", "connect_internal_topics_compacted", "connect_source_to_sink",
             "connect_restart_resumes", "connect_offsets_compacted"]
INTERNAL = ["nocopy-connect-configs", "nocopy-connect-offsets", "nocopy-connect-status"]
DATA_TOPIC = "connect-counts"


def check(ok, what):
    if not ok:
        raise AssertionError(what)


class Worker:
    """One ConnectDistributed process with its REST listener on a free port."""

    def __init__(self, classpath, bootstrap, tmp):
        self.cp = classpath
        self.port = harness.free_port()
        self.props = os.path.join(tmp, "worker.properties")
        self.log_path = os.path.join(tmp, "worker.log")
        self.proc = None
        with open(self.props, "w") as f:
            f.write("\n".join([
                "bootstrap.servers=" + bootstrap,
                "group.id=nocopy-connect",
                "listeners=http://127.0.0.1:%d" % self.port,
                "key.converter=org.apache.kafka.connect.storage.StringConverter",
                "value.converter=org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable=false",
                "config.storage.topic=" + INTERNAL[0],
                "offset.storage.topic=" + INTERNAL[1],
                "status.storage.topic=" + INTERNAL[2],
                "config.storage.replication.factor=1",
                "offset.storage.replication.factor=1",
                "status.storage.replication.factor=1",
                "offset.storage.partitions=1",
                # Topic settings Connect passes to CreateTopics for its offset
                # topic: small segments, so the broker's cleaner runs on it.
                "offset.storage.segment.bytes=4096",
                "offset.storage.min.cleanable.dirty.ratio=0.01",
                "offset.flush.interval.ms=500",
                "plugin.discovery=only_scan",
                "scheduled.rebalance.max.delay.ms=1000",
                ""]))

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["java", "-Xmx384m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", self.cp,
             "org.apache.kafka.connect.cli.ConnectDistributed", self.props],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 90
        while True:
            check(self.proc.poll() is None, "worker exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                info = self.rest("GET", "/")
                if "version" in info:
                    self.rest("GET", "/connectors")
                    return info
            except (OSError, urllib.error.URLError, ValueError):
                pass
            check(time.time() < deadline, "no REST answer after 90 s:\n" + self.log())
            time.sleep(0.5)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("worker did not stop within 60 s of SIGTERM")
        return self.proc.returncode if self.proc else None

    def rest(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def wait_running(self, name, timeout=60):
        deadline = time.time() + timeout
        st = None
        while time.time() < deadline:
            try:
                st = self.rest("GET", "/connectors/%s/status" % name)
                tasks = st.get("tasks", [])
                if st["connector"]["state"] == "RUNNING" and tasks and all(t["state"] == "RUNNING" for t in tasks):
                    return st
                check(all(t["state"] != "FAILED" for t in tasks), "%s task failed: %s" % (name, st))
            except urllib.error.HTTPError as e:
                if e.code != 404:  # 404: not known to the worker yet
                    raise
            time.sleep(0.5)
        raise AssertionError("%s not RUNNING after %ds: %s" % (name, timeout, st))

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""


def sink_values(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 4:
                    out.append(int(parts[3]))
    return out


def wait_sink(path, at_least, timeout=60):
    """Until the sink holds every number 0..at_least-1; returns all it holds."""
    deadline = time.time() + timeout
    while True:
        vals = sink_values(path)
        if set(range(at_least)) <= set(vals):
            return vals
        check(time.time() < deadline, "sink has %d records (max %s) after %ds, want 0..%d" %
              (len(vals), max(vals) if vals else None, timeout, at_least - 1))
        time.sleep(0.5)


def check_contiguous(vals, who):
    top = max(vals)
    missing = sorted(set(range(top + 1)) - set(vals))
    check(not missing, "%s: %d numbers missing below %d, e.g. %s" % (who, len(missing), top, missing[:5]))


def topic_policies(bootstrap):
    from confluent_kafka.admin import AdminClient, ConfigResource
    a = AdminClient({"bootstrap.servers": bootstrap})
    rs = [ConfigResource("topic", t) for t in INTERNAL]
    out = {}
    for r, fut in a.describe_configs(rs).items():
        out[r.name] = fut.result(30)["cleanup.policy"].value
    return out


def offsets_topic_records(bootstrap):
    """(records read from the start of the offset topic, its end offset)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "nocopy-connect-check", "enable.auto.commit": False})
    try:
        _, end = c.get_watermark_offsets(TopicPartition(INTERNAL[1], 0), timeout=30)
        c.assign([TopicPartition(INTERNAL[1], 0, OFFSET_BEGINNING)])
        n, last, deadline = 0, -1, time.time() + 30
        while last < end - 1 and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                n, last = n + 1, m.offset()
        check(last == end - 1, "read the offset topic to %d of %d" % (last, end))
        return n, end
    finally:
        c.close()


def run_scenarios(worker, broker, tmp, results):
    sink_file = os.path.join(tmp, "sink.txt")
    state = {}

    def start():
        info = worker.start()
        return "worker %s answers on its REST port" % info.get("version")

    def compacted():
        pol = topic_policies(broker.addr)
        check(all(pol.get(t) == "compact" for t in INTERNAL), "cleanup.policy of the internal topics: %s" % pol)
        return ", ".join("%s=%s" % kv for kv in sorted(pol.items()))

    def source_to_sink():
        worker.rest("PUT", "/connectors/counter/config", {
            "connector.class": "nocopy.connect.CountingSourceConnector", "tasks.max": "1",
            "topic": DATA_TOPIC, "per.second": "200"})
        worker.rest("PUT", "/connectors/appender/config", {
            "connector.class": "nocopy.connect.FileAppendSinkConnector", "tasks.max": "1",
            "topics": DATA_TOPIC, "file": sink_file})
        worker.wait_running("counter")
        worker.wait_running("appender")
        vals = wait_sink(sink_file, 1000)
        check_contiguous(vals, "sink")
        state["before"] = max(vals)
        return "sink received 0..%d, no gap" % max(vals)

    def restart():
        rc = worker.stop()
        check(rc in (0, 143, -15), "worker exit status %s after SIGTERM:\n%s" % (rc, worker.log()))
        worker.start()
        names = sorted(worker.rest("GET", "/connectors"))
        check(names == ["appender", "counter"], "connectors after restart: %s" % names)
        worker.wait_running("counter")
        worker.wait_running("appender")
        target = state["before"] + 1000
        vals = wait_sink(sink_file, target)
        check_contiguous(vals, "sink after restart")
        counts = {}
        for v in vals:
            counts[v] = counts.get(v, 0) + 1
        dups = sorted(v for v, n in counts.items() if n > 1)
        check(counts[0] == 1, "number 0 reached the sink %d times: the source restarted from zero" % counts[0])
        # At least once: a window around the restart may come twice, no more.
        check(len(dups) <= 1000, "%d numbers reached the sink twice, e.g. %s" % (len(dups), dups[:5]))
        return "resumed: 0..%d with no gap, %d numbers twice around the restart" % (max(vals), len(dups))

    def offsets_compacted():
        deadline = time.time() + 60
        while True:
            n, end = offsets_topic_records(broker.addr)
            if n < end:
                return "%d of the offset topic's %d records left after cleaning" % (n, end)
            check(time.time() < deadline, "offset topic: all %d records still there after 60 s" % end)
            time.sleep(1)

    for name, fn in zip(SCENARIOS, [start, compacted, source_to_sink, restart, offsets_compacted]):
        try:
            results.append((name, "pass", fn()))
        except Exception as e:  # noqa: BLE001 - reported per scenario
            results.append((name, "fail", ("%s: %s" % (type(e).__name__, e))[-1500:]))
        print(name, results[-1][1], results[-1][2], flush=True)
        if name == "connect_distributed_start" and results[-1][1] == "fail":
            break


def main():
    version = compat_common.pom_property(os.path.join(HERE, "pom.xml"), "kafka.version", [])
    out_dir = os.path.join(compat_common.work_dir(), "connect-" + version)
    try:
        cp = compat_common.maven_build(HERE, ["-Dnocopy.out=" + out_dir], out_dir, compile_sources=True)
    except RuntimeError as e:
        compat_common.write_results("kafka-connect", version, [(s, "fail", str(e)) for s in SCENARIOS])
        sys.exit(str(e))
    classpath = os.path.join(out_dir, "classes") + os.pathsep + cp
    tmp = tempfile.mkdtemp(prefix="nocopy-connect-")
    results = []
    broker = harness.Broker("--log-cleaner-backoff-ms", "500", threads=2).start()
    worker = Worker(classpath, broker.addr, tmp)
    try:
        run_scenarios(worker, broker, tmp, results)
    finally:
        try:
            worker.stop()
        except AssertionError as e:
            print(e, file=sys.stderr)
        done = {r[0] for r in results}
        results += [(s, "fail", "not run: the worker did not start") for s in SCENARIOS if s not in done]
        compat_common.write_results("kafka-connect", version, results)
        failed = [r[0] for r in results if r[1] == "fail"]
        if failed:
            sys.stderr.write("---- worker log (tail) ----\n%s\n---- broker log (tail) ----\n%s\n" %
                             (worker.log(), broker.log()[-4000:]))
        broker.stop()
        shutil.rmtree(broker.data_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        sys.exit("failed scenarios: %s" % failed)


if __name__ == "__main__":
    main()
