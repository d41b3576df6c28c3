"""Broker resident memory with many partitions and idle clients (the memory
target: RSS <= 100 MB with 1,000 partitions and idle clients, independent of
data size). Not a ctest test: a measurement (docs/benchmarks.md).

  NOCOPY_BIN=build/nocopy /usr/bin/python3 benchmarks/broker/rss_partitions.py \
      [--partitions 1000] [--clients 1000] [--mib 64,512]

Starts a broker (fresh data dir, loopback, free port), creates one topic with
--partitions partitions, opens --clients idle connections (each completes one
ApiVersions exchange and then stays silent), then produces data spread over
every partition in steps (--mib, cumulative) and prints the broker's VmRSS,
RssAnon and RssFile, its thread count and open descriptors after each step.
RSS that stays flat while the data grows is the page cache doing the
caching. The `disk MB` column is the data directory's allocated blocks
(st_blocks, what `du` counts: preallocation included, sparse holes not), and
the create step's wall time is printed with it. `maps` counts the broker's
memory mappings (/proc/PID/maps; vm.max_map_count bounds them, 65,530 by
default), `.log maps` those of segment files. --fetch adds a last step that
reads once from every partition."""
import argparse
import json
import shutil
import os
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from harness import (Broker, Raw, build_batch, check, create_topic_body_v0, fetch_body_v4,  # noqa: E402
                     parse_create_topics_v0, parse_fetch_v4, parse_produce_v3, produce_body)


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/maps" % pid) as f:
        lines = f.read().splitlines()
    out["maps"] = len(lines)
    out["log_maps"] = sum(1 for line in lines if line.endswith(".log"))
    return out


def disk_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total / 1e6


def idle_clients(b, n):
    conns = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", b.port))
        body = struct.pack(">hhih", 18, 0, i, 4) + b"idle"
        s.sendall(struct.pack(">i", len(body)) + body)
        conns.append(s)
    for s in conns:
        (size,) = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))
        check(len(s.recv(size, socket.MSG_WAITALL)) == size, "ApiVersions answer")
    return conns


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--mib", default="64,512", help="cumulative MiB produced before each sample")
    ap.add_argument("--fetch", action="store_true", help="finally fetch from offset 0 of every partition once")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    data = tempfile.mkdtemp(prefix="nocopy-rss-")
    with Broker(data_dir=data) as b:
        rows.append(dict(step="started", mib=0, disk=disk_mb(data), **status(b.proc.pid)))
        c = Raw(b, timeout=600)
        t0 = time.monotonic()
        check(parse_create_topics_v0(c.call(19, 0, create_topic_body_v0("rss", a.partitions))) == 0, "create")
        create_s = time.monotonic() - t0
        rows.append(dict(step="%d partitions" % a.partitions, mib=0, disk=disk_mb(data), create_s=create_s,
                         **status(b.proc.pid)))
        conns = idle_clients(b, a.clients)
        rows.append(dict(step="+%d idle clients" % a.clients, mib=0, disk=disk_mb(data), **status(b.proc.pid)))
        batch = build_batch([(b"k%d" % i, os.urandom(1000), [], 1) for i in range(256)])
        produced = 0
        part = 0
        for target in [int(x) for x in a.mib.split(",")]:
            while produced < target << 20:
                err, _ = parse_produce_v3(c.call(0, 3, produce_body("rss", part, batch)))
                check(err == 0, "produce error %d" % err)
                produced += len(batch)
                part = (part + 1) % a.partitions
            rows.append(dict(step="after %d MiB produced" % target, mib=produced >> 20, disk=disk_mb(data),
                             **status(b.proc.pid)))
        if a.fetch:
            for p in range(a.partitions):
                err, _, _ = parse_fetch_v4(c.call(1, 4, fetch_body_v4("rss", p, 0, 0, max_bytes=1 << 16)))
                check(err == 0, "fetch from partition %d: error %d" % (p, err))
            rows.append(dict(step="+1 fetch per partition", mib=produced >> 20, disk=disk_mb(data),
                             **status(b.proc.pid)))
        for s in conns:
            s.close()
        c.close()
    shutil.rmtree(data, ignore_errors=True)
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print("%-24s %8s %10s %10s %10s %8s %6s %9s %6s %9s" % ("step", "MiB", "VmRSS MB", "anon MB", "file MB",
                                                             "threads", "fds", "disk MB", "maps", ".log maps"))
    for r in rows:
        print("%-24s %8d %10.1f %10.1f %10.1f %8d %6d %9.1f %6d %9d" % (
            r["step"], r["mib"], r["VmRSS"] / 1024, r["RssAnon"] / 1024, r["RssFile"] / 1024, r["Threads"], r["fds"],
            r["disk"], r["maps"], r["log_maps"]))
        if "create_s" in r:
            print("%-24s %.2f s" % ("  (CreateTopics took)", r["create_s"]))


if __name__ == "__main__":
    main()
