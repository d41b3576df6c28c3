#!/usr/bin/env python3
"""Apache Kafka, nocopy, NATS JetStream and Redis Streams side by side.

Starts each peer in turn (fresh data dir on one filesystem, free loopback
ports, stopped by PID), runs the same workloads against it, and writes one
JSON file with every run:

  produce   100 B / 1 KiB / 100 KiB, acks=1 and acks=all, as fast as possible
  consume   the acks=1 data of each size, from the start
  latency   produce-ack latency at 2,000 msgs/s with one message in flight
            (acks=1), and at 10,000 msgs/s

Kafka-protocol peers (Kafka, nocopy) are driven by two clients each, the same
for both: `nocopy perf` (librdkafka) and Kafka's ProducerPerformance /
ConsumerPerformance. NATS and Redis are driven by loadgen/ (nats.go,
go-redis). Rounds interleave the peers (the order rotates each round); the
page generator takes medians over rounds.

Before every workload free memory is filled with clean page cache (a sparse
file read with POSIX_FADV_WILLNEED, `--no-fill-page-cache` skips it), so a
broker's appends take their page-cache pages from reclaim as on a long-running
host. Without it, whichever broker first touches memory the hypervisor took
back through the balloon's free-page reporting pays the host's fault in its
write copy (this VM: 1.85 s system time for 2 GB of fresh pages vs 0.18-0.23 s
with the cache full), and CPU-s/GB measures the VM's memory state.

Per run: msgs/s, MB/s, broker CPU-seconds per GB (utime+stime of the broker
PID from /proc/<pid>/stat over the run, and each of them alone), the broker's
system calls per MB (`perf stat -e raw_syscalls:sys_enter -p <pid>`), the
broker's peak RSS during the run
(VmHWM, reset through /proc/<pid>/clear_refs before it), and p50/p99/p99.9 ack
latency as the client reports it.

Usage: run.py [--rounds 3] [--duration 5] [--quick] [--out results/x.json]
Needs setup.sh first (Kafka jars, nats-server, redis-server, loadgen).
"""
import argparse
import base64
import datetime
import json
import mmap
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
NOCOPY = os.environ.get("NOCOPY_BIN", os.path.join(ROOT, "build", "nocopy"))
KAFKA_VERSION = "4.1.1"
CACHE = os.path.expanduser("~/.cache/nocopy")
KAFKA_LIBS = os.path.join(CACHE, f"kafka-{KAFKA_VERSION}", "libs")
LOADGEN = os.path.join(CACHE, "peers-loadgen")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Kafka's own start script defaults (bin/kafka-server-start.sh, kafka-run-class.sh).
KAFKA_JVM = ["-Xmx1G", "-Xms1G", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
             "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
             "-Djava.awt.headless=true"]
TOOLS_JVM = ["-Xmx512M"]


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"not listening on {port} after {timeout} s")


def cpu_times(pid):
    """(user, system) CPU seconds of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime


class SyscallCounter:
    """Counts the system calls `pid` enters while active: `perf stat` on the
    raw_syscalls:sys_enter tracepoint (root; None when perf or the tracepoint
    is missing)."""

    def __init__(self, pid):
        self.out = tempfile.NamedTemporaryFile(prefix="peers-syscalls-", suffix=".csv", delete=False).name
        try:
            self.proc = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p", str(pid),
                                          "-o", self.out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)  # attached before the workload starts
        except OSError:
            self.proc = None

    def stop(self):
        """The count, or None."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None
        try:
            with open(self.out) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) > 2 and parts[2] == "raw_syscalls:sys_enter" and parts[0].isdigit():
                        return int(parts[0])
        finally:
            os.unlink(self.out)
        return None


def mem_free_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemFree:"):
                return int(line.split()[1]) // 1024
    return 0


MADV_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22)  # Linux 5.14


