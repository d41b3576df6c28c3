"""Consume over TLS vs plaintext: throughput and broker CPU per GiB served
(all threads, /proc/<pid>/task/*/schedstat) and user-space bytes copied per
byte served (/metrics). Not a ctest test: a measurement.

  NOCOPY_BIN=build/nocopy NOCOPY_BENCH_MIB=128 NOCOPY_BENCH_ROUNDS=3 \\
      /usr/bin/python3 tests/e2e/bench_tls_fetch.py

One broker (--fetch-strategy sendfile, one reactor thread) with a PLAINTEXT
and an SSL listener on the same data; each round reads the whole topic
PASSES times over each listener with a raw Fetch v4 client (4 MiB
responses), interleaved. The client's own decryption runs in this process,
so the wall-clock throughput over TLS includes it; the broker CPU figure
does not."""
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, free_port  # noqa: E402
from bench_fetch_cpu import cpu_seconds, fetch_all, load  # noqa: E402
import security_util as su  # noqa: E402

MIB = int(os.environ.get("NOCOPY_BENCH_MIB", "128"))
ROUNDS = int(os.environ.get("NOCOPY_BENCH_ROUNDS", "3"))
PASSES = 2


def measure(b, port, ctx):
    s = su.Conn(port, ctx).s
    s.settimeout(60)
    fetch_all(s)  # warm the page cache and the session
    m0, c0, t0 = b.metrics(), cpu_seconds(b.proc.pid), time.time()
    served = sum(fetch_all(s) for _ in range(PASSES))
    m1, c1, t1 = b.metrics(), cpu_seconds(b.proc.pid), time.time()
    s.close()
    gib = served / (1 << 30)
    copied = m1["nocopy_send_bytes_copied_user_total"] - m0["nocopy_send_bytes_copied_user_total"]
    return (c1 - c0) / gib, gib * 1024 / (t1 - t0), copied / served


def main():
    d = tempfile.mkdtemp(prefix="nocopy-tlsbench-")
    su.make_ca(d)
    cert, key = su.make_cert(d, "server", "localhost")
    ctx = su.client_context(os.path.join(d, "ca.pem"))
    tls_port = free_port()
    b = Broker("--ssl-cert", cert, "--ssl-key", key, threads=1)
    b.port = free_port()
    b.extra += ["--listeners", "PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d" % (b.port, tls_port)]
    results = {"plaintext": [], "tls": []}
    with b:
        print("loaded %.0f MiB" % (load(b) / (1 << 20)))
        for rnd in range(ROUNDS):
            for name, port, c in (("plaintext", b.port, None), ("tls", tls_port, ctx)):
                cpu, mibs, cp = measure(b, port, c)
                results[name].append((cpu, mibs, cp))
                print("round %d %-9s broker CPU %.3f s/GiB  %.0f MiB/s  user-copied %.3f B/B" % (rnd, name, cpu, mibs, cp))
    print("\nlistener   CPU s/GiB median   MiB/s median   copied B/B")
    for name, rows in results.items():
        print("%-9s  %.3f              %.0f            %.3f" % (name, statistics.median(r[0] for r in rows),
                                                               statistics.median(r[1] for r in rows),
                                                               statistics.median(r[2] for r in rows)))
    shutil.rmtree(b.data_dir, ignore_errors=True)
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
