"""Bad input never crashes the broker and loses nothing
already stored; after each case other clients keep producing and consuming.

Cases: a 2 GiB length prefix, a truncated request, an unknown API key, an
unsupported version, garbage bytes, a bad CRC (CORRUPT_MESSAGE), an oversized
batch (MESSAGE_TOO_LARGE), a produce to a missing topic with auto-create off
(UNKNOWN_TOPIC_OR_PARTITION), illegal topic names (INVALID_TOPIC_EXCEPTION,
nothing created outside the data dir), 10,000 connections opened and dropped,
and a client that never reads its responses (broker RSS stays bounded)."""
import os
import random
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Broker, Raw, build_batch, check, create_topic_body_v0, fetch_body_v4, kstr,  # noqa: E402
                     parse_create_topics_v0, parse_fetch_v4, parse_produce_v3, produce_body)

CONNS = int(os.environ.get("NOCOPY_E2E_CONNECTIONS", "10000"))


class Health:
    """A control client: produces one message and reads everything back."""

    def __init__(self, b):
        self.b = b
        self.n = 0
        c = Raw(b)
        check(parse_create_topics_v0(c.call(19, 0, create_topic_body_v0("health", 1))) == 0, "create health")
        c.close()

    def ok(self, case):
        check(self.b.alive(), "broker died after: " + case)
        c = Raw(self.b)
        batch = build_batch([(b"h", b"health-%d" % self.n, [], int(time.time() * 1000))])
        err, base = parse_produce_v3(c.call(0, 3, produce_body("health", 0, batch)))
        check(err == 0 and base == self.n, "after %s: produce err %d base %d (want %d)" % (case, err, base, self.n))
        self.n += 1
        # kcat reads every message stored so far.
        out = subprocess.run(["kcat", "-C", "-b", self.b.addr, "-t", "health", "-p", "0", "-o", "beginning", "-e",
                              "-q", "-f", "%s\n"], check=True, capture_output=True, timeout=60).stdout.decode()
        want = ["health-%d" % i for i in range(self.n)]
        check(out.split() == want, "after %s: consumed %r" % (case, out.split()[-3:]))
        c.close()
        print("ok after: " + case)


def expect_closed(b, payload, case):
    s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    s.sendall(payload)
    s.settimeout(10)
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError(case + ": connection not closed by the broker")
    s.close()


