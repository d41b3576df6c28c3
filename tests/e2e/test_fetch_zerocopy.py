"""Fetch strategies: large consumes through a broker using the
zero-copy fetch strategies (`--fetch-strategy msg_zerocopy` and
`uring_send_zc`) deliver every byte, with two kcat consumers at once.

The EPOLLERR that MSG_ZEROCOPY completions raise (the socket's error queue)
is not a connection failure: the connection must stay open after the first
fetch response (a broker that closed it stopped kcat -e after ~1 MB, "all
broker connections are down", and stalled a normal consumer reconnecting).
Also checked: the broker is idle (no busy loop reaping completions) once the
consumers are done, and closes their connections.

Env: NOCOPY_E2E_ZC_MB (default 96) megabytes of messages, split over two
partitions.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

TOTAL_MB = int(os.environ.get("NOCOPY_E2E_ZC_MB", "96"))
LINE = 1000  # bytes per message value incl. the newline kcat splits on
PARTS = 2
TOPIC = "zc"


def make_input(path, part, count):
    """count lines of LINE bytes: "<part>:<index>:" + hex filler that shifts per line."""
    filler = hashlib.sha256(b"seed-%d" % part).hexdigest().encode() * 40
    h = hashlib.sha256()
    with open(path, "wb") as f:
        chunk = []
        for i in range(count):
            head = b"%d:%08d:" % (part, i)
            k = (i * 7) % 1000
            line = head + filler[k:k + LINE - 1 - len(head)] + b"\n"
            chunk.append(line)
            if len(chunk) == 4096:
                data = b"".join(chunk)
                f.write(data)
                h.update(data)
                chunk = []
        data = b"".join(chunk)
        f.write(data)
        h.update(data)
    return h.hexdigest()


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def consume_all(b, count, digests, work, tag):
    procs = []
    for p in range(PARTS):
        out = open(os.path.join(work, "%s-%d.out" % (tag, p)), "wb")
        err = open(os.path.join(work, "%s-%d.err" % (tag, p)), "wb")
        procs.append((p, out, err, subprocess.Popen(
            ["kcat", "-C", "-b", b.addr, "-t", TOPIC, "-p", str(p), "-o", "beginning", "-e", "-q",
             "-f", "%s\n", "-X", "fetch.wait.max.ms=100"], stdout=out, stderr=err)))
    t0 = time.monotonic()
    for p, out, err, proc in procs:
        try:
            rc = proc.wait(timeout=max(1, 120 - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = "timeout"
        out.close()
        err.close()
        path = os.path.join(work, "%s-%d.out" % (tag, p))
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        errtext = open(os.path.join(work, "%s-%d.err" % (tag, p)), "rb").read().decode(errors="replace")[-2000:]
        check(rc == 0, "%s: kcat partition %d exited %s after %d of %d bytes: %s" %
              (tag, p, rc, size, count * LINE, errtext))
        check(size == count * LINE and got == digests[p],
              "%s: partition %d: %d of %d bytes, digest %s" % (tag, p, size, count * LINE,
                                                              "ok" if got == digests[p] else "MISMATCH"))
    return time.monotonic() - t0


def main():
    count = TOTAL_MB * (1 << 20) // LINE // PARTS
    work = tempfile.mkdtemp(prefix="nocopy-e2e-zc-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    try:
        digests = []
        for p in range(PARTS):
            digests.append(make_input(os.path.join(work, "in-%d" % p), p, count))
        with Broker("--default-partitions", str(PARTS), data_dir=data) as b:
            for p in range(PARTS):
                r = subprocess.run(["kcat", "-P", "-b", b.addr, "-t", TOPIC, "-p", str(p), "-l",
                                    os.path.join(work, "in-%d" % p)], capture_output=True, timeout=180)
                check(r.returncode == 0, "kcat produce partition %d: %s" % (p, r.stderr.decode()[-2000:]))
        print("produced %d x %d-byte messages to %d partitions" % (count, LINE, PARTS), flush=True)

        for strategy in ("msg_zerocopy", "uring_send_zc"):
            with Broker("--fetch-strategy", strategy, "--default-partitions", str(PARTS), data_dir=data) as b:
                secs = consume_all(b, count, digests, work, strategy)
                m = b.metrics()
                served = m.get('nocopy_fetch_bytes_total{strategy="%s"}' % strategy, 0)
                check(served >= PARTS * count * LINE,
                      "%s: fetch bytes metric %d < %d" % (strategy, served, PARTS * count * LINE))
                # kcat is gone: its connections close (after their completions).
                deadline = time.monotonic() + 10
                while b.metrics().get("nocopy_connections_active", -1) != 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                check(b.metrics().get("nocopy_connections_active", -1) == 0,
                      "%s: connections still open after the consumers exited" % strategy)
                # Idle: completions are reaped when they arrive, not by polling.
                t0 = cpu_ticks(b.proc.pid)
                time.sleep(1.0)
                idle = cpu_ticks(b.proc.pid) - t0
                check(idle <= 10, "%s: broker used %d CPU ticks in 1 s while idle" % (strategy, idle))
                log = b.log()
                check(not re.search(r"zero-copy sends outstanding|never completed", log),
                      "%s: broker log reports lost completions" % strategy)
                print("%s: %d MB consumed by %d kcat in %.2f s, every byte checked; idle CPU %d ticks/s" %
                      (strategy, PARTS * count * LINE >> 20, PARTS, secs, idle), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("OK")


if __name__ == "__main__":
    main()
