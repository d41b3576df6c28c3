"""Mutated TLS handshakes against an SSL listener: no crash, bounded memory,
and the listener still serves a good client.

A genuine ClientHello (Python's ssl, through memory BIOs) is mutated with a
fixed seed -- bytes flipped, truncated, random bytes inserted, the record
length field rewritten, pure random bytes -- and each variant is sent on a
fresh connection whose write side is then shut, so the broker sees the whole
input and then EOF. Every 50 connections the broker must be alive and its
resident set no more than 64 MiB above what it was at the start. At the end
20 connections that stop half-way through a ClientHello are left open, and a
good TLS client must still be answered."""
import os
import random
import shutil
import socket
import ssl
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check, free_port  # noqa: E402
import security_util as su  # noqa: E402

CASES = 300
SEED = 20261206


def client_hello(ca):
    """The bytes a TLS client sends first, from Python's ssl."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = su.client_context(ca).wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def mutate(rng, hello):
    b = bytearray(hello)
    kind = rng.randrange(6)
    if kind == 0:  # flip a few bytes
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= rng.randrange(1, 256)
    elif kind == 1:  # truncate
        b = b[:rng.randrange(1, len(b))]
    elif kind == 2:  # insert random bytes
        at = rng.randrange(len(b))
        b[at:at] = os.urandom(rng.randint(1, 64))
    elif kind == 3:  # record length rewritten (up to far past the maximum)
        b[3:5] = rng.randrange(0, 0x10000).to_bytes(2, "big")
    elif kind == 4:  # handshake length rewritten
        b[6:9] = rng.randrange(0, 0x1000000).to_bytes(3, "big")
    else:  # random bytes of a random length
        b = bytearray(rng.randbytes(rng.randint(1, 4096)))
    return bytes(b)


def send_and_drain(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(2)
        while s.recv(65536):
            pass
    except OSError:
        pass  # reset or timeout: either is an answer
    finally:
        s.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    d = tempfile.mkdtemp(prefix="nocopy-tlsjunk-")
    su.make_ca(d)
    cert, key = su.make_cert(d, "server", "localhost")
    ca = os.path.join(d, "ca.pem")
    tls_port = free_port()
    b = Broker("--ssl-cert", cert, "--ssl-key", key)
    b.port = free_port()
    b.extra += ["--listeners", "PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d" % (b.port, tls_port)]
    with b:
        check(su.api_versions_ok(su.Conn(tls_port, su.client_context(ca))), "no answer over TLS before the junk")
        hello = client_hello(ca)
        check(len(hello) > 9 and hello[0] == 0x16, "not a TLS handshake record: %r" % hello[:8])
        rng = random.Random(SEED)
        base = rss_kb(b.proc.pid)
        peak = base
        for i in range(CASES):
            send_and_drain(tls_port, mutate(rng, hello))
            if i % 50 == 49:
                check(b.alive(), "broker died after %d mutated handshakes" % (i + 1))
                peak = max(peak, rss_kb(b.proc.pid))
                check(peak - base <= 64 * 1024, "RSS grew by %d KiB after %d handshakes" % (peak - base, i + 1))
        half = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", tls_port), timeout=5)
            s.sendall(hello[:len(hello) // 2])
            half.append(s)
        check(su.api_versions_ok(su.Conn(tls_port, su.client_context(ca))),
              "a good TLS client was not served after the junk")
        check(su.api_versions_ok(su.Conn(b.port)), "the PLAINTEXT listener stopped answering")
        for s in half:
            s.close()
        check(b.alive(), "broker died")
        print("  %d mutated handshakes (seed %d): broker alive, RSS %d -> peak %d KiB, good clients served" % (
            CASES, SEED, base, peak))
    shutil.rmtree(b.data_dir, ignore_errors=True)
    shutil.rmtree(d, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