def main():
    with Broker("--max-message-bytes", "100000", "--auto-create-topics", "true") as b:
        h = Health(b)
        h.ok("start")

        expect_closed(b, struct.pack(">i", 0x7fffffff) + b"\x00" * 64, "2 GiB length prefix")
        h.ok("2 GiB length prefix")
        expect_closed(b, struct.pack(">i", -5) + b"\x00" * 8, "negative length prefix")
        h.ok("negative length prefix")

        # Truncated: the prefix promises 100 bytes, 20 arrive, then EOF.
        s = socket.create_connection(("127.0.0.1", b.port))
        s.sendall(struct.pack(">i", 100) + b"\x00\x03\x00\x01" + b"\x00" * 16)
        s.close()
        # Truncated inside a complete frame: Produce whose body stops mid-field.
        body = struct.pack(">hhi", 0, 7, 1) + kstr("x") + b"\xff\xff\x00\x01"
        expect_closed(b, struct.pack(">i", len(body)) + body, "truncated body")
        h.ok("truncated requests")

        body = struct.pack(">hhi", 999, 0, 1) + kstr("x")
        expect_closed(b, struct.pack(">i", len(body)) + body, "unknown API key")
        h.ok("unknown API key")

        body = struct.pack(">hhi", 3, 99, 1) + kstr("x") + struct.pack(">i", 0)
        expect_closed(b, struct.pack(">i", len(body)) + body, "Metadata v99")
        c = Raw(b)
        resp = c.call(18, 99, b"")
        (err,) = struct.unpack_from(">h", resp, 0)
        check(err == 35, "ApiVersions v99: error %d, want 35 (UNSUPPORTED_VERSION)" % err)
        c.close()
        h.ok("unsupported versions")

        rnd = random.Random(5)
        for i in range(20):
            junk = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 4096)))
            s = socket.create_connection(("127.0.0.1", b.port))
            s.sendall(junk)
            s.close()
        h.ok("garbage bytes")

        c = Raw(b)
        batch = bytearray(build_batch([(b"k", b"v" * 100, [], int(time.time() * 1000))]))
        batch[-5] ^= 0xFF
        err, _ = parse_produce_v3(c.call(0, 3, produce_body("health", 0, bytes(batch))))
        check(err == 2, "bad CRC: error %d, want 2 (CORRUPT_MESSAGE)" % err)
        h.ok("bad CRC")

        big = build_batch([(b"k", os.urandom(200_000), [], int(time.time() * 1000))])
        err, _ = parse_produce_v3(c.call(0, 3, produce_body("health", 0, big)))
        check(err == 10, "oversized batch: error %d, want 10 (MESSAGE_TOO_LARGE)" % err)
        c.close()
        h.ok("oversized batch")

        # Illegal topic names.
        before = set(os.listdir(os.path.dirname(os.path.abspath(b.data_dir))))
        inside_before = set(os.listdir(b.data_dir))
        c = Raw(b)
        for name in ["../x", "a/b", "t" * 250, "", ".", ".."]:
            err = parse_create_topics_v0(c.call(19, 0, create_topic_body_v0(name, 1)))
            check(err == 17, "CreateTopics %r: error %d, want 17" % (name[:20], err))
            batch = build_batch([(b"k", b"v", [], 0)])
            err, _ = parse_produce_v3(c.call(0, 3, produce_body(name, 0, batch)))
            check(err in (3, 17), "Produce to %r: error %d" % (name[:20], err))
            # Metadata v4 with auto-creation allowed.
            resp = c.call(3, 4, struct.pack(">i", 1) + kstr(name) + b"\x01")
            check(struct.pack(">h", 17) + kstr(name) in resp, "Metadata %r: no INVALID_TOPIC_EXCEPTION" % name[:20])
        c.close()
        after = set(os.listdir(os.path.dirname(os.path.abspath(b.data_dir))))
        check(after == before, "files appeared outside the data dir: %s" % (after - before))
        new_inside = set(os.listdir(b.data_dir)) - inside_before
        check(not new_inside, "illegal names created %s" % new_inside)
        check(not os.path.exists("/x") and not os.path.exists(os.path.join(b.data_dir, "a")), "a/b or ../x created")
        h.ok("illegal topic names")

        # 10,000 connections opened and dropped (some after a partial request).
        fd_dir = "/proc/%d/fd" % b.proc.pid
        fds_before = len(os.listdir(fd_dir))
        t0 = time.time()
        open_socks = []
        for i in range(CONNS):
            s = socket.socket()
            s.connect(("127.0.0.1", b.port))
            if i % 3 == 0:
                s.sendall(struct.pack(">i", 50) + b"\x00\x12")
            open_socks.append(s)
            if len(open_socks) >= 200:
                for x in open_socks:
                    x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    x.close()
                open_socks = []
        for x in open_socks:
            x.close()
        deadline = time.time() + 20
        while time.time() < deadline and len(os.listdir(fd_dir)) > fds_before + 5:
            time.sleep(0.1)
        fds_after = len(os.listdir(fd_dir))
        check(fds_after <= fds_before + 5, "fds leaked: %d before, %d after" % (fds_before, fds_after))
        print("%d connections in %.1fs; broker fds %d -> %d" % (CONNS, time.time() - t0, fds_before, fds_after))
        h.ok("10,000 connections")

        # A client that never reads: 4 MiB in the log, then thousands of
        # pipelined 1 MiB fetches with a tiny receive buffer, never read.
        c = Raw(b)
        check(parse_create_topics_v0(c.call(19, 0, create_topic_body_v0("big", 1))) == 0, "create big")
        for i in range(64):
            batch = build_batch([(b"k", os.urandom(60_000), [], int(time.time() * 1000))])
            err, _ = parse_produce_v3(c.call(0, 3, produce_body("big", 0, batch)))
            check(err == 0, "produce big: %d" % err)
        c.close()
        rss0 = b.rss_kib()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", b.port))
        s.setblocking(False)
        req = b""
        for i in range(3000):
            body = struct.pack(">hhi", 1, 4, i) + kstr("slow") + fetch_body_v4("big", 0, 0, 0, max_bytes=1 << 20)
            req += struct.pack(">i", len(body)) + body
        sent = 0
        t_end = time.time() + 5
        while sent < len(req) and time.time() < t_end:
            try:
                sent += s.send(req[sent:])
            except BlockingIOError:
                time.sleep(0.01)
        time.sleep(1)
        rss1 = b.rss_kib()
        print("non-reading client: %d of %d request bytes accepted; broker RSS %d -> %d KiB" %
              (sent, len(req), rss0, rss1))
        check(rss1 - rss0 < 64 * 1024, "broker RSS grew by %d KiB" % (rss1 - rss0))
        h.ok("client that never reads (still connected)")
        s.close()
        h.ok("client that never reads (closed)")

    # auto-create off: UNKNOWN_TOPIC_OR_PARTITION, and nothing is created.
    with Broker("--auto-create-topics", "false") as b:
        c = Raw(b)
        batch = build_batch([(b"k", b"v", [], 0)])
        err, _ = parse_produce_v3(c.call(0, 3, produce_body("missing", 0, batch)))
        check(err == 3, "produce to missing topic: error %d, want 3" % err)
        resp = c.call(3, 4, struct.pack(">i", 1) + kstr("missing") + b"\x01")
        check(struct.pack(">h", 3) + kstr("missing") in resp, "Metadata for missing topic: no error 3")
        check(not os.path.exists(os.path.join(b.data_dir, "missing-0")), "topic auto-created despite the flag")
        err, _, _ = parse_fetch_v4(c.call(1, 4, fetch_body_v4("missing", 0, 0, 0)))
        check(err == 3, "fetch from missing topic: error %d" % err)
        c.close()
        h = Health(b)
        h.ok("auto-create off")
    print("OK")


if __name__ == "__main__":
    main()
