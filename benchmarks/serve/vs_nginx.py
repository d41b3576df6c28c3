#!/usr/bin/python3
"""`nocopy serve` vs nginx, side by side in one run, with wrk.

For each file (4 KiB, 1 MiB, 1 GiB) and each server configuration, runs
`wrk -t2 -c4 -d<secs>s` (keep-alive) and reports requests/s, throughput and
the server's CPU seconds per GB served, from /proc/<pid>/stat (utime+stime
of the server process -- for nginx, master + its one worker) before and after.
Rounds alternate between servers; the median and min-max spread are printed.

nginx runs unprivileged from a temp config: worker_processes 1; sendfile on;
tcp_nopush on; access_log off (and a `sendfile off` instance for the copy
baseline). nocopy runs with --threads 1 --no-access-log and each --transfer.

Usage: vs_nginx.py --nocopy build/nocopy [--seconds 10] [--rounds 3]
                   [--files 4k,1m,1g] [--nocopy-transfers sendfile,read_write]
Prints a Markdown table (figures go into benchmarks/results/serve.json).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")
SIZES = {"4k": 4096, "1m": 1 << 20, "1g": 1 << 30}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLK


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(x) for x in out]


class Nginx:
    def __init__(self, root, work, sendfile=True):
        self.name = "nginx sendfile on" if sendfile else "nginx sendfile off"
        self.port = free_port()
        d = tempfile.mkdtemp(prefix="nginx-", dir=work)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
master_process on;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile %(sf)s;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  client_body_temp_path %(d)s/body;
  proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fcgi;
  uwsgi_temp_path %(d)s/uwsgi;
  scgi_temp_path %(d)s/scgi;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
  }
}
""" % {"d": d, "sf": "on" if sendfile else "off", "port": self.port, "root": root})
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", d], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Nocopy:
    def __init__(self, nocopy, root, transfer):
        self.name = "nocopy serve --transfer %s" % transfer
        self.port = free_port()
        self.proc = subprocess.Popen([nocopy, "serve", root, "--listen", "127.0.0.1:%d" % self.port, "--threads", "1",
                                      "--no-access-log", "--transfer", transfer], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def parse_bytes(num, unit):
    mult = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[unit]
    return float(num) * mult


def run_wrk(port, path, seconds):
    r = subprocess.run(["wrk", "-t2", "-c4", "-d%ds" % seconds, "http://127.0.0.1:%d%s" % (port, path)],
                       capture_output=True, text=True, timeout=seconds + 60)
    out = r.stdout
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", out)
    if not m:
        raise RuntimeError("wrk output not understood:\n" + out + r.stderr)
    dur = float(m.group(2)) * {"s": 1, "ms": 1e-3, "m": 60}[m.group(3)]
    errors = "Non-2xx" in out or "Socket errors" in out
    return int(m.group(1)) / dur, parse_bytes(m.group(4), m.group(5)), errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nocopy", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--files", default="4k,1m,1g")
    ap.add_argument("--nocopy-transfers", default="sendfile,read_write")
    ap.add_argument("--no-nginx-sendfile-off", action="store_true")
    a = ap.parse_args()
    for tool in ["wrk", "nginx"]:
        if not shutil.which(tool):
            sys.exit("%s not installed" % tool)
    work = tempfile.mkdtemp(prefix="nocopy-vs-nginx-")
    root = os.path.join(work, "www")
    os.makedirs(root)
    os.chmod(work, 0o755)  # nginx workers run as an unprivileged user
    os.chmod(root, 0o755)
    try:
        for key in a.files.split(","):
            with open(os.path.join(root, key + ".bin"), "wb") as f:
                chunk = os.urandom(1 << 20)
                left = SIZES[key]
                while left:
                    n = min(left, len(chunk))
                    f.write(chunk[:n])
                    left -= n
        # Warm the page cache so every server reads from memory.
        for key in a.files.split(","):
            with open(os.path.join(root, key + ".bin"), "rb") as f:
                while f.read(1 << 24):
                    pass
        makers = [lambda: Nginx(root, work, True)]
        if not a.no_nginx_sendfile_off:
            makers.append(lambda: Nginx(root, work, False))
        for t in a.nocopy_transfers.split(","):
            makers.append(lambda t=t: Nocopy(os.path.abspath(a.nocopy), root, t))
        results = {}  # (file, name) -> list of (rps, GB/s, cpu s/GB)
        for key in a.files.split(","):
            for rnd in range(a.rounds):
                for mk in makers:
                    srv = mk()
                    try:
                        run_wrk(srv.port, "/%s.bin" % key, 1)  # warm-up
                        pids = srv.pids()
                        c0 = cpu_seconds(pids)
                        rps, nbytes, errors = run_wrk(srv.port, "/%s.bin" % key, a.seconds)
                        c1 = cpu_seconds(pids)
                    finally:
                        srv.stop()
                    gb = nbytes / 1e9
                    cpu_per_gb = (c1 - c0) / gb if gb > 0 else float("nan")
                    results.setdefault((key, srv.name), []).append((rps, gb / a.seconds, cpu_per_gb, errors))
                    print("%-4s round %d %-32s %10.0f req/s %7.2f GB/s %7.3f CPU s/GB%s" %
                          (key, rnd + 1, srv.name, rps, gb / a.seconds, cpu_per_gb, " ERRORS" if errors else ""),
                          file=sys.stderr, flush=True)
        print("| file | server | req/s median (min-max) | GB/s | server CPU s/GB median (min-max) |")
        print("|---|---|---|---|---|")
        for (key, name), rs in results.items():
            rps = [r[0] for r in rs]
            gbs = [r[1] for r in rs]
            cpu = [r[2] for r in rs]
            print("| %s | %s | %.0f (%.0f-%.0f) | %.2f | %.3f (%.3f-%.3f) |%s" %
                  (key, name, statistics.median(rps), min(rps), max(rps), statistics.median(gbs),
                   statistics.median(cpu), min(cpu), max(cpu), " errors!" if any(r[3] for r in rs) else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
