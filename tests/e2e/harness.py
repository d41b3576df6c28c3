"""Shared helpers for nocopy's end-to-end tests: start the real `nocopy broker`
process on a free loopback port with a temp data dir, stop it by PID, and a
tiny raw Kafka client for the requests real clients never send (bad input,
long-poll timing).

Run with /usr/bin/python3 (Debian's python3-kafka). The binary path comes from
$NOCOPY_BIN (set by ctest) or argv[1].
"""
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time


def nocopy_bin():
    b = os.environ.get("NOCOPY_BIN") or (sys.argv[1] if len(sys.argv) > 1 else None)
    if not b or not os.path.exists(b):
        sys.exit("usage: NOCOPY_BIN=/path/to/nocopy %s" % sys.argv[0])
    return b


_handed_out = set()


def free_port():
    """A loopback port free right now and not handed out before by this
    process (the kernel may offer a just-closed port again, and two
    listeners of one broker on one port would share it through
    SO_REUSEPORT)."""
    for _ in range(100):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p not in _handed_out:
            _handed_out.add(p)
            return p
    raise RuntimeError("no fresh free port after 100 tries")



def parse_metrics(text):
    """{sample name with its labels: value} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def versions_in(metrics, into=None):
    """{api label: sorted versions} of the requests counted in `metrics`
    (nocopy_requests_by_version_total), merged into `into`."""
    import re
    out = into if into is not None else {}
    pat = r'nocopy_requests_by_version_total\{api="(\w+)",key="\d+",version="(\d+)"\}'
    for name, value in metrics.items():
        m = re.fullmatch(pat, name)
        if m and value > 0:
            out[m.group(1)] = sorted(set(out.get(m.group(1), [])) | {int(m.group(2))})
    return out

class Broker:
    """A `nocopy broker` child process. Use as a context manager."""

    def __init__(self, *extra, data_dir=None, threads=2):
        self.bin = nocopy_bin()
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="nocopy-e2e-")
        self.extra = list(extra)
        self.threads = threads
        self.proc = None
        self.port = None
        self.metrics_port = None
        self.log_path = os.path.join(self.data_dir, "..", os.path.basename(self.data_dir) + ".log")

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=20):
        self.port = self.port or free_port()
        self.metrics_port = self.metrics_port or free_port()
        args = [self.bin, "broker", "--listen", self.addr, "--data-dir", self.data_dir,
                "--metrics-listen", "127.0.0.1:%d" % self.metrics_port,
                "--threads", str(self.threads)] + self.extra
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("broker exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("broker did not start listening:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-20000:]
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise RuntimeError("broker did not stop within %ss after signal %d" % (timeout, sig))
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def metrics(self):
        s = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        return parse_metrics(data.split(b"\r\n\r\n", 1)[1].decode())

    def versions_used(self, into=None):
        """{api label: sorted versions} of the requests this broker process
        has counted, merged into `into` (counters restart with the process:
        call before a restart too)."""
        return versions_in(self.metrics(), into)

    def advertised(self):
        """{api_key: (min, max)}: a raw ApiVersions v0 request."""
        raw = Raw(self)
        body = raw.call(18, 0, b"")
        raw.close()
        err, n = struct.unpack(">hi", body[:6])
        check(err == 0, "ApiVersions v0 error %d" % err)
        return {k: (lo, hi) for k, lo, hi in
                (struct.unpack(">hhh", body[6 + 6 * i:12 + 6 * i]) for i in range(n))}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            rc = self.stop()
            if exc[0] is None and rc not in (0, None):
                raise RuntimeError("broker exited with %s:\n%s" % (rc, self.log()))
        finally:
            if exc[0] is not None:
                sys.stderr.write("---- broker log ----\n" + self.log() + "\n")


# ---------------------------------------------------------------- raw client

def kstr(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def kbytes(b):
    if b is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(b)) + b


def request(api_key, version, corr, body, client_id="e2e"):
    payload = struct.pack(">hhi", api_key, version, corr) + kstr(client_id) + body
    return struct.pack(">i", len(payload)) + payload


class RawSocket:
    """A blocking connection to 127.0.0.1:port, TLS when an ssl.SSLContext is given:
    size-prefixed frames in and out."""

    def __init__(self, port, ctx=None, timeout=10):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s = ctx.wrap_socket(s, server_hostname="localhost") if ctx else s

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            b = self.s.recv(n - len(data))
            if not b:
                raise EOFError("connection closed after %d of %d bytes" % (len(data), n))
            data += b
        return data

    def recv_frame(self):
        """The next frame, without its size prefix."""
        (size,) = struct.unpack(">i", self.recv_exact(4))
        return self.recv_exact(size)

    def closed_by_peer(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    return True
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False


class Raw(RawSocket):
    """A blocking raw Kafka connection."""

    def __init__(self, broker, timeout=10):
        super().__init__(broker.port, timeout=timeout)
        self.corr = 0

    def send(self, api_key, version, body):
        self.corr += 1
        self.s.sendall(request(api_key, version, self.corr, body))
        return self.corr

    def recv(self):
        body = self.recv_frame()
        (corr,) = struct.unpack(">i", body[:4])
        return corr, body[4:]

    def call(self, api_key, version, body):
        c = self.send(api_key, version, body)
        corr, resp = self.recv()
        assert corr == c, "correlation id %d != %d" % (corr, c)
        return resp

    def close(self):
        self.s.close()


def build_batch(records, compression=0):
    """One RecordBatch v2 built by kafka-python's own builder: [(key, value, headers, ts_ms)]."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 30)
    for i, (k, v, h, ts) in enumerate(records):
        b.append(i, timestamp=ts, key=k, value=v, headers=h or [])
    return bytes(b.build())