def fill_page_cache(data_root, keep_free_mb=2048):
    """Fills free memory with clean page-cache pages of a sparse file as large
    as RAM under data_root (holes: no disk I/O, no disk space), so that the
    next workload's writes reclaim cached pages instead of faulting in pages
    the hypervisor took back. Maps it 1 GiB at a time with MADV_POPULATE_READ
    (pages already cached are only mapped, nothing is copied) until MemFree is
    below keep_free_mb. The first call takes about a minute, later ones
    refill only what was freed since. Returns MemFree in MB after it."""
    path = os.path.join(data_root, "page-cache-fill")
    with open("/proc/meminfo") as f:
        total = next(int(l.split()[1]) * 1024 for l in f if l.startswith("MemTotal:"))
    chunk = 1 << 30
    total -= total % chunk
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_size != total:
            os.ftruncate(fd, total)
        for off in range(0, total, chunk):
            if mem_free_mb() < keep_free_mb:
                break
            with mmap.mmap(fd, chunk, mmap.MAP_SHARED, mmap.PROT_READ, offset=off) as m:
                m.madvise(MADV_POPULATE_READ)
    finally:
        os.close(fd)
    return mem_free_mb()


def reset_peak_rss(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Peer:
    """A broker process: start() on a fresh data dir, stop() by PID."""
    name = ""
    protocol = ""

    def __init__(self, data_root):
        self.data_root = data_root
        self.proc = None
        self.dir = None
        self.port = None

    def start(self):
        self.dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.data_root)
        self.port = free_port()
        self.logf = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(self.command(), cwd=self.dir, stdout=self.logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_port(self.port, self.proc)
        time.sleep(1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"


class Nocopy(Peer):
    name, protocol = "nocopy", "kafka"

    def command(self):
        return [NOCOPY, "broker", "--listen", self.addr, "--no-metrics",
                "--data-dir", os.path.join(self.dir, "data"), "--group-initial-rebalance-delay-ms", "0",
                "--log-level", "warn"]


class Kafka(Peer):
    name, protocol = "kafka", "kafka"

    def command(self):
        cport = free_port()
        props = os.path.join(self.dir, "server.properties")
        with open(props, "w") as f:
            f.write(f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{cport}
listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={os.path.join(self.dir, "data")}
num.partitions=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
""")
        log4j = os.path.join(self.dir, "log4j2.yaml")
        with open(log4j, "w") as f:
            f.write("Configuration:\n  Appenders:\n    Console:\n      name: STDOUT\n"
                    "      PatternLayout:\n        Pattern: \"[%d] %p %m (%c)%n\"\n"
                    "  Loggers:\n    Root:\n      level: WARN\n      AppenderRef:\n        - ref: STDOUT\n")
        cp = os.path.join(KAFKA_LIBS, "*")
        cluster_id = "-"
        while cluster_id.startswith("-"):  # the storage tool would read it as an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        subprocess.run(["java", "-cp", cp, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", props], check=True, stdout=subprocess.DEVNULL)
        return ["java", *KAFKA_JVM, f"-Dlog4j2.configurationFile={log4j}", "-cp", cp, "kafka.Kafka", props]


class Nats(Peer):
    name, protocol = "nats", "nats"

    def command(self):
        return ["nats-server", "-js", "-sd", os.path.join(self.dir, "js"), "-a", "127.0.0.1", "-p", str(self.port)]


class Redis(Peer):
    name, protocol = "redis", "redis"

    def command(self):
        # Append-only file on (a log that survives a restart), fsync every second (its default).
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--appendonly", "yes", "--save", "", "--daemonize", "no"]


def run_client(cmd, timeout):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{os.path.basename(cmd[0])} exit {p.returncode}: {p.stderr.strip()[-400:]}")
    return p.stdout


def nocopy_perf(args):
    out = run_client([NOCOPY, "perf", *args, "--json", "-q"], timeout=300)
    return json.loads(out)


def from_perf_json(j):
    lat = j.get("ack_latency") or {}
    return {"messages": j.get("acked", j.get("messages")), "bytes": j["bytes"], "elapsed_s": j["elapsed_s"],
            "msgs_per_s": j["msgs_per_s"], "mb_per_s": j["mb_per_s"],
            "p50_us": lat.get("p50_us"), "p99_us": lat.get("p99_us"), "p99_9_us": lat.get("p99_9_us")}


def java_tool(cls, args):
    return run_client(["java", *TOOLS_JVM, "-cp", os.path.join(KAFKA_LIBS, "*"), cls, *args], timeout=600)


def producer_performance(addr, topic, size, acks, n, rate=-1, extra=()):
    out = java_tool("org.apache.kafka.tools.ProducerPerformance",
                    ["--topic", topic, "--num-records", str(n), "--record-size", str(size), "--throughput",
                     str(rate), "--producer-props", f"bootstrap.servers={addr}", f"acks={acks}", *extra])
    last = [l for l in out.splitlines() if "records sent" in l][-1]
    m = re.search(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                  r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th", last)
    if not m:
        raise RuntimeError(f"unparsed ProducerPerformance output: {last}")
    sent, rps, mbps = int(m[1]), float(m[2]), float(m[3])
    return {"messages": sent, "bytes": sent * size, "elapsed_s": sent / rps if rps else None, "msgs_per_s": rps,
            "mb_per_s": mbps * 1.048576, "p50_us": int(m[6]) * 1000, "p99_us": int(m[8]) * 1000,
            "p99_9_us": int(m[9]) * 1000, "latency_resolution_us": 1000}


def consumer_performance(addr, topic, n):
    out = java_tool("org.apache.kafka.tools.ConsumerPerformance",
                    ["--bootstrap-server", addr, "--topic", topic, "--messages", str(n), "--timeout", "30000"])
    lines = [l for l in out.splitlines() if l.strip() and not l.startswith("start.time")]
    f = [x.strip() for x in lines[-1].split(",")]
    # start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s, fetch nMsg/s
    mb, msgs, fetch_ms = float(f[2]), int(f[4]), float(f[7])
    if msgs < n:
        raise RuntimeError(f"ConsumerPerformance read {msgs} of {n}")
    secs = fetch_ms / 1000
    return {"messages": msgs, "bytes": int(mb * 1048576), "elapsed_s": secs, "msgs_per_s": float(f[9]),
            "mb_per_s": float(f[8]) * 1.048576, "p50_us": None, "p99_us": None, "p99_9_us": None}


def loadgen(peer, args):
    out = run_client([LOADGEN, "-peer", peer.name, "-addr", peer.addr, *args], timeout=300)
    j = json.loads(out)
    lat = j.get("ack_latency") or {}
    return {"messages": j["messages"], "bytes": j["bytes"], "elapsed_s": j["elapsed_s"],
            "msgs_per_s": j["msgs_per_s"], "mb_per_s": j["mb_per_s"], "p50_us": lat.get("p50_us"),
            "p99_us": lat.get("p99_us"), "p99_9_us": lat.get("p99_9_us")}


def measured(peer, fn):
    """Runs fn() and attaches the broker's CPU time and peak RSS over it."""
    pid = peer.proc.pid
    reset_peak_rss(pid)
    syscalls = SyscallCounter(pid)
    u0, s0 = cpu_times(pid)
    try:
        r = fn()
    finally:
        calls = syscalls.stop()
    u1, s1 = cpu_times(pid)
    r["broker_user_s"], r["broker_sys_s"] = u1 - u0, s1 - s0
    r["broker_cpu_s"] = r["broker_user_s"] + r["broker_sys_s"]
    r["broker_syscalls"] = calls
    r["broker_peak_rss_kb"] = peak_rss_kb(pid)
    gb = r["bytes"] / 1e9 if r.get("bytes") else None
    r["cpu_s_per_gb"] = r["broker_cpu_s"] / gb if gb else None
    r["user_cpu_s_per_gb"] = r["broker_user_s"] / gb if gb else None
    r["sys_cpu_s_per_gb"] = r["broker_sys_s"] / gb if gb else None
    r["syscalls_per_mb"] = calls / (gb * 1000) if gb and calls is not None else None
    return r


def workloads(peer, client, opt):
    """Yields (descriptor, thunk) for every workload of one peer and client, in order."""
    dur = opt.duration
    for size in opt.sizes:
        for acks in ("1", "all"):
            topic = f"{client}-s{size}-a{acks}"
            desc = {"workload": "produce", "size": size, "acks": acks, "topic": topic}
            if client == "nocopy-perf":
                yield desc, lambda t=topic, s=size, a=acks: from_perf_json(nocopy_perf(
                    ["produce", "-b", peer.addr, "-t", t, "-s", str(s), "-a", a, "-d", str(dur), "-p", "1",
                     "--timeout", "30000"]))
            elif client == "kafka-perf":
                # ProducerPerformance has no duration: records for `dur` seconds at the rate it
                # reached before against this peer (first time: nocopy perf's, at most 30 MB/s).
                yield desc, lambda t=topic, s=size, a=acks: producer_performance(
                    peer.addr, t, s, a, records_for(opt, peer.name, s))
            else:
                yield desc, lambda t=topic, s=size, a=acks: loadgen(
                    peer, ["-mode", "produce", "-stream", t, "-size", str(s), "-duration", str(dur)])
        topic = f"{client}-s{size}-a1"
        desc = {"workload": "consume", "size": size, "acks": None, "topic": topic}
        n = lambda t=topic: opt.produced[(peer.name, client, t)]
        if client == "nocopy-perf":
            yield desc, lambda t=topic: from_perf_json(nocopy_perf(
                ["consume", "-b", peer.addr, "-t", t, "-n", str(n(t)), "--timeout", "30000"]))
        elif client == "kafka-perf":
            yield desc, lambda t=topic: consumer_performance(peer.addr, t, n(t))
        else:
            yield desc, lambda t=topic, s=size: loadgen(peer, ["-mode", "consume", "-stream", t, "-size", str(s),
                                                              "-n", str(n(t))])
    for rate in (2000, 10000):
        topic = f"{client}-lat{rate}"
        desc = {"workload": f"latency_{rate}", "size": 100, "acks": "1", "rate": rate, "topic": topic}
        if client == "nocopy-perf":
            extra = ["-X", "max.in.flight.requests.per.connection=1"] if rate == 2000 else []
            yield desc, lambda t=topic, r=rate, e=extra: from_perf_json(nocopy_perf(
                ["produce", "-b", peer.addr, "-t", t, "-s", "100", "-a", "1", "-d", str(dur), "-p", "1", "-r",
                 str(r), "--linger-ms", "0", "--produce-batch", "1", "--timeout", "30000", *e]))
        elif client == "kafka-perf":
            # ProducerPerformance has no warm-up phase: over a few seconds its p99 is the JVM's
            # start (class loading, JIT), whichever broker it talks to. It runs longer, so that
            # the start falls beyond the percentiles that are compared.
            extra = ["max.in.flight.requests.per.connection=1"] if rate == 2000 else []
            yield desc, lambda t=topic, r=rate, e=extra: producer_performance(
                peer.addr, t, 100, "1", int(r * max(dur, opt.jvm_latency_duration)), rate=r,
                extra=["linger.ms=0", *e])
        else:
            inflight = "1" if rate == 2000 else "8"
            yield desc, lambda t=topic, r=rate, k=inflight: loadgen(
                peer, ["-mode", "latency", "-stream", t, "-size", "100", "-rate", str(r), "-duration", str(dur),
                       "-inflight", k])


def records_for(opt, peer, size):
    rate = opt.rates.get((peer, "kafka-perf", size))
    if rate is None:
        rate = min(opt.rates.get((peer, "nocopy-perf", size), 20000), 30e6 / size)
    return max(200, int(rate * opt.duration))


CLIENTS = {"kafka": ["nocopy-perf", "kafka-perf"], "nocopy": ["nocopy-perf", "kafka-perf"],
           "nats": ["loadgen"], "redis": ["loadgen"]}
PEERS = {"kafka": Kafka, "nocopy": Nocopy, "nats": Nats, "redis": Redis}


def load_sample():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per produce/latency workload")
    ap.add_argument("--jvm-latency-duration", type=float, default=30.0,
                    help="seconds per latency workload of ProducerPerformance (longer than --duration: the "
                         "JVM's start would otherwise be its p99)")
    ap.add_argument("--peers", default="kafka,nocopy,nats,redis")
    ap.add_argument("--sizes", default="100,1024,102400")
    ap.add_argument("--workloads", default="produce,consume,latency", help="kinds to run")
    ap.add_argument("--clients", default="nocopy-perf,kafka-perf,loadgen", help="clients to run")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round, 1 s, 1 KiB only")
    ap.add_argument("--data-root", default=None,
                    help="parent of every peer's data dir (one filesystem) [build/peers-data]")
    ap.add_argument("--out", default=None, help="JSON results [results/<UTC time>.json]")
    ap.add_argument("--no-fill-page-cache", dest="fill_page_cache", action="store_false",
                    help="leave free memory free before each workload (CPU-s/GB then depends on which broker "
                         "touches memory the hypervisor took back first)")
    opt = ap.parse_args()
    if opt.quick:
        opt.rounds, opt.duration, opt.sizes, opt.jvm_latency_duration = 1, 1.0, "1024", 1.0
    opt.sizes = [int(s) for s in opt.sizes.split(",")]
    peers = opt.peers.split(",")
    opt.data_root = opt.data_root or os.path.join(ROOT, "build", "peers-data")
    os.makedirs(opt.data_root, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc)
    head = git_head()  # the tree the run started from (build/nocopy is assumed built from it)
    opt.out = opt.out or os.path.join(HERE, "results", stamp.strftime("%Y%m%dT%H%M%SZ") + ".json")
    opt.rates = {}
    runs, loads = [], []
    for rnd in range(opt.rounds):
        order = peers[rnd % len(peers):] + peers[:rnd % len(peers)]
        for name in order:
            peer = PEERS[name](opt.data_root)
            log(f"round {rnd + 1}/{opt.rounds}: starting {name}")
            try:
                peer.start()
            except Exception as e:  # noqa: BLE001 - recorded, the other peers still run
                log(f"{name} did not start: {e}")
                runs.append({"round": rnd, "peer": name, "client": None, "workload": "start", "ok": False,
                             "error": str(e)})
                peer.stop()
                continue
            opt.produced = {}
            try:
                for client in [c for c in CLIENTS[name] if c in opt.clients.split(",")]:
                    for desc, thunk in workloads(peer, client, opt):
                        if desc["workload"].split("_")[0] not in opt.workloads.split(","):
                            continue
                        loads.append(load_sample())
                        rec = {"round": rnd, "peer": name, "client": client, **desc}
                        if opt.fill_page_cache:
                            rec["mem_free_mb_before"] = fill_page_cache(opt.data_root)
                        try:
                            rec.update(measured(peer, thunk), ok=True)
                        except Exception as e:  # noqa: BLE001
                            rec.update(ok=False, error=str(e)[-500:])
                        runs.append(rec)
                        if rec["ok"] and desc["workload"] == "produce":
                            opt.produced[(name, client, desc["topic"])] = rec["messages"]
                            opt.rates[(name, client, desc["size"])] = rec["msgs_per_s"]
                        log(f"  {name} {client} {desc['workload']} size={desc['size']} acks={desc['acks']}: "
                            + (f"{rec['msgs_per_s']:.0f} msgs/s {rec['mb_per_s']:.1f} MB/s p99 {rec.get('p99_us')}"
                               if rec["ok"] else "FAILED " + rec["error"]))
            finally:
                peer.stop()
    os.makedirs(os.path.dirname(opt.out), exist_ok=True)
    doc = {"date": stamp.strftime("%Y-%m-%d %H:%M UTC"),
           "command": "python3 benchmarks/peers/run.py " + " ".join(sys.argv[1:]),
           "rounds": opt.rounds, "fill_page_cache": opt.fill_page_cache, "duration_s": opt.duration,
           "jvm_latency_duration_s": opt.jvm_latency_duration,
           "host": {"nproc": os.cpu_count(), "kernel": platform.release(),
                    "loadavg_1m_min": min(loads, default=0), "loadavg_1m_max": max(loads, default=0),
                    "loadavg_1m_mean": sum(loads) / len(loads) if loads else 0},
           "versions": {"kafka": KAFKA_VERSION, "nats-server": tool_version(["nats-server", "--version"]),
                        "redis-server": tool_version(["redis-server", "--version"]),
                        "nocopy": head},
           "runs": runs}
    with open(opt.out, "w") as f:
        json.dump(doc, f, indent=1)
    log(f"wrote {opt.out}")
    failed = [r for r in runs if not r["ok"]]
    if failed:
        log(f"{len(failed)} runs failed")
    return 1 if failed else 0


def tool_version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return None


def git_head():
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
