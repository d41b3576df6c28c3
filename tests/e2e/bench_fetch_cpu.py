"""Broker fetch cost per strategy: CPU seconds (all threads, from /proc/<pid>/task/*/schedstat)
the broker spends per GiB served, and user-space bytes copied per byte served
(from /metrics). Not a ctest test: a measurement (docs/benchmarks.md).

  NOCOPY_BIN=build/nocopy NOCOPY_BENCH_MIB=128 NOCOPY_BENCH_ROUNDS=3 \
      /usr/bin/python3 tests/e2e/bench_fetch_cpu.py

For each round and each strategy (interleaved): a fresh broker with that
--fetch-strategy on the same data dir, then a raw Fetch v4 client reads the
whole topic PASSES times (1 MiB per partition fetch, 4 MiB responses)."""
import os
import socket
import statistics
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Broker, Raw, build_batch, check, create_topic_body_v0, fetch_body_v4,  # noqa: E402
                     parse_create_topics_v0, parse_produce_v3, produce_body, whole_batches)

MIB = int(os.environ.get("NOCOPY_BENCH_MIB", "128"))
ROUNDS = int(os.environ.get("NOCOPY_BENCH_ROUNDS", "3"))
PASSES = 4
STRATEGIES = ["sendfile", "splice", "mmap_write", "read_write"]


def cpu_seconds(pid):
    """CPU time of every thread of `pid` in seconds, from
    /proc/<pid>/task/*/schedstat (nanoseconds; /proc/<pid>/stat counts 10 ms
    ticks, too coarse for a pass of a few hundred ms)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass  # the thread ended between listdir and open
    return total / 1e9


def load(b):
    c = Raw(b)
    check(parse_create_topics_v0(c.call(19, 0, create_topic_body_v0("bench", 1))) == 0, "create")
    batch = build_batch([(b"k%d" % i, os.urandom(1000), [], 1) for i in range(1000)])
    total = 0
    while total < MIB << 20:
        err, _ = parse_produce_v3(c.call(0, 3, produce_body("bench", 0, batch)))
        check(err == 0, "produce %d" % err)
        total += len(batch)
    c.close()
    return total


def recv_into_all(s, view, n):
    got = 0
    while got < n:
        k = s.recv_into(view[got:], n - got)
        check(k > 0, "eof")
        got += k


def fetch_all(s):
    """Reads partition bench-0 from offset 0 to its high watermark over the
    connected socket s with raw Fetch v4 requests (4 MiB responses); returns
    the record bytes served."""
    corr = served = offset = 0
    buf = bytearray(8 << 20)
    while True:
        corr += 1
        body = struct.pack(">hhi", 1, 4, corr) + struct.pack(">h", 1) + b"b" + fetch_body_v4(
            "bench", 0, offset, 0, max_bytes=4 << 20)
        s.sendall(struct.pack(">i", len(body)) + body)
        recv_into_all(s, memoryview(buf), 4)
        (size,) = struct.unpack_from(">i", buf, 0)
        recv_into_all(s, memoryview(buf), size)
        # partition header: corr(4) throttle(4) ntopics(4) name(2+5) nparts(4) part(4) err(2) hw(8) lso(8) aborted(4) len(4)
        off = 4 + 4 + 4 + 2 + 5 + 4 + 4
        err, hw = struct.unpack_from(">hq", buf, off)
        off += 2 + 8 + 8 + 4
        (rl,) = struct.unpack_from(">i", buf, off)
        off += 4
        check(err == 0, "fetch err %d" % err)
        if rl <= 0:
            break
        _, offset = whole_batches(buf, offset, off, off + rl)
        served += rl
        if offset >= hw:
            break
    return served


def consume_all(b):
    s = socket.create_connection(("127.0.0.1", b.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    try:
        return fetch_all(s)
    finally:
        s.close()


def main():
    data = tempfile.mkdtemp(prefix="nocopy-bench-")
    with Broker(data_dir=data) as b:
        loaded = load(b)
    print("loaded %.0f MiB" % (loaded / (1 << 20)))
    results = {s: [] for s in STRATEGIES}
    copied = {s: [] for s in STRATEGIES}
    for rnd in range(ROUNDS):
        for strat in STRATEGIES:
            with Broker("--fetch-strategy", strat, data_dir=data, threads=1) as b:
                consume_all(b)  # warm the page cache
                m0 = b.metrics()
                c0 = cpu_seconds(b.proc.pid)
                served = sum(consume_all(b) for _ in range(PASSES))
                c1 = cpu_seconds(b.proc.pid)
                m1 = b.metrics()
                gib = served / (1 << 30)
                cpu = (c1 - c0) / gib
                cp = (m1["nocopy_send_bytes_copied_user_total"] - m0["nocopy_send_bytes_copied_user_total"]) / served
                results[strat].append(cpu)
                copied[strat].append(cp)
                print("round %d %-10s served %.2f GiB  broker CPU %.3f s/GiB  user-copied %.4f B/B" %
                      (rnd, strat, gib, cpu, cp))
    base = statistics.median(results["read_write"])
    print("\nstrategy    CPU s/GiB median [min..max]   vs read_write   copied B/B")
    for s in STRATEGIES:
        med = statistics.median(results[s])
        print("%-10s  %.3f [%.3f..%.3f]          %.2fx          %.4f" %
              (s, med, min(results[s]), max(results[s]), med / base if base else 0, statistics.median(copied[s])))


if __name__ == "__main__":
    main()
