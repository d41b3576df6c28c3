"""TLS fetches deliver the right bytes with every fetch strategy, mTLS, and
the per-address connection limit.

  1. For each --fetch-strategy: ~3 MiB in 48 batches is produced over
     PLAINTEXT; Fetch v4 reads of the whole log over SSL return exactly the
     bytes the same fetch returns over PLAINTEXT (CRCs included). The broker
     counts the bytes it read and encrypted in user space in
     nocopy_send_bytes_copied_user_total -- or, on a kernel with the TLS ULP,
     sends them with SSL_sendfile (nocopy_send_bytes_zero_copy_total). This
     kernel's answer decides which is checked; the other is reported as
     skipped with the reason.
  2. --ssl-client-auth required: a client without a certificate fails the
     handshake, one with a certificate from the CA is served.
  3. --max-connections-per-ip 3: a fourth connection from 127.0.0.1 is closed
     at once; after one closes, a new one is served."""
import os
import shutil
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Broker, build_batch, check, create_topic_body_v0, fetch_body_v4, free_port,  # noqa: E402
                     parse_create_topics_v0, parse_fetch_v4, parse_produce_v3, produce_body, whole_batches)
import security_util as su  # noqa: E402

STRATEGIES = ["sendfile", "splice", "mmap_write", "read_write", "uring_splice", "uring_send_zc", "msg_zerocopy"]
TOPIC = "tlsf"


def kernel_tls():
    with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
        ulps = f.read().split()
    return "tls" in ulps, "tcp_available_ulp lists %s, no tls" % (ulps or "nothing")


def fill(port):
    conn = su.Conn(port)
    err = parse_create_topics_v0(conn.call(19, 0, create_topic_body_v0(TOPIC, 1)))
    check(err == 0, "create topic error %d" % err)
    for i in range(48):
        recs = [(b"k%d" % j, os.urandom(64) * 16 + b"%d-%d" % (i, j), [], 1700000000000 + j) for j in range(64)]
        err, _ = parse_produce_v3(conn.call(0, 3, produce_body(TOPIC, 0, build_batch(recs))))
        check(err == 0, "produce error %d" % err)
    conn.close()


def read_all(conn):
    out, offset = b"", 0
    for _ in range(200):
        err, hw, recs = parse_fetch_v4(conn.call(1, 4, fetch_body_v4(TOPIC, 0, offset, 100, max_bytes=512 << 10)))
        check(err == 0, "fetch error %d" % err)
        if not recs:
            break
        out += recs
        # Advance past the last whole batch: baseOffset + lastOffsetDelta + 1.
        pos, last = whole_batches(recs, offset)
        out = out[:len(out) - (len(recs) - pos)]
        if last >= hw:
            break
        offset = last
    return out


def check_strategy(strategy, d, ca, cert, key, ktls):
    tls_port = free_port()
    b = Broker("--fetch-strategy", strategy, "--ssl-cert", cert, "--ssl-key", key)
    b.port = free_port()
    b.extra += ["--listeners", "PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d" % (b.port, tls_port)]
    with b:
        fill(b.port)
        plain = read_all(su.Conn(b.port))
        m0 = b.metrics()
        tls = read_all(su.Conn(tls_port, su.client_context(ca)))
        m1 = b.metrics()
        check(len(plain) > 3 << 20, "only %d bytes produced" % len(plain))
        check(tls == plain, "%s: TLS fetch returned %d bytes, plaintext %d; first difference at %s" % (
            strategy, len(tls), len(plain), next((i for i, (x, y) in enumerate(zip(tls, plain)) if x != y), "end")))
        copied = m1.get("nocopy_send_bytes_copied_user_total", 0) - m0.get("nocopy_send_bytes_copied_user_total", 0)
        zc = m1.get("nocopy_send_bytes_zero_copy_total", 0) - m0.get("nocopy_send_bytes_zero_copy_total", 0)
        if ktls[0]:
            check(zc >= len(plain), "%s: kTLS offered but only %d bytes sent zero-copy" % (strategy, zc))
        else:
            check(copied >= len(plain) and zc == 0,
                  "%s: user-space TLS counted %d copied, %d zero-copy bytes for %d" % (strategy, copied, zc, len(plain)))
    shutil.rmtree(b.data_dir, ignore_errors=True)
    print("  %-13s TLS fetch of %d bytes identical to plaintext" % (strategy, len(plain)))


def check_mtls(d, ca, cert, key):
    ccert, ckey = su.make_cert(d, "client", "e2e-client", client=True)
    tls_port = free_port()
    b = Broker("--ssl-cert", cert, "--ssl-key", key, "--ssl-ca", ca, "--ssl-client-auth", "required")
    b.port = free_port()
    b.extra += ["--listeners", "PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d" % (b.port, tls_port)]
    with b:
        refused = False
        try:
            c = su.Conn(tls_port, su.client_context(ca))
            su.api_versions_ok(c)  # TLS 1.3: the refusal arrives with the first read
        except (ssl.SSLError, ConnectionError, EOFError, OSError):
            refused = True
        check(refused, "a client without a certificate was served")
        c = su.Conn(tls_port, su.client_context(ca, ccert, ckey))
        check(su.api_versions_ok(c), "a client with a certificate was not served")
        c.close()
    shutil.rmtree(b.data_dir, ignore_errors=True)
    print("  mTLS: no certificate refused, CA-signed certificate served")


def check_per_ip_limit():
    with Broker("--max-connections-per-ip", "3") as b:
        # The harness's own start-up probe may still be counted briefly.
        time.sleep(0.3)
        conns = [su.Conn(b.port) for _ in range(3)]
        for c in conns:
            check(su.api_versions_ok(c), "one of the first 3 connections was not served")
        extra = su.Conn(b.port)
        check(extra.closed_by_peer(timeout=5), "a 4th connection from one address was served")
        extra.close()
        conns.pop().close()
        time.sleep(0.3)
        again = su.Conn(b.port)
        check(su.api_versions_ok(again), "no new connection served after one closed")
    shutil.rmtree(b.data_dir, ignore_errors=True)
    print("  per-address limit: 4th connection closed, served again after one closed")


def main():
    d = tempfile.mkdtemp(prefix="nocopy-tlsf-")
    su.make_ca(d)
    cert, key = su.make_cert(d, "server", "localhost")
    ca = os.path.join(d, "ca.pem")
    ktls = kernel_tls()
    if not ktls[0]:
        print("  SKIP kTLS path (SSL_sendfile): %s; checking the user-space TLS path instead" % ktls[1])
    for strategy in STRATEGIES:
        check_strategy(strategy, d, ca, cert, key, ktls)
    check_mtls(d, ca, cert, key)
    check_per_ip_limit()
    shutil.rmtree(d, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
