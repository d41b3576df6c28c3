#!/usr/bin/python3
"""End-to-end tests of `nocopy serve` with real clients: curl, http.client, wrk.

Starts the real binary on 127.0.0.1 with a port chosen by the kernel
(--listen 127.0.0.1:0 --port-file), runs every check, kills the server by PID.
Usage: e2e_serve.py --nocopy build/nocopy [--only NAME]
"""
import argparse
import hashlib
import http.client
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

GiB = 1 << 30
MiB = 1 << 20
BIG_SIZE = 4 * GiB + 4097  # > 4 GiB, sparse
BIG_TAIL = b"".join(bytes([i % 251]) for i in range(8192))  # written at the very end


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Server:
    def __init__(self, nocopy, root, *extra):
        self.root = root
        self.port_file = os.path.join(root, "..", "port")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log_path = os.path.join(root, "..", "access.log")
        self.stderr = open(os.path.join(root, "..", "server.stderr"), "wb")
        self.proc = subprocess.Popen(
            [nocopy, "serve", root, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
             "--threads", "2", "--header-timeout", "2", "--access-log", self.log_path, *extra],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early: %d" % self.proc.returncode)
            if os.path.exists(self.port_file):
                self.port = int(open(self.port_file).read())
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("server did not report its port")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def stop(self, timeout=10):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def raw(port, data, timeout=5.0, read_all=True):
    """Sends raw bytes, returns (response bytes, closed_by_server)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
            if not read_all and b"\r\n\r\n" in out:
                return out, False
    finally:
        s.close()


def status_of(resp):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", resp)
    return int(m.group(1)) if m else None


class Suite:
    def __init__(self, nocopy, work):
        self.nocopy = nocopy
        self.work = work
        self.root = os.path.join(work, "root")
        os.makedirs(os.path.join(self.root, "sub"))
        rnd = random.Random(7)
        self.files = {
            "empty.bin": b"",
            "one.bin": b"x",
            "mib1.bin": bytes(rnd.getrandbits(8) for _ in range(16)) * (MiB // 16) + b"Z",
            "small.txt": b"hello, nocopy\n" * 300,
        }
        for name, data in self.files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(data)
        with open(os.path.join(self.root, "sub", "index.html"), "wb") as f:
            f.write(b"<h1>sub</h1>")
        with open(os.path.join(self.root, "huge.bin"), "wb") as f:
            f.truncate(BIG_SIZE)
            f.seek(BIG_SIZE - len(BIG_TAIL))
            f.write(BIG_TAIL)
        with open(os.path.join(work, "secret.txt"), "wb") as f:
            f.write(b"TOP-SECRET")
        os.symlink(os.path.join(work, "secret.txt"), os.path.join(self.root, "escape"))
        os.symlink("/etc", os.path.join(self.root, "etc-link"))
        self.server = None
        self.failures = []

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("  FAIL:", what, flush=True)

    # --- tests --------------------------------------------------------------

    def test_curl_whole_files_keepalive(self):
        names = ["empty.bin", "one.bin", "mib1.bin", "small.txt"]
        outs = [os.path.join(self.work, "curl-" + n) for n in names]
        args = ["curl", "-sS", "--fail", "-w", "%{num_connects}\\n"]
        for n, o in zip(names, outs):
            args += [self.server.url("/" + n), "-o", o]
        r = subprocess.run(args, capture_output=True, timeout=60)
        self.check(r.returncode == 0, "curl exit %d %s" % (r.returncode, r.stderr))
        connects = [int(x) for x in r.stdout.split()]
        self.check(sum(connects) == 1, "curl reused one keep-alive connection (connects=%s)" % connects)
        for n, o in zip(names, outs):
            self.check(open(o, "rb").read() == self.files[n], "curl body of %s" % n)

    def test_httpclient_whole_and_ranges(self):
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        rnd = random.Random(1)
        for n, data in self.files.items():
            c.request("GET", "/" + n)
            r = c.getresponse()
            body = r.read()
            self.check(r.status == 200 and body == data, "GET %s" % n)
            self.check(r.getheader("Content-Length") == str(len(data)), "Content-Length %s" % n)
            for _ in range(5):
                if not data:
                    break
                a = rnd.randrange(len(data))
                b = rnd.randrange(a, len(data))
                c.request("GET", "/" + n, headers={"Range": "bytes=%d-%d" % (a, b)})
                r = c.getresponse()
                body = r.read()
                self.check(r.status == 206 and body == data[a:b + 1], "range %d-%d of %s" % (a, b, n))
                self.check(r.getheader("Content-Range") == "bytes %d-%d/%d" % (a, b, len(data)),
                           "Content-Range of %s" % n)
            c.request("GET", "/" + n, headers={"Range": "bytes=%d-" % (len(data) + 5)})
            r = c.getresponse()
            r.read()
            self.check(r.status == 416, "416 for %s (got %d)" % (n, r.status))
        c.request("GET", "/mib1.bin", headers={"Range": "bytes=-1"})
        r = c.getresponse()
        self.check(r.read() == b"Z" and r.status == 206, "suffix range")
        c.close()

    def test_huge_sparse_file(self):
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        c.request("HEAD", "/huge.bin")
        r = c.getresponse()
        r.read()
        self.check(r.status == 200 and r.getheader("Content-Length") == str(BIG_SIZE), "HEAD huge Content-Length")
        start = BIG_SIZE - len(BIG_TAIL)
        c.request("GET", "/huge.bin", headers={"Range": "bytes=%d-" % start})
        r = c.getresponse()
        self.check(r.status == 206 and r.read() == BIG_TAIL, "range at the end of a >4 GiB file")
        # A range straddling the 4 GiB boundary (sparse zeros, then the tail).
        tail_start = BIG_SIZE - len(BIG_TAIL)
        a, b = 4 * GiB - 5000, 4 * GiB + 99
        want = bytes(BIG_TAIL[o - tail_start] if o >= tail_start else 0 for o in range(a, b + 1))
        c.request("GET", "/huge.bin", headers={"Range": "bytes=%d-%d" % (a, b)})
        r = c.getresponse()
        self.check(r.status == 206 and r.read() == want, "range across 4 GiB")
        # Same connection still good afterwards.
        c.request("GET", "/one.bin")
        self.check(c.getresponse().read() == b"x", "keep-alive after huge ranges")
        c.close()
        # Full transfer of the >4 GiB file with curl (counted, not stored):
        # seconds on an idle machine, far more on a loaded 2-core CI box, so opt-in.
        if os.environ.get("NOCOPY_E2E_FULL_HUGE") != "1":
            print("  (full >4 GiB transfer skipped; NOCOPY_E2E_FULL_HUGE=1 runs it)", flush=True)
            return
        t0 = time.time()
        r = subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}",
                            self.server.url("/huge.bin")], capture_output=True, timeout=120)
        self.check(r.returncode == 0 and int(float(r.stdout)) == BIG_SIZE,
                   "full >4 GiB transfer with curl: %s bytes" % r.stdout)
        print("  full %.1f GiB transfer with curl in %.1fs" % (BIG_SIZE / GiB, time.time() - t0), flush=True)

    def test_conditional(self):
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        c.request("GET", "/small.txt")
        r = c.getresponse()
        r.read()
        etag, lm = r.getheader("ETag"), r.getheader("Last-Modified")
        self.check(r.getheader("Content-Type", "").startswith("text/plain"), "Content-Type text/plain")
        c.request("GET", "/small.txt", headers={"If-None-Match": etag})
        r = c.getresponse()
        self.check(r.status == 304 and r.read() == b"", "If-None-Match -> 304")
        c.request("GET", "/small.txt", headers={"If-Modified-Since": lm})
        r = c.getresponse()
        self.check(r.status == 304 and r.read() == b"", "If-Modified-Since -> 304")
        c.request("GET", "/small.txt", headers={"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"})
        r = c.getresponse()
        self.check(r.status == 200 and r.read() == self.files["small.txt"], "old If-Modified-Since -> 200")
        c.request("GET", "/sub/")
        r = c.getresponse()
        self.check(r.status == 200 and r.read() == b"<h1>sub</h1>", "index.html")
        c.request("GET", "/")
        r = c.getresponse()
        r.read()
        self.check(r.status == 403, "directory without index, no --list -> 403")
        c.close()

    def test_security(self):
        port = self.server.port
        for target in [b"/../secret.txt", b"/%2e%2e/secret.txt", b"/%2E%2E%2Fsecret.txt", b"/sub/../../secret.txt",
                       b"/..%2fsecret.txt", b"http://127.0.0.1/../secret.txt", b"/escape", b"/etc-link/passwd",
                       b"//etc/passwd", b"/etc/passwd", b"/sub/%2e%2e/%2e%2e/secret.txt"]:
            resp, _ = raw(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n", read_all=False)
            st = status_of(resp)
            self.check(st in (400, 403, 404), "%s -> %s" % (target, st))
            self.check(b"TOP-SECRET" not in resp and b"root:" not in resp, "%s leaked" % target)
        r = subprocess.run(["curl", "-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}",
                            self.server.url("/../secret.txt")], capture_output=True, timeout=10)
        self.check(r.stdout in (b"403", b"404"), "curl --path-as-is /../ -> %s" % r.stdout)
        resp, _ = raw(port, b"GET /one.bin\x00../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        self.check(status_of(resp) == 400, "raw NUL in target -> 400")
        resp, _ = raw(port, b"GET /one.bin%00.txt HTTP/1.1\r\nHost: x\r\n\r\n", read_all=False)
        self.check(status_of(resp) == 400, "%00 in target -> 400")
        resp, _ = raw(port, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.check(status_of(resp) == 414, "long request line -> 414 (%s)" % status_of(resp))
        resp, _ = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n")
        self.check(status_of(resp) == 431, "big header block -> 431 (%s)" % status_of(resp))
        for m in [b"POST", b"DELETE", b"PUT", b"OPTIONS"]:
            resp, _ = raw(port, m + b" /one.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", read_all=False)
            self.check(status_of(resp) == 405 and b"Allow: GET, HEAD" in resp, "%s -> 405" % m)
        resp, closed = raw(port, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n")
        self.check(status_of(resp) == 400 and closed, "garbage -> 400 + close")

    def test_slowloris(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        t0 = time.time()
        closed_at = None
        req = b"GET /one.bin HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
        for i in range(len(req)):
            try:
                s.sendall(req[i:i + 1])
                s.settimeout(0.5)  # one byte every half second (faster than 1/s: stricter)
                chunk = s.recv(100)
                if chunk == b"":
                    closed_at = time.time()
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.time()
                break
            if time.time() - t0 > 8:
                break
        s.close()
        self.check(closed_at is not None and closed_at - t0 < 5, "slowloris dropped by the header timeout (%s)" %
                   (None if closed_at is None else round(closed_at - t0, 2)))

    def test_many_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
        rss0 = self.server.rss_kib()
        total = 10000
        batch = 1000
        opened = 0
        while opened < total:
            socks = []
            for i in range(batch):
                s = socket.socket()
                s.settimeout(5)
                s.connect(("127.0.0.1", self.server.port))
                if i % 3 == 0:
                    s.send(b"GET /one.bin HTTP/1.1\r\nHost: x\r\n")  # partial head, never finished
                elif i % 3 == 1:
                    s.send(b"GET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            rss_peak = self.server.rss_kib()
            for s in socks:
                s.close()
            opened += batch
        time.sleep(0.5)
        rss1 = self.server.rss_kib()
        print("  RSS before %d KiB, with 1000 open %d KiB, after 10,000 opened+dropped %d KiB" %
              (rss0, rss_peak, rss1), flush=True)
        self.check(rss1 - rss0 < 64 * 1024, "RSS growth after 10k connections bounded (%d KiB)" % (rss1 - rss0))
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        c.request("GET", "/small.txt")
        self.check(c.getresponse().read() == self.files["small.txt"], "server works after 10k connections")
        c.close()

    def test_truncated_while_sending(self):
        path = os.path.join(self.root, "shrinking.bin")
        with open(path, "wb") as f:
            f.truncate(512 * MiB)
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"GET /shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        got = len(s.recv(65536))
        os.truncate(path, MiB)
        closed = False
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                chunk = s.recv(1 << 20)
            except (ConnectionResetError, socket.timeout):
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += len(chunk)
        s.close()
        self.check(closed and got < 512 * MiB, "truncated file: connection closed after %d bytes" % got)
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        c.request("GET", "/one.bin")
        self.check(c.getresponse().read() == b"x", "server keeps serving after a truncated transfer")
        c.close()
        self.check(self.server.proc.poll() is None, "server alive")

    def test_wrk(self):
        if not shutil.which("wrk"):
            print("  (wrk not installed: skipped)")
            return
        r = subprocess.run(["wrk", "-t2", "-c8", "-d2s", self.server.url("/mib1.bin")], capture_output=True,
                           timeout=30, text=True)
        m = re.search(r"(\d+) requests in", r.stdout)
        self.check(r.returncode == 0 and m and int(m.group(1)) > 10, "wrk ran: %s" % r.stdout[-300:])
        self.check("Non-2xx" not in r.stdout and "Socket errors" not in r.stdout, "wrk saw no errors: %s" % r.stdout)

    def test_many_keepalive_requests(self):
        # One connection, many requests: whole files, ranges, pipelined pairs.
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        rnd = random.Random(5)
        names = ["mib1.bin", "small.txt", "one.bin", "empty.bin"]
        for i in range(120):
            n = names[i % len(names)]
            data = self.files[n]
            if data and i % 3 == 0:
                a = rnd.randrange(len(data))
                b = rnd.randrange(a, len(data))
                c.request("GET", "/" + n, headers={"Range": "bytes=%d-%d" % (a, b)})
                r = c.getresponse()
                ok = r.status == 206 and r.read() == data[a:b + 1]
            else:
                c.request("GET", "/" + n)
                r = c.getresponse()
                ok = r.status == 200 and r.read() == data
            if not ok:
                self.check(False, "keep-alive request %d (%s)" % (i, n))
                break
        c.close()
        # Pipelined: 8 requests written at once, 8 responses back in order.
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        s.sendall(b"".join(b"GET /mib1.bin HTTP/1.1\r\nHost: x\r\n\r\n" for _ in range(8)))
        want = len(self.files["mib1.bin"])
        got = b""
        deadline = time.time() + 30

        def bodies_of(buf):
            # Walks whole responses by their Content-Length; a partial last
            # response is left out (the headers are not part of `want`).
            out, at = [], 0
            while True:
                end = buf.find(b"\r\n\r\n", at)
                if end < 0:
                    return out
                m = re.search(rb"(?im)^content-length:\s*(\d+)", buf[at:end])
                if not m or end + 4 + int(m.group(1)) > len(buf):
                    return out
                out.append(buf[end + 4:end + 4 + int(m.group(1))])
                at = end + 4 + int(m.group(1))

        while len(bodies_of(got)) < 8 and time.time() < deadline:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        s.close()
        bodies = bodies_of(got)
        self.check(len(bodies) == 8 and all(b == self.files["mib1.bin"] for b in bodies),
                   "8 pipelined 1 MiB+1 responses intact (%d bytes)" % len(got))

    def test_access_log(self):
        # Flushed once a second: poll (a loaded machine may delay the flush).
        pat = re.compile(rb'^127\.0\.0\.1 - - \[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /one\.bin HTTP/1\.1" 200 1$')
        deadline = time.monotonic() + 10
        while True:
            time.sleep(0.3)
            lines = open(self.server.log_path, "rb").read().splitlines()
            found = any(pat.match(l) for l in lines)
            if found or time.monotonic() > deadline:
                break
        self.check(found, "common-log-format line for GET /one.bin (%d lines)" % len(lines))

    def run(self, only=None):
        self.server = Server(self.nocopy, self.root)
        try:
            for name in ["test_curl_whole_files_keepalive", "test_httpclient_whole_and_ranges", "test_conditional",
                         "test_huge_sparse_file", "test_many_keepalive_requests", "test_security", "test_slowloris",
                         "test_truncated_while_sending",
                         "test_many_connections", "test_wrk", "test_access_log"]:
                if only and only not in name:
                    continue
                print(name, flush=True)
                t0 = time.time()
                try:
                    getattr(self, name)()
                except Exception as e:  # a crash in a test is a failure, not an abort
                    self.check(False, "%s raised %r" % (name, e))
                self.check(self.server.proc.poll() is None, "server still running after " + name)
                print("  %.2fs" % (time.time() - t0), flush=True)
            rc = self.server.stop()
            self.check(rc == 0, "graceful SIGTERM exit code %s" % rc)
        finally:
            self.server.kill()
        # --list and other options on a second instance.
        srv = Server(self.nocopy, self.root, "--list", "--transfer", "splice")
        try:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("GET", "/")
            body = c.getresponse().read()
            self.check(b"mib1.bin" in body and b"sub/" in body, "--list shows the directory")
            c.request("GET", "/mib1.bin")
            self.check(c.getresponse().read() == self.files["mib1.bin"], "--transfer splice body")
        finally:
            srv.kill()
        # The zero-copy transfers: completions reaped by the reactor.
        for t in ["msg_zerocopy", "uring_send_zc"]:
            if only and only not in "zerocopy " + t:
                continue
            srv = Server(self.nocopy, self.root, "--transfer", t, "--no-access-log")
            saved, self.server = self.server, srv
            try:
                for name in ["test_curl_whole_files_keepalive", "test_httpclient_whole_and_ranges",
                             "test_many_keepalive_requests", "test_truncated_while_sending", "test_wrk"]:
                    print("%s [--transfer %s]" % (name, t), flush=True)
                    t0 = time.time()
                    try:
                        getattr(self, name)()
                    except Exception as e:
                        self.check(False, "%s [%s] raised %r" % (name, t, e))
                    self.check(srv.proc.poll() is None, "server (%s) still running after %s" % (t, name))
                    print("  %.2fs" % (time.time() - t0), flush=True)
                # Idle afterwards: completions are reaped when they arrive, no polling loop.
                ticks = lambda: sum(int(x) for x in open("/proc/%d/stat" % srv.proc.pid).read()
                                    .rsplit(")", 1)[1].split()[11:13])
                t0 = ticks()
                time.sleep(1.0)
                idle = ticks() - t0
                self.check(idle <= 10, "--transfer %s: %d CPU ticks in 1 s idle" % (t, idle))
                rc = srv.stop()
                self.check(rc == 0, "--transfer %s: graceful SIGTERM exit code %s" % (t, rc))
                err = open(os.path.join(self.root, "..", "server.stderr"), "rb").read().decode(errors="replace")
                self.check("refuse" not in err and "not supported" not in err, "--transfer %s accepted" % t)
            finally:
                self.server = saved
                srv.kill()
        for t in ["read_write", "mmap_write"]:
            srv = Server(self.nocopy, self.root, "--transfer", t, "--no-access-log")
            try:
                c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
                c.request("GET", "/mib1.bin", headers={"Range": "bytes=1000-"})
                self.check(c.getresponse().read() == self.files["mib1.bin"][1000:], "--transfer %s range" % t)
            finally:
                srv.kill()
        return not self.failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nocopy", required=True)
    ap.add_argument("--only")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nocopy-serve-e2e-")
    try:
        ok = Suite(os.path.abspath(a.nocopy), work).run(a.only)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("serve e2e:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