def produce_body(topic, partition, batch, acks=1, timeout_ms=5000):
    return (kstr(None) + struct.pack(">hi", acks, timeout_ms) + struct.pack(">i", 1) + kstr(topic) +
            struct.pack(">i", 1) + struct.pack(">i", partition) + kbytes(batch))


def parse_produce_v3(resp):
    """-> (error_code, base_offset) of the single partition."""
    off = 4
    (nl,) = struct.unpack_from(">h", resp, off)
    off += 2 + nl
    off += 4  # partitions count
    part, err, base = struct.unpack_from(">ihq", resp, off)
    return err, base


def fetch_body_v4(topic, partition, offset, max_wait_ms, min_bytes=1, max_bytes=1 << 20):
    return (struct.pack(">iiiib", -1, max_wait_ms, min_bytes, max_bytes, 0) + struct.pack(">i", 1) + kstr(topic) +
            struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, max_bytes))


def parse_fetch_v4(resp):
    """-> (error_code, high_watermark, records_bytes) of the single partition."""
    off = 4  # throttle
    off += 4  # topics count
    (nl,) = struct.unpack_from(">h", resp, off)
    off += 2 + nl + 4
    part, err, hw, lso = struct.unpack_from(">ihqq", resp, off)
    off += 4 + 2 + 8 + 8
    (na,) = struct.unpack_from(">i", resp, off)
    off += 4 + max(na, 0) * 16
    (rl,) = struct.unpack_from(">i", resp, off)
    off += 4
    return err, hw, resp[off:off + max(rl, 0)]


def whole_batches(records, offset, pos=0, end=None):
    """Walks the whole RecordBatches in records[pos:end] (a fetched record
    set, whose last batch may be cut short) -> (position after the last whole
    batch, the offset after it: its base offset + last offset delta + 1, or
    `offset` when there is no whole batch)."""
    end = len(records) if end is None else end
    while pos + 61 <= end:
        base, length = struct.unpack_from(">qi", records, pos)
        if pos + 12 + length > end:
            break
        (delta,) = struct.unpack_from(">i", records, pos + 23)
        offset = base + delta + 1
        pos += 12 + length
    return pos, offset


def create_topic_body_v0(name, partitions, rf=1):
    return (struct.pack(">i", 1) + kstr(name) + struct.pack(">ih", partitions, rf) + struct.pack(">i", 0) +
            struct.pack(">i", 0) + struct.pack(">i", 5000))


def parse_create_topics_v0(resp):
    off = 4
    (nl,) = struct.unpack_from(">h", resp, off)
    off += 2 + nl
    (err,) = struct.unpack_from(">h", resp, off)
    return err


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
